import assert from 'node:assert/strict';
import {test} from 'node:test';
import {TINY_META, TINY_ULID} from '../testing/golden.ts';
import {compareLabels, compareStrings, toLabels} from '../labels/labels.ts';
import {ChunkCutter, computeChunkEndTime} from './cut.ts';
import {decodeMeta, encodeMeta} from './meta.ts';
import {MonotonicULID, isULID, newULID, ulidTime} from './ulid.ts';

test('meta.json: promtool shape round-trips', () => {
  const m = decodeMeta(TINY_META);
  assert.equal(m.ulid, TINY_ULID);
  assert.equal(encodeMeta(m), TINY_META);
  assert.throws(() => decodeMeta(TINY_META.replace('"version": 1', '"version": 2')));
});

test('ULIDs', () => {
  const u = newULID(1704067200000);
  assert.ok(isULID(u));
  assert.equal(u.length, 26);
  assert.equal(ulidTime(u), 1704067200000);
  const g = new MonotonicULID();
  const xs = Array.from({length: 100}, () => g.next(5));
  assert.deepEqual([...xs].sort(), xs);
  assert.equal(new Set(xs).size, 100);
});

test('labels: byte-order compare, normalisation', () => {
  assert.ok(compareStrings('\u{10000}', '\uffff') > 0, 'astral sorts after BMP in UTF-8');
  assert.ok(compareStrings('a', 'ab') < 0);
  assert.deepEqual(toLabels({job: 'x', __name__: 'up', empty: ''}), [
    {name: '__name__', value: 'up'},
    {name: 'job', value: 'x'},
  ]);
  assert.ok(compareLabels([{name: 'a', value: '1'}], [{name: 'a', value: '1'}, {name: 'b', value: '1'}]) < 0);
});

test('chunk cutting: 15s scrapes give 120-sample chunks in a 2h range (spec §6)', () => {
  const c = new ChunkCutter({chunkRange: 7_200_000, samplesPerChunk: 120, rule: 'v2.42'});
  const sizes: number[] = [];
  let n = 0;
  for (let i = 0; i < 480; i++) {
    const t = 1704067200000 + i * 15000;
    if (c.shouldCut(t, n, 0)) {
      if (n) sizes.push(n);
      c.startChunk(t);
      n = 0;
    }
    c.appended(t);
    n++;
  }
  sizes.push(n);
  assert.deepEqual(sizes, [120, 120, 120, 120]);
  assert.equal(computeChunkEndTime(0, 434999, 7_200_000, 'v2.42'), 1_800_000);
  assert.equal(computeChunkEndTime(0, 434999, 7_200_000, 'v3'), 1_800_000);
});
