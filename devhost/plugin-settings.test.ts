// The real plugin (from source) under the dev host: settings validated on save and
// applied on change, and MetricsSettings.Enable turned on when the licence allows.
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {test} from 'node:test';

import {startDevHost} from './devhost.ts';
import type {LogEntry} from './log.ts';

async function withHost(license: 'enterprise' | 'none', fn: (h: Awaited<ReturnType<typeof startDevHost>>, logs: LogEntry[]) => Promise<void>) {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'devhost-settings-'));
  await fs.writeFile(path.join(dir, 'config.json'), JSON.stringify({MetricsSettings: {Enable: false}}));
  const logs: LogEntry[] = [];
  const h = await startDevHost({dir, port: 0, metricsPort: 0, pluginExe: 'tsx', license, logWrite: (_l, e) => logs.push(e)});
  try {
    await fn(h, logs);
  } finally {
    await h.stop();
    await fs.rm(dir, {recursive: true, force: true});
  }
}

const messages = (logs: LogEntry[]) => logs.map((e) => `${e.message} ${Object.values(e.fields).join(" ")}`);

void test('with a metrics licence the plugin turns MetricsSettings.Enable on', async () => {
  await withHost('enterprise', async (h, logs) => {
    assert.equal(h.config.get().MetricsSettings?.Enable, true);
    assert.ok(messages(logs).some((m) => m.includes('enabled the server')), messages(logs).join('\n'));
  });
});

void test('without one it warns instead of collecting nothing silently', async () => {
  await withHost('none', async (h, logs) => {
    assert.equal(h.config.get().MetricsSettings?.Enable, false);
    assert.ok(messages(logs).some((m) => m.includes('licence does not include them')), messages(logs).join('\n'));
  });
});

void test('an invalid save is rejected with the reasons; a valid one is applied live', async () => {
  await withHost('enterprise', async (h, logs) => {
    await assert.rejects(h.savePluginSettings({ScrapeIntervalSeconds: 10, ScrapeTimeoutSeconds: 20}), /ScrapeTimeoutSeconds \(20\) must not exceed ScrapeIntervalSeconds \(10\)/);
    await h.savePluginSettings({ScrapeIntervalSeconds: 15});
    for (let i = 0; i < 100 && !messages(logs).some((m) => m.includes('plugin settings applied')); i++) await new Promise((r) => setTimeout(r, 50));
    assert.ok(messages(logs).some((m) => m.includes('plugin settings applied')), messages(logs).join('\n'));
  });
});
