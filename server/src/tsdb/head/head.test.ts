import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {after, describe, test} from 'node:test';
import {ChunkCutter, openBlock, verifyBlock, writeBlock} from '../block/mod.ts';
import {labelsString} from '../labels/mod.ts';
import {Head} from './mod.ts';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tsdb-head-'));
after(() => fs.rmSync(root, {recursive: true, force: true}));
let n = 0;
const tmp = (): string => path.join(root, `h${n++}`);
const H2 = 2 * 3600 * 1000;

function chunkSizes(h: Head, ref: number): number[] {
  const s = h.series(ref)!;
  return s.snapshotChunks().map((c) => (c.data[0] << 8) | c.data[1]);
}

describe('head', () => {
  test('chunk cutting: 120 samples per chunk at 15 s, 2h boundaries, same as ChunkCutter', () => {
    const h = new Head({appendWindow: Infinity});
    const a = h.appender();
    const r15 = a.append({__name__: 'a'}, 0, 0);
    for (let i = 1; i < 300; i++) a.append(r15, i * 15_000, i);
    // 60 s samples from 1h: cut at the 2h boundary, then at 120.
    const r60 = a.append({__name__: 'b'}, 3_600_000, 0);
    for (let i = 1; i < 200; i++) a.append(r60, 3_600_000 + i * 60_000, i);
    assert.equal(a.commit().appended, 500);
    assert.deepEqual(chunkSizes(h, r15), [120, 120, 60]);
    assert.deepEqual(chunkSizes(h, r60), [60, 120, 20]);
    // Against the block writer's cutter for an irregular series.
    const times: number[] = [];
    let t = 1_000;
    for (let i = 0; i < 1000; i++) times.push((t += 1000 + ((i * 7919) % 50_000)));
    const b = h.appender();
    const r = b.append({__name__: 'c'}, times[0], 0);
    for (const x of times.slice(1)) b.append(r, x, 1);
    b.commit();
    const cutter = new ChunkCutter({chunkRange: H2, samplesPerChunk: 120, rule: 'v2.42'});
    const want: number[] = [];
    let cur = 0;
    for (const x of times) {
      if (cutter.shouldCut(x, cur, 0)) {
        if (cur > 0) want.push(cur);
        cutter.startChunk(x);
        cur = 0;
      }
      cutter.appended(x);
      cur++;
    }
    want.push(cur);
    assert.deepEqual(chunkSizes(h, r), want);
  });

  test('out-of-order, duplicate timestamp, same-value duplicate, out of bounds: typed and counted', () => {
    const h = new Head();
    const a = h.appender();
    const r = a.append({__name__: 'x', job: 'j'}, 10_000, 1);
    a.append(r, 20_000, 2);
    a.append(r, 15_000, 3); // OOO within the batch
    a.append(r, 20_000, 2); // same value: ignored
    a.append(r, 20_000, 9); // different value: rejected
    a.append(r, 1.5, 1); // invalid timestamp
    assert.equal(a.append(12345, 30_000, 1), 0); // unknown ref
    assert.equal(a.append({}, 30_000, 1), 0); // invalid labels
    const res = a.commit();
    assert.equal(res.appended, 2);
    assert.deepEqual(res.rejected, {out_of_order: 1, duplicate_timestamp: 1, invalid_timestamp: 1, unknown_series: 1, invalid_labels: 1});
    assert.equal(res.duplicates, 1);
    assert.equal(res.errors[0].reason, 'out_of_order');
    const b = h.appender();
    b.append(r, 19_000, 1); // OOO against committed
    b.append(r, 20_000, 2); // same value again
    b.append(r, 20_000 - H2, 1); // older than maxTime - chunkRange/2
    b.commit();
    const st = h.stats();
    assert.equal(st.rejected.out_of_order, 2);
    assert.equal(st.rejected.duplicate_timestamp, 1);
    assert.equal(st.rejected.out_of_bounds, 1);
    assert.equal(st.duplicatesIgnored, 2);
    assert.equal(st.samples, 2);
    // Rollback drops staged samples, keeps the series.
    const c = h.appender();
    const r2 = c.append({__name__: 'y'}, 30_000, 1);
    c.rollback();
    assert.ok(h.series(r2));
    assert.equal(h.stats().samples, 2);
  });

  test('stale markers and NaN bit-exact through head → writeBlock → openBlock', () => {
    const h = new Head();
    const a = h.appender();
    const r = a.append({__name__: 's'}, 1000, 1);
    a.append(r, 2000, NaN);
    a.append(r, 3000, 0, true);
    a.append(r, 4000, -0);
    a.commit();
    const got = [...[...h.select([], 0, 10_000)][0].samples];
    assert.deepEqual(
      got.map((x) => [x.t, x.hi.toString(16), x.lo, x.stale]),
      [
        [1000, '3ff00000', 0, false],
        [2000, '7ff80000', 1, false],
        [3000, '7ff00000', 2, true],
        [4000, '80000000', 0, false],
      ],
    );
    const dir = tmp();
    const res = writeBlock(dir, h.seriesForBlock(0, H2), {minTime: 0, maxTime: H2, fsync: false});
    assert.deepEqual(verifyBlock(res.dir), []);
    const b = openBlock(res.dir);
    const bs = [...b.samples(b.series()[0])];
    b.close();
    assert.deepEqual(
      bs.map((x) => [x.t, x.hi, x.lo, x.stale]),
      got.map((x) => [x.t, x.hi, x.lo, x.stale]),
    );
  });

  test('select with =, !=, =~, !~; labelNames/labelValues; time clipping; sorted output', () => {
    const h = new Head();
    const a = h.appender();
    const series: Record<string, string>[] = [
      {__name__: 'http', method: 'GET', code: '200'},
      {__name__: 'http', method: 'POST', code: '500'},
      {__name__: 'http', method: 'GET', code: '404'},
      {__name__: 'db', op: 'read'},
    ];
    for (let t = 0; t < 10; t++) for (const s of series) a.append(s, t * 1000, t);
    a.commit();
    const q = (ms: {type: '=' | '!=' | '=~' | '!~'; name: string; value: string}[]): string[] =>
      [...h.select(ms, 0, 1e9)].map((s) => labelsString(s.labels));
    assert.deepEqual(q([{type: '=', name: '__name__', value: 'http'}]).length, 3);
    assert.deepEqual(q([{type: '!=', name: 'method', value: 'GET'}]), [
      '{__name__="db", op="read"}',
      '{__name__="http", code="500", method="POST"}',
    ]);
    assert.deepEqual(q([{type: '=~', name: 'code', value: '[24]0.'}]), [
      '{__name__="http", code="200", method="GET"}',
      '{__name__="http", code="404", method="GET"}',
    ]);
    assert.deepEqual(q([{type: '!~', name: 'code', value: '2..|'}]), [
      '{__name__="http", code="404", method="GET"}',
      '{__name__="http", code="500", method="POST"}',
    ]);
    assert.deepEqual(q([{type: '=', name: 'nope', value: ''}]).length, 4);
    assert.deepEqual(h.labelNames(), ['__name__', 'code', 'method', 'op']);
    assert.deepEqual(h.labelValues('method'), ['GET', 'POST']);
    assert.deepEqual(h.labelValues('code', [{type: '=', name: 'method', value: 'GET'}]), ['200', '404']);
    const clipped = [...h.select([{type: '=', name: 'op', value: 'read'}], 3000, 5000)][0];
    assert.deepEqual(
      [...clipped.samples].map((x) => x.t),
      [3000, 4000, 5000],
    );
    assert.equal(h.minTime, 0);
    assert.equal(h.maxTime, 9000);
  });

  test('truncate drops old chunks, hides older samples, garbage-collects idle empty series', () => {
    const h = new Head({samplesPerChunk: 4, appendWindow: Infinity});
    const a = h.appender();
    const keep = a.append({__name__: 'keep'}, 0, 0);
    for (let i = 1; i < 40; i++) a.append(keep, i * 1000, i);
    const gone = a.append({__name__: 'gone'}, 0, 0);
    a.append(gone, 1000, 1);
    a.commit();
    const st = h.truncate(20_500);
    assert.equal(st.droppedSeries, 0, 'touched since the previous truncate: kept this time');
    assert.ok(st.droppedChunks > 0);
    assert.ok(h.minTime >= 20_500 && h.minTime <= 21_000);
    const samples = [...[...h.select([], 0, 1e9)][0].samples];
    assert.equal(samples[0].t, 21_000);
    const st2 = h.truncate(20_500);
    assert.equal(st2.droppedSeries, 1);
    assert.equal(h.series(gone), undefined);
    assert.deepEqual(h.labelValues('__name__'), ['keep']);
    const b = h.appender();
    b.append(keep, 10_000, 1);
    assert.equal(b.commit().rejected.out_of_bounds, 1);
    // A re-created series gets a new ref; refs are never reused.
    const c = h.appender();
    assert.ok(c.append({__name__: 'gone'}, 50_000, 1) > gone);
    c.commit();
  });

  test('WAL: replay restores series, refs and samples exactly', () => {
    const dir = tmp();
    const h = Head.open(dir, {wal: {fsync: 'never'}});
    const refs: number[] = [];
    for (let t = 0; t < 300; t++) {
      const a = h.appender();
      for (let i = 0; i < 50; i++) {
        const r = t === 0 ? a.append({__name__: 'm', i: String(i)}, t * 15_000, i * t) : a.append(refs[i], t * 15_000, i * t, t === 299 && i === 3);
        refs[i] = r;
      }
      a.commit();
    }
    const want = [...h.select([], -Infinity, Infinity)].map((s) => ({l: labelsString(s.labels), x: [...s.samples]}));
    h.close();
    const h2 = Head.open(dir);
    const got = [...h2.select([], -Infinity, Infinity)].map((s) => ({l: labelsString(s.labels), x: [...s.samples]}));
    assert.deepEqual(got, want);
    for (let i = 0; i < 50; i++) assert.equal(labelsString(h2.series(refs[i])!.labels), labelsString(h.series(refs[i])!.labels));
    const a = h2.appender();
    assert.ok(a.append({__name__: 'new'}, 10_000_000, 1) > Math.max(...refs));
    a.commit();
    h2.close();
  });

  test('WAL: a batch of thousands of new series (several series records), a rollback and a repeat replay exactly', () => {
    const dir = tmp();
    const h = Head.open(dir, {wal: {fsync: 'never'}});
    const rolledBack = h.appender();
    for (let i = 0; i < 1500; i++) rolledBack.append({__name__: 'gone', i: String(i)}, 1_000, i);
    rolledBack.rollback();
    const a = h.appender();
    for (let i = 0; i < 2500; i++) a.append({__name__: 'm', i: String(i)}, 1_000, i);
    a.append({__name__: 'm', i: '7'}, 2_000, 7); // the same new series twice in one batch
    const r = a.commit();
    assert.equal(r.newSeries, 2500);
    assert.equal(r.appended, 2501);
    const b = h.appender();
    for (let i = 0; i < 10; i++) b.append({__name__: 'gone', i: String(i)}, 3_000, i); // created before, never logged
    assert.equal(b.commit().newSeries, 10);
    // Two open appenders stage the same new series: the one committing second does not log it again.
    const x = h.appender();
    const y = h.appender();
    x.append({__name__: 'both'}, 5_000, 1);
    y.append({__name__: 'both'}, 5_000, 1);
    assert.equal(y.commit().newSeries, 1);
    assert.equal(x.commit().newSeries, 0);
    // Series the rollback left without samples stay in memory only, as in Prometheus.
    const want = [...h.select([], -Infinity, Infinity)].map((s) => ({l: labelsString(s.labels), x: [...s.samples]})).filter((s) => s.x.length > 0);
    h.close();
    const h2 = Head.open(dir);
    const got = [...h2.select([], -Infinity, Infinity)].map((s) => ({l: labelsString(s.labels), x: [...s.samples]}));
    assert.equal(got.length, 2511);
    assert.deepEqual(got, want);
    h2.close();
  });

  test('block cut → verifyBlock → WAL truncate → reopen: no duplicate or lost samples across head + block', async () => {
    const dir = tmp();
    const walDir = path.join(dir, 'mm-wal');
    const h = Head.open(walDir, {wal: {fsync: 'never', segmentSize: 64 * 1024}});
    const refs: number[] = [];
    const T = 60_000;
    for (let k = 0; k < 240; k++) {
      const a = h.appender();
      for (let i = 0; i < 100; i++) refs[i] = k === 0 ? a.append({__name__: 'c', i: String(i)}, k * T, k + i) : a.append(refs[i], k * T, k + i);
      a.commit();
    }
    const res = writeBlock(dir, h.seriesForBlock(0, H2), {minTime: 0, maxTime: H2, fsync: false});
    assert.deepEqual(verifyBlock(res.dir), []);
    await h.truncateWithWal(H2);
    for (let k = 240; k < 260; k++) {
      const a = h.appender();
      for (let i = 0; i < 100; i++) a.append(refs[i], k * T, k + i);
      a.commit();
    }
    h.close();
    const h2 = Head.open(walDir, {minValidTime: res.meta.maxTime});
    const block = openBlock(res.dir);
    const seen = new Map<string, number[]>();
    for (const s of block.series()) seen.set(labelsString(s.labels), [...block.samples(s)].map((x) => x.t));
    block.close();
    for (const s of h2.select([], -Infinity, Infinity)) seen.get(labelsString(s.labels))!.push(...[...s.samples].map((x) => x.t));
    assert.equal(seen.size, 100);
    for (const ts of seen.values()) assert.deepEqual(ts, Array.from({length: 260}, (_, k) => k * T));
    h2.close();
  });
});
