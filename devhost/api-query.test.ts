// The query API end to end: the plugin (from source) under the dev host, a data dir with
// two blocks and a file store holding a third, older block this node no longer has. The
// prometheus-query client pointed at our routes (through the dev host, as an admin by
// header or by cookie, GET and POST) must return what it returns from a real Prometheus
// serving all three blocks; upstream's query_batch answers through the same path.
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {after, before, test} from 'node:test';

import {PrometheusDriver} from 'prometheus-query';

import {LocalBackend} from '../server/src/filestore/mod.ts';
import {BlockSyncer} from '../server/src/sync/mod.ts';
import {writeBlock, type SeriesInput} from '../server/src/tsdb/block/mod.ts';
import {ensurePrometheus, startPrometheus, type RunningPrometheus} from '../server/src/tsdb/testing/prometheus.ts';
import {startDevHost, type DevHost} from './devhost.ts';

const id = 'com.mattermost.mattermost-plugin-metrics';
const H = 3_600_000;
const bin = ensurePrometheus();
/** Three 2 h blocks ending 4 h ago (inside the default 72 h local and 15 d remote retention). */
const T0 = Math.floor((Date.now() - 10 * H) / (2 * H)) * 2 * H;
const END = T0 + 6 * H;
let h: DevHost | undefined;
let prom: RunningPrometheus | undefined;
let dir = '';
const ulids: string[] = [];

function fixture(from: number, to: number): SeriesInput[] {
  const times: number[] = [];
  for (let t = from; t < to; t += 15_000) times.push(t);
  return ['app-1', 'app-2'].flatMap((node, i): SeriesInput[] => [
    {
      labels: {__name__: 'mattermost_http_requests_total', job: 'fixture', instance: `${node}:8067`, method: 'GET'},
      samples: times.map((t) => ({t, v: Math.floor(((t - T0) / 1000) * (3 + i))})),
    },
    {
      labels: {__name__: 'mattermost_http_request_duration_seconds_bucket', job: 'fixture', instance: `${node}:8067`, le: '0.1'},
      samples: times.map((t) => ({t, v: Math.floor(((t - T0) / 1000) * 2.5)})),
    },
    {
      labels: {__name__: 'mattermost_http_request_duration_seconds_bucket', job: 'fixture', instance: `${node}:8067`, le: '+Inf'},
      samples: times.map((t) => ({t, v: Math.floor(((t - T0) / 1000) * (3 + i))})),
    },
  ]);
}

before(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'devhost-query-'));
  const all = path.join(dir, 'all');
  for (let b = 0; b < 3; b++) {
    const from = T0 + b * 2 * H;
    ulids.push(writeBlock(all, fixture(from, from + 2 * H), {fsync: false, minTime: from, maxTime: from + 2 * H}).ulid);
  }
  const r = await new BlockSyncer({backend: new LocalBackend(path.join(dir, 'filestore')), dataDir: all, retentionDays: 15, periodMinutes: 60}).syncOnce();
  assert.equal(r.uploaded, 3);
  const dataDir = path.join(dir, 'mattermost-plugin-metrics/data');
  for (const u of ulids.slice(1)) await fs.cp(path.join(all, u), path.join(dataDir, u), {recursive: true});
  if (bin) {
    await fs.cp(all, path.join(dir, 'prom'), {recursive: true});
    prom = await startPrometheus(bin, path.join(dir, 'prom'));
  }
  h = await startDevHost({dir, port: 0, metricsPort: 0, pluginExe: 'tsx', logWrite: () => {}});
});

after(async () => {
  await h?.stop();
  await prom?.stop();
  await fs.rm(dir, {recursive: true, force: true});
});

const skip = bin === null ? 'prometheus not available' : false;

function clients(auth: 'header' | 'cookie', preferPost: boolean): {ours: PrometheusDriver; theirs: PrometheusDriver} {
  const headers = auth === 'header' ? {'X-Devhost-User': 'admin'} : {Cookie: 'devhost_user=admin'};
  return {
    ours: new PrometheusDriver({endpoint: `${h!.url}/plugins/${id}`, baseURL: '/api/v1', headers, preferPost}),
    theirs: new PrometheusDriver({endpoint: prom!.url, baseURL: '/api/v1', preferPost}),
  };
}

const queries = [
  'sum(rate(mattermost_http_requests_total{job="fixture"}[5m]))',
  'sum by (instance) (increase(mattermost_http_requests_total{job="fixture"}[10m]))',
  'histogram_quantile(0.9, sum by (le) (rate(mattermost_http_request_duration_seconds_bucket{job="fixture"}[5m])))',
  'topk(1, mattermost_http_requests_total{job="fixture"})',
];

for (const [auth, preferPost] of [
  ['header', false],
  ['cookie', true],
] as const) {
  test(`prometheus-query (${auth} auth, ${preferPost ? 'POST' : 'GET'}): same answers as from Prometheus, including the block only in the file store`, {skip, timeout: 120_000}, async () => {
    const {ours, theirs} = clients(auth, preferPost);
    for (const q of queries) {
      for (const t of [T0 + 30 * 60_000, T0 + 3 * H, END - 60_000]) {
        const [a, b] = await Promise.all([ours.instantQuery(q, new Date(t)), theirs.instantQuery(q, new Date(t))]);
        assert.ok(b.result.length > 0, `${q} @ ${t}: Prometheus has data`);
        assert.deepEqual(a, b, `${q} @ ${t}`);
      }
      const [a, b] = await Promise.all([ours.rangeQuery(q, new Date(T0), new Date(END), 120), theirs.rangeQuery(q, new Date(T0), new Date(END), 120)]);
      assert.deepEqual(a, b, `${q} range`);
    }
    const sel = '{job="fixture"}';
    assert.deepEqual(await ours.series(sel, new Date(T0), new Date(END)), await theirs.series(sel, new Date(T0), new Date(END)));
    // The oldest block: only in the file store on our side.
    const old = 'mattermost_http_requests_total{job="fixture"}';
    const oldSeries = await ours.series(old, new Date(T0), new Date(T0 + H));
    assert.equal(oldSeries.length, 2);
    assert.deepEqual(oldSeries, await theirs.series(old, new Date(T0), new Date(T0 + H)));
    const cached = await fs.readdir(path.join(dir, 'mattermost-plugin-metrics/data/mm-remote-cache'));
    assert.deepEqual(cached, [ulids[0]], 'only the block missing locally was copied from the file store');
    assert.deepEqual(await ours.labelNames(sel, new Date(T0), new Date(END)), await theirs.labelNames(sel, new Date(T0), new Date(END)));
    assert.deepEqual(await ours.labelValues('instance', sel, new Date(T0), new Date(END)), await theirs.labelValues('instance', sel, new Date(T0), new Date(END)));
    // Errors reach the client the same way.
    const err = (p: Promise<unknown>) => p.then(() => assert.fail('expected an error'), (e: {errorType?: string; error?: string}) => ({errorType: e.errorType, error: e.error}));
    assert.deepEqual(await err(ours.rangeQuery('up', new Date(0), new Date(100_000_000), 1)), await err(theirs.rangeQuery('up', new Date(0), new Date(100_000_000), 1)));
  });
}

test('a member gets 403 with a Prometheus-style error body; query_batch answers through the dev host', {skip, timeout: 60_000}, async () => {
  const member = await fetch(`${h!.url}/plugins/${id}/api/v1/query?query=up`, {headers: {'X-Devhost-User': 'member'}});
  assert.equal(member.status, 403);
  const body = (await member.json()) as Record<string, string>;
  assert.equal(body.status, 'error');
  assert.equal(body.errorType, 'forbidden');
  const batch = await fetch(`${h!.url}/plugins/${id}/metrics/query_batch`, {
    method: 'POST',
    headers: {'X-Devhost-User': 'admin', 'Content-Type': 'application/json'},
    body: JSON.stringify({start: T0 / 1000, end: END / 1000, step: 30, queries: [queries[0], 'bad(']}),
  });
  assert.equal(batch.status, 200);
  const out = (await batch.json()) as Array<{query: string; series: Array<{metric: object; values: Array<[number, number]>}> | null; error?: string}>;
  assert.equal(out.length, 2);
  const ref = (await (await fetch(`${prom!.url}/api/v1/query_range?${new URLSearchParams({query: queries[0], start: String(T0 / 1000), end: String(END / 1000), step: '60'})}`)).json()) as {
    data: {result: Array<{values: Array<[number, string]>}>};
  };
  assert.deepEqual(
    out[0].series![0].values,
    ref.data.result[0].values.map(([t, v]) => [t, Number(v)]),
  );
  assert.equal(out[1].series, null);
  assert.match(out[1].error!, /^query error: /);
});
