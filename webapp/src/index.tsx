// Webapp half of the plugin, minimal for now: it registers the plugin with the host web app.
// React, Redux, ReactRedux, ... are the host's window globals (see webapp/build.mjs);
// JSX uses the classic runtime, so a file with JSX starts with `import React from 'react';`.
import {id} from '../../plugin.json';

// The parts of the host's API used so far; the real types are in @mattermost/types and
// the host's PluginRegistry.
interface PluginRegistry {
  [method: string]: (...args: any[]) => unknown;
}

interface Store {
  getState(): unknown;
  dispatch(action: unknown): unknown;
}

export default class Plugin {
  public initialize(_registry: PluginRegistry, _store: Store): void {
    // Admin console settings (TSDB stats, dump table) are registered here by later work.
  }
}

declare global {
  interface Window {
    registerPlugin(pluginId: string, plugin: Plugin): void;
  }
}

window.registerPlugin(id, new Plugin());
