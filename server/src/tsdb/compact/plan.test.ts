import assert from 'node:assert/strict';
import {describe, test} from 'node:test';
import {type BlockMeta, newULID} from '../block/mod.ts';
import {DEFAULT_RANGES, PROMETHEUS_RANGES, checkRanges, compactedMeta, findSuperseded, plan, splitByRange} from './plan.ts';

const H = 3_600_000;
const DAY0 = Date.UTC(2025, 2, 10);

let seq = 0;
function meta(fromH: number, toH: number, level = 1): BlockMeta {
  const ulid = newULID(1_700_000_000_000 + seq++);
  return {ulid, minTime: DAY0 + fromH * H, maxTime: DAY0 + toH * H, stats: {}, compaction: {level, sources: [ulid]}, version: 1};
}

/** Applies plan() until it returns null, like compact() does; returns the resulting [from, to] hours. */
function simulate(metas: BlockMeta[], opts = {}): {spans: [number, number][]; steps: number} {
  let cur = metas;
  let steps = 0;
  for (let g = plan(cur, opts); g; g = plan(cur, opts)) {
    const child = compactedMeta(newULID(1_800_000_000_000 + steps), g.blocks);
    cur = cur.filter((m) => !g.blocks.includes(m)).concat(child);
    if (++steps > 100) throw new Error('no fixpoint');
  }
  const spans = cur
    .map((m): [number, number] => [(m.minTime - DAY0) / H, (m.maxTime - DAY0) / H])
    .sort((a, b) => a[0] - b[0]);
  return {spans, steps};
}

describe('plan', () => {
  test('ranges are validated', () => {
    checkRanges(DEFAULT_RANGES);
    checkRanges(PROMETHEUS_RANGES);
    assert.throws(() => checkRanges([2 * H, 5 * H]), /multiple/);
    assert.throws(() => checkRanges([2 * H, 2 * H]), /multiple/);
    assert.throws(() => checkRanges([]), /at least one/);
    assert.throws(() => plan([], {ranges: [0]}), /positive/);
  });

  test('nothing to do for 0 or 1 block, or a lone newest block', () => {
    assert.equal(plan([]), null);
    assert.equal(plan([meta(0, 2)]), null);
    assert.equal(plan([meta(0, 2), meta(2, 4)]), null); // the newest is excluded: one candidate
  });

  test('overlapping blocks come first, whatever their level', () => {
    const a = meta(0, 2);
    const b = meta(2, 4);
    const c = meta(3, 5); // overlaps b
    const d = meta(4, 6); // overlaps c
    const e = meta(8, 10);
    const g = plan([e, d, c, b, a]);
    assert.equal(g?.kind, 'overlap');
    assert.deepEqual(g?.blocks.map((m) => m.ulid), [b.ulid, c.ulid, d.ulid]);
    // Identical ranges (two scrapers, a re-synced copy).
    const x = meta(0, 2);
    const y = meta(0, 2);
    assert.deepEqual(plan([x, y])?.blocks.map((m) => m.ulid).sort(), [x.ulid, y.ulid].sort());
    // Adjacent is not overlapping (maxTime is exclusive).
    assert.equal(plan([meta(0, 2), meta(2, 4)])?.kind ?? null, null);
  });

  test('level-up: full 6h windows, then 24h; the newest block waits', () => {
    const day = Array.from({length: 12}, (_, i) => meta(2 * i, 2 * i + 2));
    const first = plan(day);
    assert.equal(first?.kind, 'level');
    assert.equal(first?.range, 6 * H);
    assert.deepEqual(first?.blocks.map((m) => m.ulid), day.slice(0, 3).map((m) => m.ulid));
    // A day of 2h blocks, the newest being [22,24): 6h blocks for [0,18); [18,20) and
    // [20,22) wait, since [22,24) may still join their window once it is no longer the newest.
    assert.deepEqual(simulate(day).spans, [
      [0, 6],
      [6, 12],
      [12, 18],
      [18, 20],
      [20, 22],
      [22, 24],
    ]);
    // The next day's first block arrives: the day completes into one 24h block.
    const twoDays = [...day, meta(24, 26)];
    assert.deepEqual(simulate(twoDays).spans, [
      [0, 24],
      [24, 26],
    ]);
  });

  test('blocks cut one by one: each window is merged once, not again at every cut', () => {
    let cur: BlockMeta[] = [];
    let hours = 0;
    for (let i = 0; i < 3 * 12; i++) {
      cur.push(meta(2 * i, 2 * i + 2));
      for (let g = plan(cur); g; g = plan(cur)) {
        const child = compactedMeta(newULID(1_900_000_000_000 + seq++), g.blocks);
        hours += (child.maxTime - child.minTime) / H;
        cur = cur.filter((m) => !g.blocks.includes(m)).concat(child);
      }
    }
    // Days 0 and 1 as 24h blocks (6h merges, then one 24h merge each: 48h written per day);
    // day 2 as 6h blocks and the three newest 2h blocks.
    assert.ok(cur.every((m) => m.compaction.level <= 3), JSON.stringify(cur.map((m) => m.compaction.level)));
    assert.equal(hours, 2 * 48 + 18);
  });

  test('a week of 2h blocks ends as one block per UTC day (few indexes)', () => {
    const week = Array.from({length: 7 * 12 + 1}, (_, i) => meta(2 * i, 2 * i + 2));
    const {spans} = simulate(week);
    assert.deepEqual(spans, [...Array.from({length: 7}, (_, d): [number, number] => [24 * d, 24 * d + 24]), [168, 170]]);
    // With Prometheus' ranges (…54h, 162h, epoch-aligned) blocks straddle days: [0,126), [126,168).
    const prom = simulate(week, {ranges: PROMETHEUS_RANGES}).spans;
    assert.ok(prom.some(([a]) => a % 24 !== 0), JSON.stringify(prom));
  });

  test('gaps: a partial window is compacted only once it lies before the newest block', () => {
    const a = meta(0, 2);
    const b = meta(4, 6); // gap [2,4)
    const c = meta(6, 8);
    const g = plan([a, b, c]);
    assert.deepEqual(g?.blocks.map((m) => m.ulid), [a.ulid, b.ulid]); // [0,6) window, maxt 6 ≤ newest minTime 6
    assert.equal(plan([a, b, c], {excludeNewest: false})?.range, 6 * H);
  });

  test('blocks wider than a window are skipped; failed blocks are ignored', () => {
    const big = meta(0, 24, 3);
    assert.deepEqual(splitByRange([big, meta(24, 26)], 6 * H).map((g) => g.length), [1]);
    const a = meta(0, 2);
    const b = meta(2, 4);
    b.compaction.failed = true;
    assert.equal(plan([a, b, meta(4, 6), meta(6, 8)])?.blocks.includes(b) ?? false, false);
  });

  test('compactedMeta: level max+1, sources union (sorted), parents', () => {
    const a = meta(0, 2);
    const b = compactedMeta(newULID(), [meta(2, 4), meta(4, 6)]);
    const c = compactedMeta('01J0000000000000000000000Z', [a, b]);
    assert.equal(c.compaction.level, 3);
    assert.deepEqual(c.compaction.sources, [a.ulid, ...b.compaction.sources!].sort());
    assert.deepEqual(c.compaction.parents?.map((p) => p.ulid), [a.ulid, b.ulid]);
    assert.equal(c.minTime, a.minTime);
    assert.equal(c.maxTime, b.maxTime);
  });

  test('findSuperseded: parents, sources subsets, equal sources', () => {
    const a = meta(0, 2);
    const b = meta(2, 4);
    const ab = compactedMeta(newULID(1_900_000_000_000), [a, b]);
    const c = meta(4, 6);
    const abc = compactedMeta(newULID(1_900_000_000_001), [ab, c]);
    // After crashes: a (source of ab), ab (parent of abc) and c are all still there.
    const s = findSuperseded([a, ab, c, abc]);
    assert.deepEqual(
      s.map((x) => [x.ulid, x.by]).sort(),
      [
        [a.ulid, abc.ulid],
        [ab.ulid, abc.ulid],
        [c.ulid, abc.ulid],
      ].sort(),
    );
    assert.deepEqual(findSuperseded([a, b, c]), []);
    // Two blocks with the same sources: the smaller ULID goes.
    const copy = {...ab, ulid: newULID(1_900_000_000_005)};
    assert.deepEqual(findSuperseded([ab, copy]).map((x) => x.ulid), [ab.ulid]);
  });
});
