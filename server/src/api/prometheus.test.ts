// The Prometheus-compatible routes against a real Prometheus (Debian 2.42) serving the
// same blocks. Our side reads two blocks locally and the oldest only from the file store
// (as after local retention), Prometheus reads all three from its data dir. Metadata
// answers and parameter errors must be byte-for-byte equal JSON; query answers equal
// series sets with values within 1e-9 relative error.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {after, before, describe, test} from 'node:test';

import {type FileBackend, LocalBackend} from '../filestore/mod.ts';
import {RemoteBlockCache} from '../remote/cache.ts';
import type {StoreSources} from '../remote/source.ts';
import {BlockSyncer} from '../sync/mod.ts';
import {openBlock, writeBlock, type Block, type SeriesInput} from '../tsdb/block/mod.ts';
import {blockSource, mergeSources} from '../tsdb/querier/mod.ts';
import {type PromBinaries, ensurePrometheus, startPrometheus, type RunningPrometheus} from '../tsdb/testing/prometheus.ts';
import {addQueryRoutes, decodeBatchRequest, withPrometheusErrorEnvelope} from './prometheus.ts';
import {Router} from './router.ts';

const bin: PromBinaries | null = ensurePrometheus();
const H = 3_600_000;
/** Three 2 h blocks from here. */
const T0 = Date.UTC(2026, 0, 5, 0, 0, 0);
const END = T0 + 6 * H;
const STEP = 30_000;

let root = '';
let prom: RunningPrometheus | null = null;
let router: Router;
let cache: RemoteBlockCache;
const open: Block[] = [];

/** Realistic series: counters with a reset, gauges, a target that goes away after the first block. */
function seriesFor(from: number, to: number): SeriesInput[] {
  const out: SeriesInput[] = [];
  const times: number[] = [];
  for (let t = from; t < to; t += STEP) times.push(t);
  for (const instance of ['app-1:8067', 'app-2:8067']) {
    for (const method of ['GET', 'POST']) {
      for (const code of ['200', '500']) {
        const rate = (method === 'GET' ? 7 : 2) * (code === '200' ? 10 : 0.3) * (instance === 'app-1:8067' ? 1 : 1.7);
        out.push({
          labels: {__name__: 'mattermost_http_requests_total', job: 'mattermost', instance, method, code},
          // A counter reset (restart) at T0 + 3 h on app-2.
          samples: times.map((t) => ({t, v: Math.floor((instance === 'app-2:8067' && t >= T0 + 3 * H ? t - T0 - 3 * H : t - T0) / 1000 * rate)})),
        });
      }
    }
    out.push({labels: {__name__: 'up', job: 'mattermost', instance}, samples: times.map((t) => ({t, v: 1}))});
    out.push({
      labels: {__name__: 'mattermost_db_master_connections_total', job: 'mattermost', instance},
      samples: times.map((t, i) => ({t, v: 20 + 10 * Math.sin(i / 17) + (instance === 'app-2:8067' ? 3 : 0)})),
    });
  }
  // A target that is gone after the first block.
  if (from < T0 + 2 * H) out.push({labels: {__name__: 'up', job: 'node', instance: 'db-1:9100'}, samples: times.filter((t) => t < T0 + 2 * H - 10 * 60_000).map((t) => ({t, v: 1}))});
  return out.filter((s) => [...s.samples].length > 0);
}

before(async () => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'prom-api-'));
  const all = path.join(root, 'all');
  const ulids: string[] = [];
  for (let b = 0; b < 3; b++) {
    const from = T0 + b * 2 * H;
    ulids.push(writeBlock(all, seriesFor(from, from + 2 * H), {fsync: false, minTime: from, maxTime: from + 2 * H}).ulid);
  }
  const store = new LocalBackend(path.join(root, 'store'));
  const r = await new BlockSyncer({backend: store, dataDir: all, retentionDays: 36500, periodMinutes: 60}).syncOnce();
  assert.equal(r.uploaded, 3);
  // This node kept the two newest blocks; the oldest is only in the file store.
  const local = path.join(root, 'local');
  for (const u of ulids.slice(1)) fs.cpSync(path.join(all, u), path.join(local, u), {recursive: true});
  const blocks = ulids.slice(1).map((u) => openBlock(path.join(local, u)));
  open.push(...blocks);
  cache = new RemoteBlockCache({backend: store, dir: path.join(local, 'mm-remote-cache')});
  const stores: StoreSources = {local: () => ({source: mergeSources(blocks.map(blockSource)), blocks: blocks.map((b) => b.meta)}), remote: cache};
  router = new Router({isAdmin: async (u) => u === 'admin'});
  addQueryRoutes(router, {stores: () => stores});
  if (bin) {
    const promDir = path.join(root, 'prom');
    fs.cpSync(all, promDir, {recursive: true});
    prom = await startPrometheus(bin, promDir);
  }
});

after(async () => {
  await prom?.stop();
  cache?.close();
  for (const b of open) b.close();
  if (root) fs.rmSync(root, {recursive: true, force: true});
});

async function ours(p: string, init: RequestInit & {user?: string} = {}): Promise<{status: number; body: any}> {
  const request = new Request(`http://plugin${p}`, {...init, headers: {'Mattermost-User-Id': init.user ?? 'admin', ...(init.headers as Record<string, string>)}});
  const res = await withPrometheusErrorEnvelope(request, await router.handle(request));
  return {status: res.status, body: await res.json()};
}

async function theirs(p: string, init: RequestInit = {}): Promise<{status: number; body: any}> {
  const res = await fetch(`${prom!.url}${p}`, init);
  return {status: res.status, body: await res.json()};
}

const q = (params: Record<string, string | string[]>): string => {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) for (const x of Array.isArray(v) ? v : [v]) u.append(k, x);
  return u.toString();
};

const s = (ms: number): string => String(ms / 1000);
const skip = bin === null ? 'prometheus not available' : false;

describe('metadata routes equal Prometheus 2.42', {skip}, () => {
  const cases: string[] = [
    '/api/v1/labels',
    `/api/v1/labels?${q({start: s(T0), end: s(END)})}`,
    `/api/v1/labels?${q({'match[]': 'up', start: s(T0), end: s(END)})}`,
    `/api/v1/labels?${q({'match[]': ['up{job="node"}', 'mattermost_db_master_connections_total']})}`,
    '/api/v1/label/__name__/values',
    '/api/v1/label/instance/values',
    `/api/v1/label/instance/values?${q({'match[]': 'up{job=~"node|nothing"}'})}`,
    `/api/v1/label/code/values?${q({'match[]': '{__name__=~"mattermost_.*",method!="GET"}', start: new Date(T0).toISOString(), end: new Date(END).toISOString()})}`,
    '/api/v1/label/nonexistent/values',
    `/api/v1/series?${q({'match[]': 'up'})}`,
    `/api/v1/series?${q({'match[]': ['up', 'mattermost_http_requests_total{code="500"}'], start: s(T0), end: s(END)})}`,
    // Only the newest block: the node target is gone there.
    `/api/v1/series?${q({'match[]': 'up', start: s(T0 + 4 * H + 60_000), end: s(END - 60_000)})}`,
    // Only the oldest block, which this node reads from the file store.
    `/api/v1/series?${q({'match[]': '{job="node"}', start: s(T0), end: s(T0 + H)})}`,
    `/api/v1/series?${q({'match[]': 'nothing_here'})}`,
    // RE2 syntax JS lacks (leading flags, POSIX classes) means the same as in a query.
    `/api/v1/series?${q({'match[]': '{__name__=~"(?i)UP",instance=~"[[:alnum:]_.-]+:[[:digit:]]+"}'})}`,
    `/api/v1/label/job/values?${q({'match[]': '{job=~"(?P<j>NODE)|mattermost.*"}'})}`,
    // Errors.
    '/api/v1/series',
    `/api/v1/series?${q({'match[]': '{a=~".*"}'})}`,
    `/api/v1/series?${q({'match[]': 'up', start: 'x'})}`,
    `/api/v1/labels?${q({start: 'yesterday'})}`,
    `/api/v1/labels?${q({'match[]': '{a=""}'})}`,
    '/api/v1/label/a-b/values',
  ];
  for (const c of cases) {
    test(`GET ${decodeURIComponent(c)}`, async () => {
      const [a, b] = await Promise.all([ours(c), theirs(c)]);
      assert.equal(a.status, b.status, JSON.stringify({ours: a.body, prometheus: b.body}));
      assert.deepEqual(a.body, b.body);
    });
  }
  test('POST form bodies are read like Prometheus (body first, then the query string)', async () => {
    const body = q({'match[]': ['up{job="node"}'], start: s(T0), end: s(END)});
    const init = {method: 'POST', body, headers: {'Content-Type': 'application/x-www-form-urlencoded'}};
    for (const p of ['/api/v1/series', `/api/v1/labels?${q({'match[]': 'mattermost_db_master_connections_total'})}`]) {
      const [a, b] = await Promise.all([ours(p, init), theirs(p, init)]);
      assert.equal(a.status, b.status);
      assert.deepEqual(a.body, b.body);
    }
  });
});

/** Equal result types and series sets, values within 1e-9 relative error. */
function assertSameData(a: any, b: any, what: string): void {
  assert.equal(a.resultType, b.resultType, what);
  const key = (m: Record<string, string>): string => JSON.stringify(Object.entries(m).sort());
  const num = (v: string): number => Number(v);
  const close = (x: string, y: string, where: string): void => {
    const [p, r] = [num(x), num(y)];
    if (Number.isNaN(p) && Number.isNaN(r)) return;
    if (p === r) return;
    assert.ok(Math.abs(p - r) <= 1e-9 * Math.max(Math.abs(p), Math.abs(r)), `${what} ${where}: ours ${x}, Prometheus ${y}`);
  };
  if (a.resultType === 'scalar' || a.resultType === 'string') {
    assert.equal(a.result[0], b.result[0]);
    if (a.resultType === 'string') assert.equal(a.result[1], b.result[1]);
    else close(a.result[1], b.result[1], 'scalar');
    return;
  }
  const mine = new Map<string, any>(a.result.map((x: any) => [key(x.metric), x]));
  const ref = new Map<string, any>(b.result.map((x: any) => [key(x.metric), x]));
  assert.deepEqual([...mine.keys()].sort(), [...ref.keys()].sort(), `${what}: series sets`);
  for (const [k, x] of ref) {
    const y = mine.get(k);
    if (a.resultType === 'vector') {
      assert.equal(y.value[0], x.value[0], `${what} ${k} time`);
      close(y.value[1], x.value[1], k);
    } else {
      assert.deepEqual(y.values.map((p: any) => p[0]), x.values.map((p: any) => p[0]), `${what} ${k} timestamps`);
      x.values.forEach((p: any, i: number) => close(y.values[i][1], p[1], `${k}@${p[0]}`));
    }
  }
}

const promqlReady = fs.existsSync(new URL('../promql/mod.ts', import.meta.url));

describe('query routes equal Prometheus 2.42', {skip: skip || (promqlReady ? false : 'server/src/promql not there yet')}, () => {
  const queries = [
    'up',
    'sum(rate(mattermost_http_requests_total[5m]))',
    'sum by (instance) (rate(mattermost_http_requests_total{code="500"}[5m]))',
    'sum(rate(mattermost_http_requests_total{code="500"}[5m])) / sum(rate(mattermost_http_requests_total[5m]))',
    'increase(mattermost_http_requests_total{instance="app-2:8067"}[10m])',
    'topk(2, mattermost_db_master_connections_total)',
    'avg_over_time(mattermost_db_master_connections_total[30m] offset 1h)',
    'count(up == 1) by (job)',
    'max(mattermost_db_master_connections_total) - min(mattermost_db_master_connections_total)',
    'time()',
  ];
  const instants = [T0 + 30 * 60_000, T0 + 2 * H - 5 * 60_000, T0 + 3 * H + 90_000, END - 1000];
  for (const query of queries) {
    test(`instant: ${query}`, async () => {
      let found = 0;
      for (const t of instants) {
        const p = `/api/v1/query?${q({query, time: s(t)})}`;
        const [a, b] = await Promise.all([ours(p), theirs(p)]);
        assert.equal(a.status, b.status, JSON.stringify(a.body));
        assert.equal(a.body.status, 'success');
        assertSameData(a.body.data, b.body.data, `${query} @ ${t}`);
        found += a.body.data.resultType === 'scalar' ? 1 : a.body.data.result.length;
      }
      assert.ok(found > 0, 'the comparison is not vacuous');
    });
    test(`range: ${query}`, async () => {
      for (const [start, end, step] of [
        [T0, END, '5m'],
        [T0 + H, T0 + 5 * H, '60'],
        [T0 + 100_000, T0 + 2 * H + 100_000, '37.5'],
      ] as const) {
        const p = `/api/v1/query_range?${q({query, start: s(start), end: s(end), step})}`;
        const [a, b] = await Promise.all([ours(p), theirs(p)]);
        assert.equal(a.status, b.status, JSON.stringify(a.body));
        assertSameData(a.body.data, b.body.data, `${query} ${start}..${end}/${step}`);
        assert.ok(a.body.data.result.length > 0, `${query}: no series`);
      }
    });
  }
  const errors = [
    `/api/v1/query?${q({query: 'up', time: 'abc'})}`,
    `/api/v1/query?${q({query: 'up', timeout: 'x'})}`,
    `/api/v1/query_range?${q({query: 'up', start: '1', end: '0', step: '1'})}`,
    `/api/v1/query_range?${q({query: 'up', start: 'a', end: '0', step: '1'})}`,
    `/api/v1/query_range?${q({query: 'up', end: '100', step: '1'})}`,
    `/api/v1/query_range?${q({query: 'up', start: '0', end: '100000', step: '0'})}`,
    `/api/v1/query_range?${q({query: 'up', start: '0', end: '100000', step: 'x'})}`,
    `/api/v1/query_range?${q({query: 'up', start: '0', end: '100000', step: '1'})}`,
    `/api/v1/query_range?${q({query: 'up', start: '0', end: '100', step: '90s1m'})}`,
  ];
  for (const p of errors) {
    test(`error: ${decodeURIComponent(p)}`, async () => {
      const [a, b] = await Promise.all([ours(p), theirs(p)]);
      assert.equal(a.status, b.status);
      assert.deepEqual(a.body, b.body);
    });
  }
  test('time and step parameters are read exactly as Prometheus reads them', async () => {
    const times = ['1.2345', '1767571200.5', '1767571200.0005', '-1.5', '1e9', '.5', '5.', '+5', '2026-01-05T01:00:00Z', '2026-01-05T01:00:00.123456789+02:00', '2026-01-05T01:00:00.9999Z', '2026-01-05t01:00:00z', '2024-02-29T00:00:00-00:30'];
    const bad = ['2026-02-30T00:00:00Z', '2026-01-05 01:00:00Z', '2026-01-05', 'now', '1_000', '1__0', '_1', '1_', '0x10', '0x1p4', '0x1.8p1', '0x_1p0', '1e400', '', ' 5'];
    for (const time of [...times, ...bad]) {
      const p = `/api/v1/query?${q({query: 'time()', time})}`;
      const [a, b] = await Promise.all([ours(p), theirs(p)]);
      if (time === '') {
        assert.equal(a.status, 200); // both "now"
        continue;
      }
      assert.equal(a.status, b.status, `time=${JSON.stringify(time)}: ${JSON.stringify({ours: a.body, prometheus: b.body})}`);
      assert.deepEqual(a.body, b.body, `time=${JSON.stringify(time)}`);
    }
    for (const step of ['1m30s', '90', '90.5', '1h', '0.001', '1d', '1w', '1y', '2m1s5ms', '1e2', '-5', '1h1h', '5M', '0', '1.5m', '0x10', '1_0', 'Inf', 'NaN', '1e-10', '1e10', '0.6545']) {
      const p = `/api/v1/query_range?${q({query: 'vector(1)', start: s(T0), end: s(T0 + 2 * H), step})}`;
      const [a, b] = await Promise.all([ours(p), theirs(p)]);
      assert.equal(a.status, b.status, `step=${step}: ${JSON.stringify({ours: a.body, prometheus: b.body}).slice(0, 400)}`);
      assert.deepEqual(a.body, b.body, `step=${step}`);
    }
  });
  test('parse errors: same status and errorType', async () => {
    for (const p of [`/api/v1/query?${q({query: 'sum(up'})}`, `/api/v1/query_range?${q({query: 'rate(up)', start: '0', end: '100', step: '10'})}`, '/api/v1/query']) {
      const [a, b] = await Promise.all([ours(p), theirs(p)]);
      assert.equal(a.status, b.status, JSON.stringify({ours: a.body, prometheus: b.body}));
      assert.equal(a.body.errorType, b.body.errorType);
      if (p.includes('/query?')) assert.match(a.body.error, /^invalid parameter "query": /);
    }
  });
  test('query_batch: upstream JSON, in-band errors, NaN/Inf points left out, min step 60 s', async () => {
    const body = {start: (T0 + H) / 1000, end: (T0 + 2 * H) / 1000, step: 10, queries: ['sum(rate(mattermost_http_requests_total[5m]))', 'bad(', 'up / 0 - up / 0', 'vector(1) / 0']};
    const res = await router.handle(
      new Request('http://plugin/metrics/query_batch', {method: 'POST', body: JSON.stringify(body), headers: {'Mattermost-User-Id': 'admin', 'Content-Type': 'application/json'}}),
    );
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/json');
    const out = (await res.json()) as any[];
    assert.deepEqual(out.map((r) => r.query), body.queries);
    const ref = await theirs(`/api/v1/query_range?${q({query: body.queries[0], start: String(body.start), end: String(body.end), step: '60'})}`);
    assert.deepEqual(out[0].series.map((x: any) => x.values.map((v: any) => v[0])), ref.body.data.result.map((x: any) => x.values.map((v: any) => v[0])), '60 s step');
    out[0].series[0].values.forEach((v: [number, number], i: number) => assert.ok(Math.abs(v[1] - Number(ref.body.data.result[0].values[i][1])) <= 1e-9 * Math.abs(v[1])));
    assert.equal(out[1].series, null);
    assert.match(out[1].error, /^query error: /);
    // Upstream has no 11,000-points limit: 9 days at 60 s is evaluated in pieces, every step present once.
    const long = await router.handle(
      new Request('http://plugin/metrics/query_batch', {
        method: 'POST',
        body: JSON.stringify({start: T0 / 1000, end: T0 / 1000 + 9 * 86_400, step: 60, queries: ['vector(1)', 'up{job="node"}']}),
        headers: {'Mattermost-User-Id': 'admin'},
      }),
    );
    const [ones, node] = (await long.json()) as any[];
    assert.equal(ones.error, undefined);
    assert.equal(ones.series[0].values.length, 9 * 1440 + 1);
    ones.series[0].values.forEach((v: [number, number], i: number) => assert.deepEqual(v, [T0 / 1000 + i * 60, 1]));
    const nodeRef = await theirs(`/api/v1/query_range?${q({query: 'up{job="node"}', start: s(T0), end: s(T0 + 2 * H), step: '60'})}`);
    assert.deepEqual(node.series.map((x: any) => x.metric), nodeRef.body.data.result.map((x: any) => x.metric));
    assert.deepEqual(node.series[0].values, nodeRef.body.data.result[0].values.map(([t, v]: [number, string]) => [t, Number(v)]));
    // NaN (0/0 − 0/0) and +Inf points are gaps, not zeros.
    for (const r of out.slice(2)) {
      assert.equal(r.error, undefined);
      for (const x of r.series) assert.deepEqual(x.values, []);
    }
  });
});

describe('query_batch request handling (no evaluation needed)', () => {
  const post = async (body: string, user = 'admin') =>
    router.handle(new Request('http://plugin/metrics/query_batch', {method: 'POST', body, headers: {'Mattermost-User-Id': user, 'Content-Type': 'application/json'}}));
  test('bad JSON is 400 "bad request"; no queries is []; more than 50 is 400; admins only', async () => {
    for (const bad of ['{', '[]', '"x"', '{"start": 1.5}', '{"start": "1"}', '{"queries": "up"}', '{"queries": [1]}', '{"step": "60"}']) {
      const r = await post(bad);
      assert.equal(r.status, 400, bad);
      assert.deepEqual(await r.json(), {error: 'bad request'});
    }
    for (const empty of ['{}', 'null', '{"queries": []}', '{"queries": null, "start": 5}']) {
      const r = await post(empty);
      assert.equal(r.status, 200, empty);
      assert.deepEqual(await r.json(), []);
    }
    const many = await post(JSON.stringify({start: 0, end: 60, step: 60, queries: Array.from({length: 51}, () => 'up')}));
    assert.equal(many.status, 400);
    assert.deepEqual(await many.json(), {error: 'too many queries (max 50)'});
    assert.equal((await post('{}', 'member')).status, 403);
    assert.equal((await post('{}', '')).status, 401);
  });
  test('Go decoding rules: field names case-insensitive, unknown fields ignored', () => {
    assert.deepEqual(decodeBatchRequest('{"Start": 5, "END": 9, "Step": 1.5, "Queries": ["up"], "x": {}}'), {start: 5, end: 9, step: 1.5, queries: ['up']});
  });
  test('router errors under /api/v1 carry Prometheus status and errorType as well', async () => {
    const anon = await ours('/api/v1/labels', {user: ''});
    assert.equal(anon.status, 401);
    assert.deepEqual(Object.keys(anon.body).sort(), ['error', 'errorType', 'status']);
    assert.equal(anon.body.errorType, 'unauthorized');
    const member = await ours('/api/v1/query?query=up', {user: 'member'});
    assert.equal(member.status, 403);
    assert.equal(member.body.errorType, 'forbidden');
    const del = await ours('/api/v1/query', {method: 'DELETE'});
    assert.equal(del.status, 405);
    assert.equal(del.body.errorType, 'method_not_allowed');
    // Other routes keep the router's own shape.
    const other = await ours('/jobs', {user: ''});
    assert.deepEqual(Object.keys(other.body), ['error']);
  });
});

describe('metadata routes with a stalled file store', () => {
  test('series, labels and label values answer from local data within metadataTimeoutMs, with a warning', async () => {
    const inner = new LocalBackend(path.join(root, 'store'));
    let unstall: () => void = () => {};
    const stalled = new Promise<void>((r) => (unstall = r));
    // A file store whose listing hangs (an unreachable S3 endpoint with long retries).
    const backend: FileBackend = Object.assign(Object.create(inner) as FileBackend, {
      list: async (prefix: string) => {
        await stalled;
        return inner.list(prefix);
      },
    });
    const slowCache = new RemoteBlockCache({backend, dir: path.join(root, 'local', 'slow-cache')});
    const stores: StoreSources = {local: () => ({source: mergeSources(open.map(blockSource)), blocks: open.map((b) => b.meta)}), remote: slowCache};
    const slowRouter = addQueryRoutes(new Router({isAdmin: async () => true}), {stores: () => stores, metadataTimeoutMs: 100});
    const get = async (p: string) => {
      const res = await slowRouter.handle(new Request(`http://plugin${p}`, {headers: {'Mattermost-User-Id': 'admin'}}));
      return {status: res.status, body: (await res.json()) as {status: string; data: unknown; warnings?: string[]}};
    };
    try {
      const range = {start: s(T0), end: s(END)};
      for (const p of [
        `/api/v1/series?${q({'match[]': 'up', ...range})}`,
        `/api/v1/labels?${q(range)}`,
        `/api/v1/label/instance/values?${q(range)}`,
      ]) {
        const started = performance.now();
        const r = await get(p);
        const ms = performance.now() - started;
        assert.equal(r.status, 200, p);
        assert.equal(r.body.status, 'success', p);
        assert.ok(ms < 2_000, `${p} answered after ${ms.toFixed(0)} ms`);
        assert.match(r.body.warnings?.join('\n') ?? '', /file-store blocks are not included \(listing failed: listing the file store takes longer than the query timeout \(100 ms\)\)/, p);
      }
      // Only the local blocks answered: db-1 (only in the oldest, file-store-only block) is missing.
      const values = await get(`/api/v1/label/instance/values?${q(range)}`);
      assert.deepEqual(values.body.data, ['app-1:8067', 'app-2:8067']);
      const series = await get(`/api/v1/series?${q({'match[]': 'up', ...range})}`);
      assert.equal((series.body.data as unknown[]).length, 2);
      // Once the store answers again, so does the full answer (no warning).
      unstall();
      const full = await get(`/api/v1/label/instance/values?${q(range)}`);
      assert.equal(full.body.warnings, undefined);
      assert.deepEqual(full.body.data, ['app-1:8067', 'app-2:8067', 'db-1:9100']);
    } finally {
      unstall();
      slowCache.close();
    }
  });
});
