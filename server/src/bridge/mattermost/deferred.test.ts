import assert from 'node:assert/strict';
import {test} from 'node:test';

import type {PluginAPI} from './api.ts';
import {deferredPlugin} from './deferred.ts';
import type {MattermostPlugin} from './hooks.ts';

void test('hooks wait for the plugin, which gets the API before its first hook; a failed load fails the hooks', async () => {
  const calls: string[] = [];
  let resolve!: (p: MattermostPlugin) => void;
  const loading = new Promise<MattermostPlugin>((r) => (resolve = r));
  const real: MattermostPlugin = {
    setAPI: () => void calls.push('setAPI'),
    onActivate: async () => void calls.push('onActivate'),
    onConfigurationChange: async () => void calls.push('onConfigurationChange'),
    serveHTTP: async () => new Response('hi'),
  };
  let loads = 0;
  const deferred = deferredPlugin(() => {
    loads++;
    return loading;
  }, ['onConfigurationChange', 'serveHTTP', 'generateSupportData']);
  const d = deferred.plugin;
  assert.equal(typeof d.serveHTTP, 'function');
  assert.equal(d.onDeactivate, undefined);
  d.setAPI({} as PluginAPI);
  const change = d.onConfigurationChange!();
  const activate = d.onActivate();
  assert.deepEqual(calls, [], 'nothing runs before the plugin is loaded');
  void deferred.load();
  assert.equal(loads, 1, 'loaded once');
  resolve(real);
  await change;
  await activate;
  assert.deepEqual(calls, ['setAPI', 'onConfigurationChange', 'onActivate']);
  assert.equal(await (await d.serveHTTP!(new Request('http://x/'), {} as never)).text(), 'hi');
  await assert.rejects(d.generateSupportData!({} as never), /does not implement generateSupportData/);

  const broken = deferredPlugin(() => Promise.reject(new Error('module failed to load')), []);
  await assert.rejects(broken.load(), /module failed to load/);
  await assert.rejects(broken.plugin.onActivate(), /module failed to load/);
});
