// Crafted Prometheus WALs (testing/encode.ts) for what a live Prometheus does not produce on
// demand; the real-Prometheus round trip is prometheus.test.ts.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {after, test} from 'node:test';

import {writeBlock} from '../block/mod.ts';
import {DB, inlineRunner} from '../db.ts';
import {labelsKey} from '../labels/mod.ts';
import {listDataDir} from '../retention/mod.ts';
import {importPrometheusWal, planPrometheusWalImport} from './import.ts';
import {readPrometheusWal} from './reader.ts';
import {encodeSegment, type WalRecord} from './testing/encode.ts';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'promwal-unit-'));
after(() => fs.rmSync(root, {recursive: true, force: true}));
const H = 3_600_000;
const T0 = Date.UTC(2026, 10, 1);
let n = 0;

function dataDir(files: Record<string, Buffer>): string {
  const dir = path.join(root, `d${n++}`);
  for (const [rel, data] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, 'wal', rel)), {recursive: true});
    fs.writeFileSync(path.join(dir, 'wal', rel), data);
  }
  return dir;
}

const series = (ref: number, i: number): WalRecord => ({series: [{ref, labels: {__name__: 'm', i: String(i), job: 'go'}}]});
const samples = (ref: number, from: number, count: number, v = (t: number) => t / 1000): WalRecord => ({
  samples: Array.from({length: count}, (_, k) => ({ref, t: from + k * 60_000, v: v(from + k * 60_000)})),
});

function readAll(dir: string): {series: Map<string, Array<[number, number]>>; problems: number} {
  const out = new Map<string, Array<[number, number]>>();
  const byRef = new Map<number, string>();
  const stats = readPrometheusWal(path.join(dir, 'wal'), {
    series: (ref, labels) => byRef.set(ref, labelsKey(labels)),
    sample: (ref, t, hi, lo) => {
      const b = Buffer.alloc(8);
      b.writeUInt32BE(hi, 0);
      b.writeUInt32BE(lo, 4);
      const key = byRef.get(ref)!;
      if (!out.has(key)) out.set(key, []);
      out.get(key)!.push([t, b.readDoubleBE(0)]);
    },
    other: () => {},
  });
  return {series: out, problems: stats.problems.length};
}

test('records spanning pages (first/middle/last), snappy or not, read back exactly', () => {
  const many: WalRecord = {series: Array.from({length: 3000}, (_, i) => ({ref: i + 1, labels: {__name__: 'big', i: String(i), pad: 'x'.repeat(20)}}))};
  const big: WalRecord = {samples: Array.from({length: 3000}, (_, i) => ({ref: i + 1, t: T0 + i, v: i * 0.5}))};
  for (const snappy of [false, true]) {
    const dir = dataDir({'00000000': encodeSegment([many, big], {snappy})});
    const got = readAll(dir);
    assert.equal(got.problems, 0);
    assert.equal(got.series.size, 3000);
    assert.deepEqual(got.series.get(labelsKey([{name: '__name__', value: 'big'}, {name: 'i', value: '2999'}, {name: 'pad', value: 'x'.repeat(20)}])), [[T0 + 2999, 1499.5]]);
  }
});

test('the newest checkpoint first, then only the segments after it', () => {
  const dir = dataDir({
    'checkpoint.00000001/00000000': encodeSegment([series(1, 1), samples(1, T0, 3)]),
    'checkpoint.00000000/00000000': encodeSegment([series(9, 9), samples(9, T0, 3)]), // older: ignored
    '00000001': encodeSegment([series(5, 5), samples(5, T0, 1)]), // in the checkpoint already: ignored
    '00000002': encodeSegment([samples(1, T0 + 3 * 60_000, 2)]),
  });
  const got = readAll(dir);
  assert.deepEqual([...got.series.keys()].map((k) => k.split('\u0000')[3]), ['1']);
  assert.equal(got.series.values().next().value!.length, 5);
});

test('a corrupt fragment ends its segment; later segments are still read; the import keeps the WAL aside and says so', async () => {
  const seg0 = encodeSegment([series(1, 1), samples(1, T0, 10), series(2, 2), samples(2, T0, 10)]);
  // Flip a byte inside the second series record's data.
  const at = seg0.indexOf(Buffer.from('2', 'utf8'), seg0.length / 2);
  seg0[at] ^= 0xff;
  const seg1 = encodeSegment([series(3, 3), samples(3, T0, 10), samples(1, T0 + 10 * 60_000, 5)]);
  // A torn tail: the last record cut short.
  const torn = seg1.subarray(0, seg1.length - 5);
  const dir = dataDir({'00000000': seg0, '00000001': torn});
  const logs: string[] = [];
  const db = DB.open({dir, fsync: false, logger: {info: () => {}, warn: (m, f) => logs.push(`${m} ${JSON.stringify(f)}`), error: (m) => logs.push(m)}});
  await db.maintain();
  const got = new Map<string, number>();
  for (const s of db.querier().select([{type: '=', name: '__name__', value: 'm'}], -Infinity, Infinity)) got.set(s.labels.find((l) => l.name === 'i')!.value, [...s.samples].length);
  await db.close();
  assert.deepEqual(Object.fromEntries(got), {1: 10, 3: 10}, 'series 2 was in the corrupt part; the torn sample record is dropped');
  assert.equal(logs.length, 1, logs.join('\n'));
  assert.match(logs[0], /unreadable/);
  assert.match(logs[0], /checksum mismatch/);
  assert.match(logs[0], /torn record/);
  assert.ok(fs.existsSync(path.join(dir, 'mm-go-wal-unreadable', '00000000')), 'kept for a post-mortem');
  assert.deepEqual(fs.readdirSync(path.join(dir, 'wal')), []);
});

test('samples older than the blocks that were there are dropped; duplicates keep the first; two refs of one series merge', () => {
  const dir = dataDir({
    '00000000': encodeSegment([
      series(1, 1),
      samples(1, T0, 4, () => 1),
      series(7, 1), // the same labels again under a new ref (after a Go plugin restart)
      samples(7, T0 + 3 * 60_000, 3, () => 2), // first sample duplicates T0+3m: the first value (1) stays
    ]),
  });
  const res = importPrometheusWal({dir, minValidTime: T0 + 60_000, blockRange: 2 * H, fsync: false});
  assert.equal(res.series, 1);
  assert.equal(res.samples, 5); // T0+1m .. T0+5m
  assert.deepEqual(res.skipped, {beforeBlocks: 1, duplicates: 1, unknownSeries: 0, otherRecords: {}});
  assert.equal(res.blocks.length, 1);
  assert.equal(res.blocks[0].minTime, T0 + 60_000);
  assert.equal(res.blocks[0].maxTime, T0 + 5 * 60_000 + 1);
});

test('samples across a block boundary become one block per 2 h window', () => {
  const start = Math.floor(T0 / (2 * H)) * 2 * H + 2 * H - 10 * 60_000;
  const dir = dataDir({'00000000': encodeSegment([series(1, 1), samples(1, start, 20)])});
  const res = importPrometheusWal({dir, minValidTime: null, blockRange: 2 * H, fsync: false});
  assert.deepEqual(res.blocks.map((b) => [b.minTime - start, b.maxTime - start]), [
    [0, 9 * 60_000 + 1],
    [10 * 60_000, 19 * 60_000 + 1],
  ]);
});

test('the minValidTime of the first sight is kept, so blocks cut before the import do not hide WAL samples', () => {
  const dir = dataDir({'00000000': encodeSegment([series(1, 1), samples(1, T0, 3)])});
  writeBlock(dir, [{labels: {__name__: 'old'}, samples: [{t: T0 - H, v: 1}]}], {minTime: T0 - 2 * H, maxTime: T0 - H + 1, fsync: false});
  assert.deepEqual(planPrometheusWalImport(dir, T0 - H + 1), {pending: true, minValidTime: T0 - H + 1});
  // Our own head cut a newer block, then the process restarted before importing.
  assert.deepEqual(planPrometheusWalImport(dir, T0 + H), {pending: true, minValidTime: T0 - H + 1});
  importPrometheusWal({dir, minValidTime: T0 - H + 1, blockRange: 2 * H, fsync: false});
  assert.deepEqual(planPrometheusWalImport(dir, T0 + H), {pending: false, minValidTime: null});
  assert.deepEqual(fs.readdirSync(dir).filter((e) => e.startsWith('mm-go')), []);
  assert.equal(listDataDir(dir).blocks.length, 2);
});

test('an empty wal/ (what our own store and a fresh Prometheus leave) is nothing to import', () => {
  const dir = path.join(root, `d${n++}`);
  fs.mkdirSync(path.join(dir, 'wal'), {recursive: true});
  assert.deepEqual(planPrometheusWalImport(dir, null), {pending: false, minValidTime: null});
  fs.writeFileSync(path.join(dir, 'wal', '00000000'), '');
  assert.equal(planPrometheusWalImport(dir, null).pending, false);
});

test('an import that fails (here: wal/ cannot be renamed) is logged once; upkeep goes on', async () => {
  const dir = dataDir({'00000000': encodeSegment([series(1, 1), samples(1, T0, 3)])});
  const errors: string[] = [];
  const db = DB.open({
    dir,
    fsync: false,
    logger: {info: () => {}, warn: (m) => errors.push(m), error: (m) => errors.push(m)},
    runner: {
      ...inlineRunner,
      importPrometheusWal: async () => {
        throw new Error('EACCES: permission denied, rename wal');
      },
    },
  });
  await db.maintain();
  await db.maintain();
  await db.close();
  assert.equal(errors.length, 1, errors.join('\n'));
  assert.match(errors[0], /could not import the Go plugin's WAL; it stays in wal\/ and is tried again at the next start/);
  assert.ok(fs.existsSync(path.join(dir, 'wal', '00000000')));
});
