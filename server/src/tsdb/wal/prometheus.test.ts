// Prometheus 2.42 (Debian) started on a data dir holding a block and our WAL directory
// (segments + a checkpoint) starts, serves the block, and leaves our WAL untouched.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {after, test} from 'node:test';
import {writeBlock} from '../block/mod.ts';
import {Head} from '../head/mod.ts';
import {ensurePrometheus, query, startPrometheus} from '../testing/prometheus.ts';
import {WAL_DIR_NAME} from './mod.ts';

const bin = ensurePrometheus();
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tsdb-walprom-'));
after(() => fs.rmSync(root, {recursive: true, force: true}));

function snapshot(d: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of fs.readdirSync(d, {recursive: true, withFileTypes: true})) {
    if (e.isFile()) {
      const p = path.join(e.parentPath, e.name);
      out[path.relative(d, p)] = fs.readFileSync(p).toString('base64');
    }
  }
  return out;
}

test(`prometheus ignores ${WAL_DIR_NAME}/ next to a block`, {skip: bin === null ? 'prometheus not available' : false, timeout: 120_000}, async () => {
  const data = path.join(root, 'data');
  const now = Date.now();
  const t0 = now - 3 * 3600_000;
  const head = Head.open(path.join(data, WAL_DIR_NAME), {wal: {fsync: 'never', segmentSize: 4096}});
  for (let k = 0; k < 240; k++) {
    const a = head.appender();
    for (let i = 0; i < 20; i++) a.append({__name__: 'walprom', i: String(i)}, t0 + k * 30_000, k + i);
    a.commit();
  }
  const cut = t0 + 100 * 30_000;
  writeBlock(data, head.seriesForBlock(t0, cut), {minTime: t0, maxTime: cut});
  await head.truncateWithWal(cut);
  head.close();
  assert.ok(fs.readdirSync(path.join(data, WAL_DIR_NAME)).some((n) => n.startsWith('checkpoint.')));
  const before = snapshot(path.join(data, WAL_DIR_NAME));
  const p = await startPrometheus(bin!, data);
  try {
    const r = await query(p, 'count(walprom)', (t0 + 50 * 30_000) / 1000);
    assert.equal(r[0]?.value?.[1], '20', p.log());
    const v = await query(p, 'walprom{i="3"}', (t0 + 10 * 30_000) / 1000);
    assert.equal(v[0]?.value?.[1], '13');
  } finally {
    await p.stop();
  }
  assert.deepEqual(snapshot(path.join(data, WAL_DIR_NAME)), before, 'our WAL untouched');
  assert.ok(!/mm-wal/.test(p.log()), 'prometheus does not mention our WAL');
});
