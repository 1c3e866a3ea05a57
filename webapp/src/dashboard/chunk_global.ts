// The one window global through which the separately loaded dashboard chunk (dashboard.js)
// hands its component to main.js's loader. Shared by both sides; no runtime imports, so
// main.js gains nothing of the dashboard by importing it.
import type React from 'react';

import type {DashboardProps} from './dashboard.tsx';

/** What dashboard.js puts on window (namespaced by the plugin, so no other plugin clashes). */
export interface DashboardChunk {
  Dashboard: React.ComponentType<DashboardProps>;
}

export const DASHBOARD_CHUNK_GLOBAL = 'mattermostPluginMetricsDashboard';

declare global {
  interface Window {
    [DASHBOARD_CHUNK_GLOBAL]?: DashboardChunk;
  }
}
