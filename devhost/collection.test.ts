// End to end: the real plugin (from source) under the dev host becomes leader,
// scrapes the dev host's metrics listener into its store, and leaves a data dir
// that the store reads back after deactivation.
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {test} from 'node:test';

import {verifyBlock, writeBlock} from '../server/src/tsdb/block/mod.ts';
import {DB} from '../server/src/tsdb/db.ts';
import {startDevHost} from './devhost.ts';
import type {LogEntry} from './log.ts';

void test('the plugin scrapes the node it runs on and keeps the samples', async () => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'devhost-collect-'));
  const logs: LogEntry[] = [];
  const h = await startDevHost({dir, port: 0, metricsPort: 0, pluginExe: 'tsx', logWrite: (_l, e) => logs.push(e)});
  try {
    await h.savePluginSettings({ScrapeIntervalSeconds: 1, ScrapeTimeoutSeconds: 1});
    const seen = () => logs.map((e) => `${e.message} ${Object.values(e.fields).join(' ')}`).join('\n');
    for (let i = 0; i < 100 && !seen().includes('this node now leads'); i++) await new Promise((r) => setTimeout(r, 50));
    assert.match(seen(), /this node now leads/);
    // A few scrapes at one second.
    await new Promise((r) => setTimeout(r, 4_000));
  } finally {
    await h.stop();
  }
  try {
    const db = DB.open({dir: path.join(dir, 'mattermost-plugin-metrics/data'), fsync: false});
    const up = [...db.querier().select([{type: '=', name: '__name__', value: 'up'}], -Infinity, Infinity)];
    assert.equal(up.length, 1, 'one target: this node');
    const labels = Object.fromEntries(up[0].labels.map((l) => [l.name, l.value]));
    assert.equal(labels.job, 'prometheus');
    assert.equal(labels.instance, `${os.hostname()}:${(labels.instance ?? '').split(':').pop()}`);
    const values = [...up[0].samples].filter((s) => !s.stale).map((s) => s.v);
    assert.ok(values.length >= 2 && values.every((v) => v === 1), `up values ${values.join(',')}`);
    const names = db.querier().labelValues('__name__');
    assert.ok(names.some((n) => n.startsWith('mattermost_')), names.join(','));
    await db.close();
  } finally {
    await fs.rm(dir, {recursive: true, force: true});
  }
});

void test('blocks in the local store reach the file store at start-up, meta.json last', async () => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'devhost-sync-'));
  const dataDir = path.join(dir, 'mattermost-plugin-metrics/data');
  const t0 = Date.now() - 3 * 3_600_000;
  const {ulid} = writeBlock(dataDir, [{labels: {__name__: 'up', job: 'prometheus', instance: 'x:8067'}, samples: [{t: t0, v: 1}, {t: t0 + 60_000, v: 1}]}]);
  const h = await startDevHost({dir, port: 0, metricsPort: 0, pluginExe: 'tsx', logWrite: () => {}});
  try {
    const remote = path.join(dir, 'filestore', 'plugin-data/mattermost-plugin-metrics/data', ulid);
    let files: string[] = [];
    for (let i = 0; i < 100; i++) {
      files = await fs.readdir(remote).catch(() => []);
      if (files.includes('meta.json')) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.deepEqual(files.sort(), ['chunks', 'index', 'meta.json', 'mm-manifest.json', 'tombstones']);
    assert.deepEqual(verifyBlock(remote), []);
  } finally {
    await h.stop();
    await fs.rm(dir, {recursive: true, force: true});
  }
});
