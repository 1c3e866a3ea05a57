// The executable Mattermost starts. It must print the go-plugin handshake line
// within 3 s, so nothing heavy happens before runPlugin.

import {PluginLogger, runPlugin} from './bridge/mattermost/index.ts';
import {MetricsPlugin} from './plugin.ts';

const logger = new PluginLogger();
const plugin = new MetricsPlugin(logger);

runPlugin(plugin, {logger}).catch((err: unknown) => {
  logger.error('plugin failed to start', {error: err instanceof Error ? err.message : String(err)});
  process.exit(1);
});
