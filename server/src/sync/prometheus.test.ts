// Prometheus ignores our manifest: a real Prometheus (Debian 2.42, installed on demand)
// started on a copy of the synced remote dir loads every block and answers queries.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {after, before, test} from 'node:test';
import {LocalBackend, remoteDataDir} from '../filestore/mod.ts';
import {listDataDir} from '../tsdb/retention/mod.ts';
import {type PromBinaries, ensurePrometheus, promtool, query, startPrometheus} from '../tsdb/testing/prometheus.ts';
import {BlockSyncer} from './syncer.ts';
import {MANIFEST_FILENAME} from './manifest.ts';
import {makeBlocks} from './testing/fixtures.ts';

const bin: PromBinaries | null = ensurePrometheus();
let root = '';
before(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'sync-prom-'));
});
after(() => {
  if (root) fs.rmSync(root, {recursive: true, force: true});
});

test('Prometheus loads synced blocks despite mm-manifest.json', {skip: bin === null ? 'prometheus not available' : false, timeout: 120_000}, async () => {
  const dataDir = path.join(root, 'data');
  const ulids = makeBlocks(dataDir, 3, {series: 10});
  const store = path.join(root, 'store');
  const r = await new BlockSyncer({backend: new LocalBackend(store), dataDir, retentionDays: 15, periodMinutes: 60}).syncOnce();
  assert.equal(r.uploaded, 3);
  const copy = path.join(root, 'prom');
  fs.cpSync(path.join(store, ...remoteDataDir.split('/')), copy, {recursive: true});
  for (const u of ulids) assert.ok(fs.existsSync(path.join(copy, u, MANIFEST_FILENAME)));

  for (const u of ulids) assert.match(promtool(bin!, ['tsdb', 'analyze', copy, u]), /Series: 10\b/);
  const prom = await startPrometheus(bin!, copy);
  try {
    const metas = listDataDir(dataDir).blocks.map((b) => b.meta);
    const end = Math.max(...metas.map((m) => m.maxTime));
    const start = Math.min(...metas.map((m) => m.minTime));
    const res = await query(prom, `count_over_time(mattermost_test_metric[${Math.ceil((end - start) / 1000) + 60}s])`, end / 1000);
    assert.equal(res.length, 10);
    for (const s of res) assert.equal(Number(s.value[1]), 3 * 120, 'every block contributes its 120 samples');
    const st = (await (await fetch(`${prom.url}/api/v1/status/tsdb`)).json()) as {status: string};
    assert.equal(st.status, 'success');
    assert.doesNotMatch(prom.log(), /level=(error|warn).*(block|manifest)/i);
  } finally {
    await prom.stop();
  }
  // Prometheus did not delete or rewrite our file.
  for (const u of ulids) assert.ok(fs.existsSync(path.join(copy, u, MANIFEST_FILENAME)));
});
