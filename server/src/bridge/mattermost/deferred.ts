// A plugin whose code loads after the handshake. Mattermost gives the executable 3 s to print
// the go-plugin line, and the host connects and dispenses before calling any hook, so the
// plugin's heavy modules (AWS SDK, database drivers, PromQL grammar) need not delay the line:
// every hook waits for the real plugin instead.

import type {MattermostPlugin} from './hooks.ts';
import type {PluginAPI} from './api.ts';

/** The optional hooks a deferred plugin reports as implemented (Plugin.Implemented is answered before loading). */
export type DeferredHook = Exclude<keyof MattermostPlugin, 'setAPI' | 'onActivate'>;

export interface DeferredPlugin {
  /** What runPlugin serves: answers Plugin.Implemented at once, every hook after loading. */
  plugin: MattermostPlugin;
  /** Starts loading (once); hooks also start it. Call it when the handshake line is out. */
  load(): Promise<MattermostPlugin>;
}

export function deferredPlugin(loader: () => Promise<MattermostPlugin>, hooks: readonly DeferredHook[]): DeferredPlugin {
  let loading: Promise<MattermostPlugin> | undefined;
  const load = (): Promise<MattermostPlugin> => {
    if (!loading) {
      loading = loader();
      // A failed load fails the hooks (OnActivate reports it), never an unhandled rejection.
      loading.catch(() => {});
    }
    return loading;
  };
  let api: PluginAPI | undefined;
  let apiGiven: PluginAPI | undefined;
  // The API reaches the real plugin before any of its hooks runs (as setAPI comes first).
  const ready = async (): Promise<MattermostPlugin> => {
    const p = await load();
    if (api && api !== apiGiven) {
      apiGiven = api;
      p.setAPI(api);
    }
    return p;
  };
  const plugin: MattermostPlugin = {
    setAPI(a) {
      api = a;
    },
    async onActivate() {
      await (await ready()).onActivate();
    },
  };
  const target = plugin as unknown as Record<string, unknown>;
  for (const name of hooks) {
    target[name] = async (...args: unknown[]) => {
      const p = await ready();
      const fn = p[name] as ((...a: unknown[]) => unknown) | undefined;
      if (typeof fn !== 'function') throw new Error(`the plugin does not implement ${name}`);
      return fn.apply(p, args);
    };
  }
  return {plugin, load};
}
