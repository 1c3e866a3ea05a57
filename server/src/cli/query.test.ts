// mm-metrics query: on a data dir and on a dump archive it prints exactly the JSON the
// plugin's HTTP API answers for the same parameters, cleans up what it extracted, and
// reports bad flags (exit 2) and bad parameters (exit 1, Prometheus' error JSON).

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {after, before, test} from 'node:test';

import * as tar from 'tar';

import {addQueryRoutes, type PromQLEngine} from '../api/prometheus.ts';
import {Router} from '../api/router.ts';
import {openBlock, writeBlock, type Block} from '../tsdb/block/mod.ts';
import {blockSource, mergeSources} from '../tsdb/querier/mod.ts';
import {run} from './main.ts';

const H = 3_600_000;
const T0 = Date.UTC(2026, 0, 7);
let root = '';
let dataDir = '';
let archive = '';
let router: Router;
const blocks: Block[] = [];

const promqlReady = fs.existsSync(new URL('../promql/mod.ts', import.meta.url));

/** Until server/src/promql lands: bare metric selectors only, enough to compare the plumbing. */
const stubEngine: PromQLEngine = {
  parseQuery(query) {
    if (!/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(query)) throw Object.assign(new Error('1:1: parse error: stub evaluator'), {type: 'bad_data'});
    return query;
  },
  async instantQuery(source, query, timeMs) {
    const result = [];
    for (const s of source.select([{type: '=', name: '__name__', value: query}], timeMs - 300_000, timeMs)) {
      let last: {t: number; v: number} | null = null;
      for (const x of s.samples) last = x;
      if (last) result.push({metric: Object.fromEntries(s.labels.map((l) => [l.name, l.value])), t: timeMs, v: last.v});
    }
    return {resultType: 'vector', result};
  },
  async rangeQuery(source, query, startMs, endMs, stepMs) {
    const result = [];
    for (const s of source.select([{type: '=', name: '__name__', value: query}], startMs - 300_000, endMs)) {
      const xs = [...s.samples];
      const values = [];
      for (let t = startMs; t <= endMs; t += stepMs) {
        const last = xs.filter((x) => x.t <= t && x.t > t - 300_000).pop();
        if (last) values.push({t, v: last.v});
      }
      result.push({metric: Object.fromEntries(s.labels.map((l) => [l.name, l.value])), values});
    }
    return {resultType: 'matrix', result};
  },
  toPrometheusData(r) {
    if (r.resultType === 'vector') return {resultType: 'vector', result: r.result.map((e) => ({metric: e.metric, value: [e.t / 1000, String(e.v)]}))};
    if (r.resultType === 'matrix') return {resultType: 'matrix', result: r.result.map((e) => ({metric: e.metric, values: e.values.map((x) => [x.t / 1000, String(x.v)])}))};
    return r;
  },
};
const engine = promqlReady ? undefined : stubEngine;

before(async () => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'cli-query-'));
  dataDir = path.join(root, 'data');
  for (let b = 0; b < 2; b++) {
    const from = T0 + b * 2 * H;
    const series = ['a:1', 'b:1'].map((instance, i) => ({
      labels: {__name__: 'mattermost_http_requests_total', job: 'mattermost', instance},
      samples: Array.from({length: 120}, (_, k) => ({t: from + k * 60_000, v: (b * 120 + k) * (i + 1) * 3.5})),
    }));
    writeBlock(dataDir, series, {fsync: false, minTime: from, maxTime: from + 2 * H});
  }
  // The remote cache's copies are not part of the data dir's own data.
  fs.mkdirSync(path.join(dataDir, 'mm-remote-cache'), {recursive: true});
  archive = path.join(root, 'dump.tar.gz');
  await tar.c({gzip: true, file: archive, cwd: dataDir}, fs.readdirSync(dataDir).filter((n) => n !== 'mm-remote-cache'));
  for (const d of fs.readdirSync(dataDir).filter((n) => /^[0-9A-Z]{26}$/.test(n))) blocks.push(openBlock(path.join(dataDir, d)));
  router = new Router({isAdmin: async () => true});
  addQueryRoutes(router, {stores: () => ({local: () => ({source: mergeSources(blocks.map(blockSource)), blocks: blocks.map((b) => b.meta)}), remote: null}), engine});
});

after(() => {
  for (const b of blocks) b.close();
  if (root) fs.rmSync(root, {recursive: true, force: true});
});

async function cli(args: string[]): Promise<{code: number; out: string[]; err: string[]}> {
  const out: string[] = [];
  const err: string[] = [];
  const io = {out: (l: string) => out.push(l), err: (l: string) => err.push(l)};
  if (engine && args[0] === 'query') {
    // The stub evaluator goes through queryCommand directly (main has no way to swap it).
    const {queryCommand} = await import('./query.ts');
    const {parseArgs} = await import('node:util');
    const {positionals, values} = parseArgs({args: args.slice(1), allowPositionals: true, options: {time: {type: 'string'}, start: {type: 'string'}, end: {type: 'string'}, step: {type: 'string'}}});
    return {code: await queryCommand(positionals[0], positionals[1], {...values, engine}, io), out, err};
  }
  return {code: await run(args, io), out, err};
}

async function api(p: string): Promise<string> {
  const res = await router.handle(new Request(`http://plugin${p}`, {headers: {'Mattermost-User-Id': 'admin'}}));
  return JSON.stringify(await res.json());
}

const query = 'mattermost_http_requests_total';

test('instant and range queries on a data dir print what the HTTP API answers', async () => {
  const t = String((T0 + 3 * H) / 1000);
  const inst = await cli(['query', dataDir, query, '--time', t]);
  assert.equal(inst.code, 0, inst.err.join('\n'));
  assert.deepEqual(inst.out, [await api(`/api/v1/query?query=${query}&time=${t}`)]);
  assert.match(inst.out[0], /"resultType":"vector"/);

  const start = new Date(T0 + H).toISOString();
  const end = String((T0 + 3 * H) / 1000);
  const rng = await cli(['query', dataDir, query, '--start', start, '--end', end, '--step', '5m']);
  assert.equal(rng.code, 0, rng.err.join('\n'));
  assert.deepEqual(rng.out, [await api(`/api/v1/query_range?query=${query}&start=${start}&end=${end}&step=5m`)]);
  assert.equal(JSON.parse(rng.out[0]).data.result.length, 2);
});

test('a dump archive gives the same answer as its data dir, and the extracted copy is removed', async () => {
  const before = new Set(fs.readdirSync(os.tmpdir()).filter((n) => n.startsWith('mm-metrics-')));
  const args = [query, '--start', String(T0 / 1000), '--end', String((T0 + 4 * H) / 1000), '--step', '600'];
  const fromDir = await cli(['query', dataDir, ...args]);
  const fromDump = await cli(['query', archive, ...args]);
  assert.equal(fromDump.code, 0, fromDump.err.join('\n'));
  assert.deepEqual(fromDump.out, fromDir.out);
  const left = fs.readdirSync(os.tmpdir()).filter((n) => n.startsWith('mm-metrics-') && !before.has(n));
  for (const d of left) assert.ok(!fs.readdirSync(path.join(os.tmpdir(), d)).some((n) => blocks.some((b) => b.meta.ulid === n)), `extracted dump left in ${d}`);
});

test('without --time the query runs at the newest sample (a dump ends in the past)', async () => {
  const r = await cli(['query', archive, query]);
  assert.equal(r.code, 0, r.err.join('\n'));
  assert.match(r.err.join('\n'), /evaluating at the newest data: 2026-01-07T03:59:59.999Z/);
  assert.equal(JSON.parse(r.out[0]).data.result.length, 2);
});

test('bad parameters print Prometheus error JSON and exit 1; bad flags exit 2', async () => {
  const bad = await cli(['query', dataDir, query, '--start', '0', '--end', '100000', '--step', '1']);
  assert.equal(bad.code, 1);
  assert.deepEqual(JSON.parse(bad.out[0]), {
    status: 'error',
    errorType: 'bad_data',
    error: 'exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)',
  });
  const parse = await cli(['query', dataDir, 'sum(']);
  assert.equal(parse.code, 1);
  assert.equal(JSON.parse(parse.out[0]).errorType, 'bad_data');
  const usage: string[] = [];
  assert.equal(await run(['query', dataDir, query, '--start', '0'], {out: () => {}, err: (l) => usage.push(l)}), 2);
  assert.match(usage.join('\n'), /needs --start, --end and --step together/);
  const missing = await run(['query', dataDir], {out: () => {}, err: () => {}});
  assert.equal(missing, 2);
  const errs: string[] = [];
  assert.equal(await run(['query', path.join(root, 'nope'), query], {out: () => {}, err: (l) => errs.push(l)}), 1);
  assert.match(errs.join('\n'), /nope: no such file or directory/);
});
