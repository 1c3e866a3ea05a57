import assert from 'node:assert/strict';
import {test} from 'node:test';

import {implementedHooks} from './hooks.ts';
import {MetricsPlugin} from './plugin.ts';

void test('the hooks main.ts announces before loading are exactly those MetricsPlugin implements', () => {
  const optional = ['onDeactivate', 'onConfigurationChange', 'configurationWillBeSaved', 'serveHTTP', 'serveMetrics', 'onPluginClusterEvent', 'generateSupportData'];
  const proto = MetricsPlugin.prototype as unknown as Record<string, unknown>;
  const implemented = optional.filter((name) => typeof proto[name] === 'function');
  assert.deepEqual([...implementedHooks].sort(), implemented.sort());
});
