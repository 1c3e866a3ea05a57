// Differential test: our evaluator against a real Prometheus (Debian 2.42) started on a
// copy of the same blocks. Every upstream panel query plus a broad set of our own, as
// instant queries at several times and as range queries at several ranges and steps.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {after, before, describe, test} from 'node:test';
import {type PromBinaries, type RunningPrometheus, ensurePrometheus, startPrometheus} from '../tsdb/testing/prometheus.ts';
import type {SeriesSource} from '../tsdb/storage.ts';
import {PromQLError, instantQuery, parseQuery, rangeQuery, toPrometheusData} from './mod.ts';
import {type PromAnswer, diffAnswers, promQuery} from './testing/compare.ts';
import {openBlocksSource, writeFixtureBlocks} from './testing/fixture.ts';
import {OWN_QUERIES, UPSTREAM_PANEL_QUERIES, randomQuery} from './testing/queries.ts';

const bin: PromBinaries | null = ensurePrometheus();
const skip = bin === null ? 'prometheus not available and not installable' : false;

const H = 3_600_000;
const MIN = 60_000;
const T0 = Date.UTC(2025, 2, 10);

const INSTANT_TIMES = [T0 + 10_000, T0 + H, T0 + H + 5 * MIN, T0 + 2 * H + 40 * MIN, T0 + 3 * H + 45_000, T0 + 4 * H + 90_000, T0 + 5 * H + 12_345, T0 + 6 * H];
const RANGES: [number, number, number][] = [
  [T0, T0 + 6 * H, MIN],
  [T0 + 2 * H, T0 + 5 * H, 15_000],
  [T0 + 3 * H + 17 * MIN, T0 + 3 * H + 49 * MIN, 7_000],
  [T0 - 10 * MIN, T0 + 30 * MIN, MIN],
  [T0 + 4 * H - 7 * MIN, T0 + 4 * H + 11 * MIN, 13_500],
  [T0 + 7_000, T0 + 6 * H + 5 * MIN, 5 * MIN + 1_000],
];

let root = '';
let prom: RunningPrometheus | null = null;
let source: SeriesSource;

async function ours(run: () => Promise<Parameters<typeof toPrometheusData>[0]>): Promise<PromAnswer> {
  try {
    return {ok: true, data: toPrometheusData(await run()) as {resultType: string; result: unknown}};
  } catch (err) {
    if (err instanceof PromQLError) return {ok: false, errorType: err.type, error: err.message};
    throw err;
  }
}

/** Substitutes the fixture's times into a query template. */
function fill(q: string): string {
  return q.replace(/\$T2H/g, String((T0 + 2 * H) / 1000)).replace(/\$T5H/g, String((T0 + 5 * H) / 1000));
}

/** Answers with at least one series: guards against a comparison of empty results only. */
let nonEmpty = 0;

function countNonEmpty(a: PromAnswer): void {
  if (!a.ok) return;
  const r = a.data.result;
  if (!Array.isArray(r) || r.length > 0) nonEmpty++;
}

async function compareAll(queries: readonly string[]): Promise<{compared: number; failures: string[]}> {
  const failures: string[] = [];
  let compared = 0;
  nonEmpty = 0;
  for (const template of queries) {
    const q = fill(template);
    for (const t of INSTANT_TIMES) {
      const [a, b] = await Promise.all([ours(() => instantQuery(source, q, t)), promQuery(prom!, {query: q, time: String(t / 1000)}, 'query')]);
      const d = diffAnswers(a, b);
      compared++;
      countNonEmpty(b);
      if (d) failures.push(`instant ${q} @${t / 1000}: ${d}`);
    }
    for (const [s, e, step] of RANGES) {
      const [a, b] = await Promise.all([
        ours(() => rangeQuery(source, q, s, e, step)),
        promQuery(prom!, {query: q, start: String(s / 1000), end: String(e / 1000), step: String(step / 1000)}, 'query_range'),
      ]);
      const d = diffAnswers(a, b);
      compared++;
      countNonEmpty(b);
      if (d) failures.push(`range ${q} [${s / 1000}, ${e / 1000}, ${step / 1000}]: ${d}`);
    }
  }
  return {compared, failures};
}

describe('PromQL against Prometheus 2.42 on the same blocks', {skip}, () => {
  before(async () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'promql-diff-'));
    const data = path.join(root, 'ours');
    const dirs = writeFixtureBlocks(data, {
      t0: T0,
      hours: 6,
      nodes: 4,
      disappear: {node: 3, afterMs: 4 * H},
      restart: {node: 1, afterMs: 3 * H},
      gap: {node: 2, fromMs: 2 * H + 30 * MIN, toMs: 2 * H + 50 * MIN},
    });
    source = openBlocksSource(dirs);
    // Prometheus may compact its copy; ours stays untouched.
    const copy = path.join(root, 'prometheus');
    fs.cpSync(data, copy, {recursive: true});
    prom = await startPrometheus(bin!, copy);
  });
  after(async () => {
    await prom?.stop();
    if (root) fs.rmSync(root, {recursive: true, force: true});
  });

  test('the 36 upstream panel queries give the same results', async () => {
    assert.equal(UPSTREAM_PANEL_QUERIES.length, 36);
    const {compared, failures} = await compareAll(UPSTREAM_PANEL_QUERIES);
    assert.deepEqual(failures.slice(0, 15), [], `${failures.length} of ${compared} differ`);
    assert.ok(nonEmpty > compared * 0.85, `only ${nonEmpty} of ${compared} answers had data`);
  });

  test('our own query set gives the same results (and the same errors)', async () => {
    const {compared, failures} = await compareAll(OWN_QUERIES);
    assert.deepEqual(failures.slice(0, 15), [], `${failures.length} of ${compared} differ`);
    assert.ok(nonEmpty > compared * 0.75, `only ${nonEmpty} of ${compared} answers had data`);
  });

  test('mutated queries: we refuse exactly what Prometheus refuses (bar documented extensions)', async () => {
    // Newer-than-2.42 syntax we accept on purpose: durations as numbers (`5m` = 300),
    // plain numbers as durations (`[300]`), `_` digit separators.
    const extension = /missing unit character in duration|unexpected duration|bad number or duration syntax|expected duration/;
    const all = [...UPSTREAM_PANEL_QUERIES, ...OWN_QUERIES].map(fill);
    let seed = 11;
    const rand = (): number => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
    const chars = '()[]{},:@+-*/^%=!~<>"\' 0123456789abcxyz_.`';
    const failures: string[] = [];
    for (let i = 0; i < 600; i++) {
      let q = all[Math.floor(rand() * all.length)];
      const p = Math.floor(rand() * (q.length + 1));
      const c = chars[Math.floor(rand() * chars.length)];
      const op = rand();
      q = op < 0.33 ? q.slice(0, p) + q.slice(p + 1) : op < 0.66 ? q.slice(0, p) + c + q.slice(p) : q.slice(0, p) + c + q.slice(p + 1);
      let ours: string | null = null;
      try {
        parseQuery(q);
      } catch (err) {
        assert.ok(err instanceof PromQLError, `${q}: ${String(err)}`);
        ours = err.message;
      }
      const theirs = await promQuery(prom!, {query: q, time: String(T0 / 1000)}, 'query');
      const theirError = !theirs.ok && theirs.errorType === 'bad_data' ? theirs.error : null;
      if ((ours === null) === (theirError === null)) continue;
      if (theirError !== null && extension.test(theirError)) continue;
      failures.push(`${JSON.stringify(q)}: ours ${ours ?? 'accepted'}, Prometheus ${theirError ?? 'accepted'}`);
    }
    assert.deepEqual(failures, []);
  });

  test('random compositions of selectors, functions, operators and modifiers give the same results', async () => {
    let seed = 5;
    const rand = (): number => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
    const failures: string[] = [];
    let compared = 0;
    nonEmpty = 0;
    for (let i = 0; i < 150; i++) {
      const q = randomQuery(rand, (T0 + 2 * H) / 1000, 1 + Math.floor(rand() * 3));
      const t = T0 + Math.floor(rand() * 6 * H);
      const [a, b] = await Promise.all([ours(() => instantQuery(source, q, t)), promQuery(prom!, {query: q, time: String(t / 1000)}, 'query')]);
      const s = T0 + Math.floor(rand() * 3 * H);
      const e = s + Math.floor(rand() * 3 * H);
      const step = [15_000, 60_000, 97_000][Math.floor(rand() * 3)];
      const [c, d] = await Promise.all([
        ours(() => rangeQuery(source, q, s, e, step)),
        promQuery(prom!, {query: q, start: String(s / 1000), end: String(e / 1000), step: String(step / 1000)}, 'query_range'),
      ]);
      for (const [x, y, kind] of [
        [a, b, `instant @${t / 1000}`],
        [c, d, `range [${s / 1000}, ${e / 1000}, ${step / 1000}]`],
      ] as const) {
        compared++;
        countNonEmpty(y);
        const diff = diffAnswers(x, y);
        if (diff) failures.push(`${kind} ${q}: ${diff}`);
      }
    }
    assert.deepEqual(failures.slice(0, 10), [], `${failures.length} of ${compared} differ`);
    assert.ok(nonEmpty > compared * 0.75, `only ${nonEmpty} of ${compared} answers had data`);
  });
});
