// Entry point of dashboard.js, the chunk main.js loads only when an admin opens the plugin's
// settings (webapp/src/components/DashboardLoader.tsx): uPlot and prometheus-query stay out
// of the main.js every user downloads on every page.
import {DASHBOARD_CHUNK_GLOBAL} from './chunk_global.ts';
import {Dashboard} from './index.tsx';

window[DASHBOARD_CHUNK_GLOBAL] = {Dashboard};
