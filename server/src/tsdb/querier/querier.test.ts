// mergeSources/blockSource against a brute-force reference on random data: overlapping
// and adjacent blocks plus an in-memory "head", every matcher type, random time ranges.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {after, before, describe, test} from 'node:test';
import {type Block, type Matcher, type ReadSample, type Sample, openBlock, writeBlock} from '../block/mod.ts';
import {type Label, compareLabels, compareStrings, labelValue, labelsKey, labelsString, toLabels} from '../labels/mod.ts';
import {blockSource} from './block.ts';
import {memorySource, toReadSample} from './memory.ts';
import {mergeSources} from './merge.ts';

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
        checkedSamples += samples.length;
      }
    }
    assert.ok(checkedSamples > 10_000, `checked ${checkedSamples}`);
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

function parse(s: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of s.slice(1, -1).matchAll(/([^=, ]+)=("(?:[^"\\]|\\.)*")/g)) out[m[1]] = JSON.parse(m[2]) as string;
  return out;
}
