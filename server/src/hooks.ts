// The hooks MetricsPlugin implements, known before its modules load (main.ts answers
// Plugin.Implemented from this list). plugin.test.ts keeps it equal to the class.
import type {DeferredHook} from './bridge/mattermost/deferred.ts';

export const implementedHooks: readonly DeferredHook[] = [
  'onDeactivate',
  'onConfigurationChange',
  'configurationWillBeSaved',
  'serveHTTP',
  'serveMetrics',
  'onPluginClusterEvent',
  'generateSupportData',
];
