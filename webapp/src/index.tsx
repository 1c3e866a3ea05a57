// Webapp half of the plugin: System Console settings (Dashboard, Status, Stats, Dumps).
// React, ReactDOM, ReactIntl, ... are the host's window globals (see webapp/build.mjs);
// JSX uses the classic runtime, so a file with JSX starts with `import React from 'react';`.
import type React from 'react';

import manifest from '../../plugin.json';
import DashboardLoader from './components/DashboardLoader.tsx';
import Dumps from './components/Dumps.tsx';
import Stats from './components/Stats.tsx';
import Status from './components/Status.tsx';
import {getTranslations} from './intl.tsx';
import {ensureStyles} from './styles.ts';
import type {CustomSettingProps} from './types.ts';

/** The parts of the host's PluginRegistry used here. */
export interface PluginRegistry {
  registerAdminConsoleCustomSetting(key: string, component: React.ComponentType<CustomSettingProps>, options?: {showTitle?: boolean}): unknown;
  registerTranslations?(getTranslationsForLocale: (locale: string) => Record<string, string>): unknown;
}

export interface Store {
  getState(): unknown;
  dispatch(action: unknown): unknown;
}

/**
 * Custom settings in the order the console shows them (plugin.json's settings_schema
 * decides the position). The dashboard (webapp/src/dashboard/) is a separate file,
 * dashboard.js, that its loader fetches when the settings page opens.
 */
export const customSettings: Array<[key: string, component: React.ComponentType<CustomSettingProps>]> = [
  ['Dashboard', DashboardLoader],
  ['Status', Status],
  ['Stats', Stats],
  ['Dumps', Dumps],
];

export default class Plugin {
  public initialize(registry: PluginRegistry, _store: Store): void {
    ensureStyles();
    registry.registerTranslations?.(getTranslations);
    for (const [key, component] of customSettings) registry.registerAdminConsoleCustomSetting(key, component, {showTitle: true});
  }
}

declare global {
  interface Window {
    registerPlugin(pluginId: string, plugin: Plugin): void;
  }
}

window.registerPlugin(manifest.id, new Plugin());
