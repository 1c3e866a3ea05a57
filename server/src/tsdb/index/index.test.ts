import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {test} from 'node:test';
import {CorruptionError, WriterError} from '../encoding/errors.ts';
import {TINY_INDEX_V2, TINY_INDEX_V3} from '../testing/golden.ts';
import {IndexReader, IndexWriter} from './index.ts';

const A = [
  {name: '__name__', value: 'up'},
  {name: 'job', value: 'a'},
];
const B = [
  {name: '__name__', value: 'up'},
  {name: 'job', value: 'b'},
];

function withDir(fn: (d: string) => void): void {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'tsdb-index-'));
  try {
    fn(d);
  } finally {
    fs.rmSync(d, {recursive: true, force: true});
  }
}

test('spec §9.2 / §9.3 index bytes from the writer directly', () => {
  withDir((d) => {
    for (const [layout, syms, want] of [
      ['v2', ['', '__name__', 'a', 'b', 'job', 'up'], TINY_INDEX_V2],
      ['v3', ['__name__', 'a', 'b', 'job', 'up'], TINY_INDEX_V3],
    ] as const) {
      const f = path.join(d, `index-${layout}`);
      const w = new IndexWriter(f, {layout, fsync: false});
      for (const s of syms) w.addSymbol(s);
      assert.equal(w.addSeries(A, [{minTime: 1704067200000, maxTime: 1704067230500, ref: 8}]), layout === 'v2' ? 3 : 3);
      w.addSeries(B, [{minTime: 1704067200000, maxTime: 1704067200000, ref: 37}]);
      w.close();
      assert.deepEqual(fs.readFileSync(f), want);
    }
  });
});

test('writer enforces stage order and sorting', () => {
  withDir((d) => {
    const w = new IndexWriter(path.join(d, 'i'), {fsync: false});
    w.addSymbol('a');
    assert.throws(() => w.addSymbol('a'), WriterError);
    w.addSymbol('b');
    w.addSeries([{name: 'a', value: 'b'}], [{minTime: 0, maxTime: 1, ref: 8}]);
    assert.throws(() => w.addSymbol('c'), WriterError);
    assert.throws(() => w.addSeries([{name: 'a', value: 'a'}], []), WriterError, 'out of order series');
    assert.throws(() => w.addSeries([{name: 'b', value: 'c'}], []), WriterError, 'unknown symbol');
    w.close();
    assert.throws(() => w.close(), WriterError);
  });
});

test('reader: symbols, series, postings, label names/values; corruption is typed', () => {
  const r = new IndexReader(TINY_INDEX_V2, 'index');
  assert.deepEqual(r.symbols(), ['', '__name__', 'a', 'b', 'job', 'up']);
  assert.deepEqual(r.labelNames(), ['__name__', 'job']);
  assert.deepEqual(r.labelValues('job'), ['a', 'b']);
  assert.deepEqual(r.allPostings(), [3, 5]);
  assert.deepEqual(r.postings('job', 'b'), [5]);
  assert.deepEqual(r.postings('job', 'zzz'), []);
  assert.deepEqual(r.series(5), {labels: B, chunks: [{minTime: 1704067200000, maxTime: 1704067200000, ref: 37}]});
  // Flip every byte in turn: never a crash, either a CorruptionError at open/read or a valid read.
  for (let i = 0; i < TINY_INDEX_V3.length; i++) {
    const b = Buffer.from(TINY_INDEX_V3);
    b[i] ^= 0x5a;
    try {
      const x = new IndexReader(b, 'index');
      for (const ref of x.allPostings()) x.series(ref);
      for (const k of x.postingsKeys()) x.readPostingsAt(k.offset);
      // Only padding bytes may be flipped without detection.
      assert.ok(b.subarray(i, i + 1).length === 1 && TINY_INDEX_V3[i] === 0, `undetected flip at ${i}`);
    } catch (e) {
      assert.ok(e instanceof CorruptionError, `offset ${i}: ${String(e)}`);
      assert.equal(e.file, 'index');
    }
  }
  assert.throws(() => new IndexReader(TINY_INDEX_V3.subarray(0, 100), 'index'), CorruptionError);
});
