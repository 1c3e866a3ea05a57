// The store as a whole: appends through the head and WAL, block cutting (inline and
// in a worker thread), flush "up to now", reopen after close, compaction, retention,
// and a real Prometheus reading the result.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {test} from 'node:test';

import {WorkerPool} from '../worker/mod.ts';
import {verifyBlock} from './block/mod.ts';
import {DB, type TaskRunner} from './db.ts';
import {ensurePrometheus, query, startPrometheus} from './testing/prometheus.ts';

const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 10, 20, 0, 0, 0);

function tmp(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'tsdb-db-'));
}

/** Appends `hours` of 60 s scrapes of `n` series starting at `from`. */
function fill(db: DB, from: number, hours: number, n = 20): number {
  let count = 0;
  for (let t = from; t < from + hours * HOUR; t += 60_000) {
    const app = db.appender();
    for (let i = 0; i < n; i++) {
      app.append({__name__: 'mattermost_http_requests_total', handler: `h${i}`, instance: 'node1:8067', job: 'prometheus'}, t, (t - T0) / 1000 + i);
      count++;
    }
    app.commit();
  }
  return count;
}

function countSamples(db: DB): number {
  let n = 0;
  for (const s of db.querier().select([{type: '=', name: '__name__', value: 'mattermost_http_requests_total'}], -Infinity, Infinity)) {
    let last = -Infinity;
    for (const x of s.samples) {
      assert.ok(x.t > last, 'strictly increasing, no duplicates');
      last = x.t;
      n++;
    }
  }
  return n;
}

function workerRunner(pool: WorkerPool): TaskRunner {
  return {
    writeHeadBlock: (input, transfer) => pool.run('tsdbWriteHeadBlock', input, transfer),
    compact: (input) => pool.run('tsdbCompact', input),
    retention: (input) => pool.run('tsdbRetention', input),
  };
}

void test('blocks are cut when the head spans 3 h; flush persists the rest; reopen loses and duplicates nothing', async () => {
  const dir = tmp();
  const pool = new WorkerPool(1);
  try {
    let db = DB.open({dir, fsync: false, runner: workerRunner(pool)});
    const appended = fill(db, T0, 3.5);
    await db.maintain();
    const blocks = db.blocks();
    assert.equal(blocks.length, 1, 'one 2 h block');
    assert.deepEqual([blocks[0].minTime, blocks[0].maxTime], [T0, T0 + 2 * HOUR]);
    assert.deepEqual(verifyBlock(path.join(dir, blocks[0].ulid)), []);
    assert.equal(countSamples(db), appended);

    await db.flush();
    assert.equal(db.head.stats().samples, 0, 'head empty after flush');
    assert.equal(countSamples(db), appended);
    const last = db.blocks().at(-1)!;
    assert.equal(last.maxTime, T0 + 3.5 * HOUR - 60_000 + 1, 'the last block ends at the newest sample');
    for (const b of db.blocks()) assert.deepEqual(verifyBlock(path.join(dir, b.ulid)), []);

    const more = fill(db, T0 + 3.5 * HOUR, 0.5);
    await db.close();
    db = DB.open({dir, fsync: false});
    assert.equal(countSamples(db), appended + more, 'WAL replay after close');
    await db.close();
  } finally {
    await pool.close();
    fs.rmSync(dir, {recursive: true, force: true});
  }
});

void test('time retention keeps the blocks it is told to (not in the file store yet) and says so once', async () => {
  const dir = tmp();
  try {
    const warnings: string[] = [];
    const logger = {info() {}, warn: (m: string) => warnings.push(m), error: (m: string) => warnings.push(m)};
    let keep: string[] = [];
    const db = DB.open({dir, fsync: false, retentionMs: 12 * HOUR, compactionRanges: [2 * HOUR], logger, retentionKeeps: () => keep});
    fill(db, T0, 18, 5);
    await db.flush();
    const [oldest, second] = [...db.blocks()].sort((a, b) => a.maxTime - b.maxTime);
    keep = [oldest.ulid];
    await db.maintain();
    await db.maintain();
    assert.ok(db.blocks().some((b) => b.ulid === oldest.ulid), 'the unsynced block outlives the retention');
    assert.ok(!db.blocks().some((b) => b.ulid === second.ulid), 'a synced block as old goes');
    assert.equal(warnings.filter((w) => /keeping blocks past the local retention/.test(w)).length, 1, warnings.join(' | '));
    keep = [];
    await db.maintain();
    assert.ok(!db.blocks().some((b) => b.ulid === oldest.ulid), 'synced, it goes');
    await db.close();
  } finally {
    fs.rmSync(dir, {recursive: true, force: true});
  }
});

void test('compaction levels blocks up and retention deletes old ones, through the same upkeep', async () => {
  const dir = tmp();
  try {
    const db = DB.open({dir, fsync: false, retentionMs: 12 * HOUR});
    const appended = fill(db, T0, 14, 5);
    await db.flush();
    const before = db.blocks().length;
    await db.maintain();
    const after = db.blocks();
    assert.ok(after.length < before, `compacted ${before} → ${after.length}`);
    assert.ok(after.some((b) => b.compaction.level > 1));
    const newest = Math.max(...after.map((b) => b.maxTime));
    assert.ok(after.every((b) => newest - b.maxTime < 12 * HOUR), 'retention by time');
    assert.ok(countSamples(db) <= appended);
    for (const b of after) assert.deepEqual(verifyBlock(path.join(dir, b.ulid)), []);
    const stats = db.stats();
    assert.equal(stats.blocks.length, after.length);
    assert.ok(stats.blockBytes > 0 && stats.lastCompaction !== null);
    await db.close();
  } finally {
    fs.rmSync(dir, {recursive: true, force: true});
  }
});

void test('a real Prometheus serves exactly what the store holds after flush', async (t) => {
  const bin = ensurePrometheus();
  if (!bin) {
    t.skip('prometheus not installable here');
    return;
  }
  const dir = tmp();
  try {
    const db = DB.open({dir, fsync: false});
    fill(db, T0, 2.5, 3);
    await db.flush();
    await db.close();
    const copy = `${dir}-copy`;
    fs.cpSync(dir, copy, {recursive: true});
    const prom = await startPrometheus(bin, copy);
    try {
      const at = (T0 + 2.5 * HOUR) / 1000;
      const res = await query(prom, 'mattermost_http_requests_total{handler="h1"}[3h]', at);
      assert.equal(res.length, 1);
      const values = res[0].values as Array<[number, string]>;
      assert.equal(values.length, 150);
      assert.deepEqual(values[0], [T0 / 1000, String(1)]);
      assert.deepEqual(values.at(-1), [(T0 + 2.5 * HOUR - 60_000) / 1000, String((2.5 * HOUR - 60_000) / 1000 + 1)]);
    } finally {
      await prom.stop();
      fs.rmSync(copy, {recursive: true, force: true});
    }
  } finally {
    fs.rmSync(dir, {recursive: true, force: true});
  }
});
