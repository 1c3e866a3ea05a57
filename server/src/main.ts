// The executable Mattermost starts. It must print the go-plugin handshake line
// within 3 s, so nothing heavy happens before runPlugin: the plugin's modules load
// right after the line (see deferredPlugin), while the server connects.

import {deferredPlugin} from './bridge/mattermost/deferred.ts';
import {PluginLogger, runPlugin} from './bridge/mattermost/index.ts';
import {implementedHooks} from './hooks.ts';

const logger = new PluginLogger();
const deferred = deferredPlugin(() => import('./plugin.ts').then(({MetricsPlugin}) => new MetricsPlugin(logger)), implementedHooks);

runPlugin(deferred.plugin, {logger}).then(
  // The handshake line is out: load while the server connects.
  () => void deferred.load().catch((err: unknown) => logger.error('plugin failed to load', {error: err instanceof Error ? err.message : String(err)})),
  (err: unknown) => {
    logger.error('plugin failed to start', {error: err instanceof Error ? err.message : String(err)});
    process.exit(1);
  },
);
