// mergeSources/blockSource against a brute-force reference on random data: overlapping
// and adjacent blocks plus an in-memory "head", every matcher type, random time ranges.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {after, before, describe, test} from 'node:test';
import {type Block, type Matcher, type ReadSample, type Sample, openBlock, writeBlock} from '../block/mod.ts';
import {crc32c} from '../encoding/mod.ts';
import {type Label, compareLabels, compareStrings, labelValue, labelsKey, labelsString, toLabels} from '../labels/mod.ts';
import {blockSource} from './block.ts';
import {SampleColumns, appendSamples} from './columns.ts';
import {memorySource, toReadSample} from './memory.ts';
import {mergeSeriesSets, mergeSources} from './merge.ts';

let root = '';
before(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'tsdb-querier-'));
});
after(() => {
  if (root) fs.rmSync(root, {recursive: true, force: true});
});

/** Deterministic PRNG (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface GenSeries {
  labels: Record<string, string>;
  samples: Sample[];
}

const NAMES = ['up', 'http_requests_total', 'go_goroutines'];
const JOBS = ['', 'mattermost', 'node', 'prom'];
const INSTANCES = ['a:80', 'b:80', 'é:80', '😀'];

/** A random part (block or head) over [t0, t1): random series subset, 10 s grid, values with collisions. */
function genPart(r: () => number, t0: number, t1: number): GenSeries[] {
  const out: GenSeries[] = [];
  for (const name of NAMES) {
    for (const job of JOBS) {
      for (const instance of INSTANCES) {
        if (r() < 0.5) continue;
        const samples: Sample[] = [];
        for (let t = t0; t < t1; t += 10_000) {
          if (r() < 0.3) continue;
          const x = r();
          if (x < 0.03) samples.push({t, v: 0, stale: true});
          else if (x < 0.05) samples.push({t, v: NaN});
          else if (x < 0.07) samples.push({t, v: -0});
          else samples.push({t, v: Math.floor(r() * 3) - (x < 0.5 ? 0.5 : 0)}); // few distinct values: conflicts happen
        }
        if (samples.length) out.push({labels: job ? {__name__: name, job, instance} : {__name__: name, instance}, samples});
      }
    }
  }
  return out;
}

/** Reference rule, written independently of merge.ts: real beats stale, then larger 64-bit pattern. */
function refBetter(a: ReadSample, b: ReadSample): boolean {
  const rank = (s: ReadSample): bigint => (s.stale ? 0n : 1n << 64n) + ((BigInt(s.hi >>> 0) << 32n) | BigInt(s.lo >>> 0));
  return rank(a) > rank(b);
}

function refMatch(labels: Label[], m: Matcher): boolean {
  const v = labelValue(labels, m.name);
  const re = new RegExp(`^(?:${m.value})$`, 'su');
  return m.type === '=' ? v === m.value : m.type === '!=' ? v !== m.value : m.type === '=~' ? re.test(v) : !re.test(v);
}

function reference(parts: GenSeries[][], matchers: Matcher[], mint: number, maxt: number): Map<string, ReadSample[]> {
  const acc = new Map<string, Map<number, ReadSample>>();
  for (const part of parts) {
    for (const s of part) {
      const labels = toLabels(s.labels);
      if (!matchers.every((m) => refMatch(labels, m))) continue;
      const key = labelsString(labels);
      const byT = acc.get(key) ?? new Map<number, ReadSample>();
      for (const x of s.samples) {
        if (x.t < mint || x.t > maxt) continue;
        const rs = toReadSample(x);
        const cur = byT.get(x.t);
        if (!cur || refBetter(rs, cur)) byT.set(x.t, rs);
      }
      if (byT.size) acc.set(key, byT);
    }
  }
  const out = new Map<string, ReadSample[]>();
  for (const [k, m] of acc) out.set(k, [...m.values()].sort((a, b) => a.t - b.t));
  return out;
}

function randomMatchers(r: () => number): Matcher[] {
  const pool: Matcher[] = [
    {type: '=', name: '__name__', value: NAMES[Math.floor(r() * NAMES.length)]},
    {type: '!=', name: '__name__', value: 'up'},
    {type: '=~', name: '__name__', value: 'http_.*|up'},
    {type: '!~', name: '__name__', value: 'go_.*'},
    {type: '=', name: 'job', value: ''}, // series without job
    {type: '!=', name: 'job', value: ''}, // series with job
    {type: '=~', name: 'job', value: 'mattermost|'}, // matches "" too
    {type: '!~', name: 'job', value: 'node'},
    {type: '=~', name: 'instance', value: '.*:80'},
    {type: '!=', name: 'instance', value: '😀'},
    {type: '=', name: 'missing', value: ''},
    {type: '=~', name: 'missing', value: '.+'},
  ];
  const n = 1 + Math.floor(r() * 3);
  const out: Matcher[] = [];
  for (let i = 0; i < n; i++) out.push(pool[Math.floor(r() * pool.length)]);
  return out;
}

describe('mergeSources over blocks and a head', () => {
  const H = 3_600_000;
  const T0 = Date.UTC(2025, 0, 1);
  const r = rng(42);
  // [t0, t1) in hours: overlapping, adjacent, nested, identical, and the head.
  const spans: [number, number][] = [
    [0, 2],
    [2, 4], // adjacent
    [1, 3], // overlaps both
    [2, 4], // same range as another (re-synced copy)
    [3.5, 3.75], // nested
    [6, 8], // gap before
  ];
  const parts: GenSeries[][] = spans.map(([a, b]) => genPart(r, T0 + a * H, T0 + b * H));
  // The re-synced copy: mostly identical samples to part 1 with a few conflicting values.
  parts[3] = parts[1].map((s) => ({labels: s.labels, samples: s.samples.map((x, i) => (i % 17 === 3 ? {t: x.t, v: x.v + 1} : x))}));
  const head = genPart(r, T0 + 7.5 * H, T0 + 9 * H);
  const blocks: Block[] = [];

  before(() => {
    for (const p of parts) blocks.push(openBlock(writeBlock(path.join(root, 'data'), p, {fsync: false}).dir));
  });
  after(() => {
    for (const b of blocks) b.close();
  });

  test('random matchers and ranges equal the brute-force reference', () => {
    const merged = mergeSources([...blocks.map(blockSource), memorySource(head)]);
    assert.equal(merged.minTime, T0);
    const all = [...parts, head];
    let checkedSamples = 0;
    for (let iter = 0; iter < 150; iter++) {
      const matchers = randomMatchers(r);
      const a = T0 - H + Math.floor(r() * 11 * H);
      const b = iter % 5 === 0 ? Infinity : a + Math.floor(r() * 6 * H);
      const mint = iter % 7 === 0 ? -Infinity : a;
      const want = reference(all, matchers, mint, b);
      const got = [...merged.select(matchers, mint, b)];
      for (let i = 1; i < got.length; i++) assert.ok(compareLabels(got[i - 1].labels, got[i].labels) < 0, 'sorted, unique');
      const desc = `${JSON.stringify(matchers)} [${mint}, ${b}]`;
      assert.deepEqual(
        got.map((s) => labelsString(s.labels)),
        [...want.keys()].sort((x, y) => compareLabels(toLabels(parse(x)), toLabels(parse(y)))),
        desc,
      );
      for (const s of got) {
        const w = want.get(labelsString(s.labels))!;
        const samples = [...s.samples];
        assert.deepEqual(
          samples.map((x) => [x.t, x.hi, x.lo, x.stale]),
          w.map((x) => [x.t, x.hi, x.lo, x.stale]),
          `${desc} ${labelsString(s.labels)}`,
        );
        // Re-iterable and lazy: a second pass gives the same samples.
        assert.equal([...s.samples].length, samples.length);
        assertColumnsEqualIteration(s.samples, `${desc} ${labelsString(s.labels)}`);
        checkedSamples += samples.length;
      }
    }
    assert.ok(checkedSamples > 10_000, `checked ${checkedSamples}`);
  });

  test('nested merges (local store + file-store blocks) give the flat merge, by iteration and in columns', () => {
    const flat = mergeSources([...blocks.map(blockSource), memorySource(head)]);
    const local = mergeSources([blocks[5], blocks[4]].map(blockSource).concat(memorySource(head)));
    const nested = mergeSources([mergeSources(blocks.slice(0, 2).map(blockSource)), local, ...blocks.slice(2, 4).map(blockSource)]);
    const dump = (src: typeof flat): string[] =>
      [...src.select([], -Infinity, Infinity)].flatMap((s) => [...s.samples].map((x) => `${labelsKey(s.labels)}@${x.t}=${x.hi}:${x.lo}`));
    assert.deepEqual(dump(nested), dump(flat));
    for (const [mint, maxt] of [[-Infinity, Infinity], [T0 + 1.5 * H, T0 + 7.9 * H], [T0 + 6.5 * H, T0 + 8 * H]]) {
      for (const s of nested.select([], mint, maxt)) assertColumnsEqualIteration(s.samples, `${labelsString(s.labels)} [${mint}, ${maxt}]`);
    }
  });

  test('disjoint blocks are chained: columns and iteration agree on every series and range', () => {
    const chained = mergeSources([blocks[5], blocks[0], blocks[1]].map(blockSource));
    let n = 0;
    for (const [mint, maxt] of [[-Infinity, Infinity], [T0 + H, T0 + 7 * H], [T0 + 2 * H, T0 + 2 * H]]) {
      for (const s of chained.select([], mint, maxt)) n += assertColumnsEqualIteration(s.samples, `${labelsString(s.labels)} [${mint}, ${maxt}]`);
    }
    assert.ok(n > 1000);
  });

  test('source order does not change conflict resolution', () => {
    const fwd = mergeSources(blocks.map(blockSource));
    const rev = mergeSources(blocks.map(blockSource).reverse());
    const dump = (src: typeof fwd): string[] =>
      [...src.select([], -Infinity, Infinity)].flatMap((s) => [...s.samples].map((x) => `${labelsKey(s.labels)}@${x.t}=${x.hi}:${x.lo}`));
    assert.deepEqual(dump(fwd), dump(rev));
  });

  test('labelNames / labelValues are merged and sorted', () => {
    const merged = mergeSources([...blocks.map(blockSource), memorySource(head)]);
    const all = [...parts, head].flat();
    const names = [...new Set(all.flatMap((s) => Object.keys(s.labels)))].sort(compareStrings);
    assert.deepEqual(merged.labelNames(), names);
    const inst = [...new Set(all.map((s) => s.labels.instance))].sort(compareStrings);
    assert.deepEqual(merged.labelValues('instance'), inst);
    const upJobs = [...new Set(all.filter((s) => s.labels.__name__ === 'up' && s.labels.job).map((s) => s.labels.job))].sort(compareStrings);
    assert.deepEqual(merged.labelValues('job', [{type: '=', name: '__name__', value: 'up'}]), upJobs);
    assert.deepEqual(merged.labelValues('nope'), []);
  });

  test('blockSource skips blocks and chunks outside the range', () => {
    const src = blockSource(blocks[5]);
    assert.equal(src.maxTime, blocks[5].meta.maxTime - 1);
    assert.deepEqual([...src.select([], T0, T0 + 5 * H)], []);
    const one = [...src.select([{type: '=', name: '__name__', value: 'up'}], T0 + 6 * H, T0 + 6 * H + 30_000)];
    for (const s of one) for (const x of s.samples) assert.ok(x.t <= T0 + 6 * H + 30_000);
  });
});

test('mergeSeriesSets groups equal label sets across many sets, with stable and churning series', () => {
  const r = rng(99);
  const universe = Array.from({length: 300}, (_, i) => toLabels({__name__: `m${i % 7}`, instance: `n${Math.floor(i / 7)}`}));
  universe.sort(compareLabels);
  for (const [sets, keep] of [[40, 0.97], [40, 0.1], [84, 0.5], [3, 0.6], [1, 1]] as const) {
    // Phases of stable series and of churn, so both group-finding strategies and the switches are used.
    const members = Array.from({length: sets}, (_, k) => universe.filter((_, i) => (Math.floor(i / 50) % 2 === 0 ? r() < keep : r() < 0.05 + (k % 3) * 0.02)));
    const input = members.map((m, k) => m.map((labels) => ({labels, samples: [toReadSample({t: k, v: k})]})));
    const got = [...mergeSeriesSets(input)].map((s) => `${labelsString(s.labels)}:${[...s.samples].map((x) => x.t).join(',')}`);
    const want = universe
      .map((labels) => {
        const from = members.flatMap((m, k) => (m.includes(labels) ? [k] : []));
        // Samples at t = set index; equal timestamps never occur, so the merge keeps them all in time order.
        return from.length === 0 ? null : `${labelsString(labels)}:${from.join(',')}`;
      })
      .filter((x) => x !== null);
    assert.deepEqual(got, want, `${sets} sets, keep ${keep}`);
  }
  assert.throws(() => [...mergeSeriesSets([[{labels: universe[1], samples: []}, {labels: universe[0], samples: []}]])], /not sorted/);
});

test('corrupt chunk data (valid CRC): columns throw what iteration throws, after the same samples', () => {
  const r = rng(7);
  const T0 = Date.UTC(2025, 0, 1);
  const series = [{labels: {__name__: 'x', i: '1'}, samples: Array.from({length: 120}, (_, k) => ({t: T0 + k * 15_000 + (k % 3), v: k % 5 === 0 ? k : k * 1.37}))}];
  const dir = writeBlock(path.join(root, 'corrupt'), series, {fsync: false}).dir;
  const file = path.join(dir, 'chunks', '000001');
  const good = fs.readFileSync(file);
  const b0 = openBlock(dir);
  const meta = b0.index.series(b0.index.allPostings()[0]).chunks[0];
  b0.close();
  // Chunk layout at ref: uvarint data length, encoding byte, data, CRC32C of encoding + data.
  let off = meta.ref % 0x1_0000_0000;
  let len = 0;
  for (let mul = 1; ; mul *= 128) {
    const c = good[off++];
    len += (c & 0x7f) * mul;
    if (c < 0x80) break;
  }
  let errors = 0;
  for (let k = 0; k < 60; k++) {
    const bad = Buffer.from(good);
    for (let f = 0; f < 1 + (k % 3); f++) bad[off + 1 + Math.floor(r() * len)] ^= 1 << Math.floor(r() * 8);
    bad.writeUInt32BE(crc32c(bad, off, off + 1 + len), off + 1 + len);
    fs.writeFileSync(file, bad);
    const block = openBlock(dir);
    try {
      const [s] = [...blockSource(block).select([], -Infinity, Infinity)];
      const got: number[] = [];
      let iterErr = '';
      try {
        for (const x of s.samples) got.push(x.t);
      } catch (err) {
        iterErr = String(err);
      }
      const cols = new SampleColumns();
      let colErr = '';
      try {
        appendSamples(s.samples, cols, true);
      } catch (err) {
        colErr = String(err);
      }
      assert.equal(colErr, iterErr, `mutation ${k}`);
      if (iterErr === '') assert.deepEqual([...cols.t.subarray(0, cols.length)], got, `mutation ${k}`);
      if (iterErr !== '') errors++;
    } finally {
      block.close();
    }
  }
  fs.writeFileSync(file, good);
  assert.ok(errors > 20, `only ${errors} mutations were errors`);
});

/** appendSamples (with and without stale markers) equals iterating the stream; returns the count. */
function assertColumnsEqualIteration(samples: Iterable<ReadSample>, desc: string): number {
  const it = [...samples];
  for (const keepStale of [true, false]) {
    const cols = new SampleColumns();
    appendSamples(samples, cols, keepStale);
    const want = keepStale ? it : it.filter((x) => !x.stale);
    assert.deepEqual([...cols.t.subarray(0, cols.length)], want.map((x) => x.t), desc);
    assert.deepEqual([...cols.v.subarray(0, cols.length)], want.map((x) => x.v), desc);
    const staleAt = want.flatMap((x, i) => (x.stale ? [i] : []));
    assert.deepEqual(cols.staleAt ?? [], staleAt, desc);
  }
  return it.length;
}

function parse(s: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of s.slice(1, -1).matchAll(/([^=, ]+)=("(?:[^"\\]|\\.)*")/g)) out[m[1]] = JSON.parse(m[2]) as string;
  return out;
}
