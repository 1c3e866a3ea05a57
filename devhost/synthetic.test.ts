// The synthetic Mattermost server: the families and label names of metrics.go, the size
// knob, values that move with (simulated) time, and — through a real Prometheus over a block
// of its scrapes — data for every query of the upstream dashboard's panels.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {test} from 'node:test';

import {UPSTREAM_PANEL_QUERIES} from '../server/src/promql/testing/queries.ts';
import {parse} from '../server/src/scrape/parser/mod.ts';
import {writeBlock} from '../server/src/tsdb/block/mod.ts';
import {ensurePrometheus, query, startPrometheus} from '../server/src/tsdb/testing/prometheus.ts';
import {parseSeriesKnob, SyntheticServer} from './synthetic.ts';

type Sample = {labels: Record<string, string>; value: number};

function samplesOf(body: string, contentType: string): Sample[] {
  return parse(body, contentType).samples.map((s) => ({labels: Object.fromEntries(s.labels.map((l) => [l.name, l.value])), value: s.value}));
}

const key = (labels: Record<string, string>) =>
  Object.entries(labels)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([k, v]) => `${k}=${v}`)
    .join(',');

/** Family → the label names its series carry (besides le/quantile), from metrics.go. */
const families: Record<string, string[]> = {
  mattermost_api_time_bucket: ['handler', 'method', 'origin_client', 'page_load_context', 'status_code'],
  mattermost_db_store_time_bucket: ['method', 'success'],
  mattermost_http_requests_total: [],
  mattermost_http_errors_total: [],
  mattermost_http_websockets_total: ['origin_client'],
  mattermost_post_total: [],
  mattermost_websocket_broadcasts_total: ['name'],
  mattermost_websocket_event_total: ['type'],
  mattermost_websocket_broadcast_buffer_size: ['hub'],
  mattermost_websocket_reconnects_total: ['type'],
  mattermost_db_master_connections_total: [],
  mattermost_db_read_replica_connections_total: [],
  mattermost_db_replica_lag_time: ['node'],
  go_sql_open_connections: ['db_name'],
  go_sql_in_use_connections: ['db_name'],
  go_sql_wait_count_total: ['db_name'],
  mattermost_cluster_cluster_health_score: [],
  mattermost_cluster_cluster_request_duration_seconds_bucket: [],
  mattermost_cluster_cluster_event_type_totals: ['name'],
  mattermost_jobs_active: ['type'],
  mattermost_process_cpu_seconds_total: [],
  go_goroutines: [],
  go_memstats_heap_inuse_bytes: [],
  go_gc_duration_seconds: [],
};

void test('the exposition has the families of metrics.go with their label names, and parses', async () => {
  const s = new SyntheticServer({series: 2_500});
  const samples = samplesOf(await s.metrics(), s.contentType);
  const seen = new Set<string>();
  for (const x of samples) {
    const k = key(x.labels);
    assert.ok(!seen.has(k), `duplicate series ${k}`);
    seen.add(k);
  }
  for (const [name, labelNames] of Object.entries(families)) {
    const series = samples.filter((x) => x.labels.__name__ === name);
    assert.ok(series.length > 0, `${name} is missing`);
    const names = Object.keys(series[0].labels)
      .filter((n) => n !== '__name__' && n !== 'le' && n !== 'quantile')
      .sort();
    // Empty label values are dropped by the parser, as Prometheus drops them.
    assert.ok(
      names.every((n) => labelNames.includes(n)),
      `${name}: labels ${names.join(',')} not within ${labelNames.join(',')}`,
    );
  }
  const handlers = new Set(samples.filter((x) => x.labels.__name__ === 'mattermost_api_time_count').map((x) => x.labels.handler));
  assert.ok(handlers.size >= 24, `only ${handlers.size} handlers`);
  for (const h of ['createPost', 'getPostsForChannelAroundLastUnread']) assert.ok(handlers.has(h), `handler ${h} missing`);
  const dbNames = new Set(samples.filter((x) => x.labels.__name__ === 'go_sql_open_connections').map((x) => x.labels.db_name));
  assert.deepEqual([...dbNames].sort(), ['master', 'replica-1', 'replica-2']);
});

void test('the size knob scales the series count', async () => {
  for (const series of [600, 2_500, 15_000]) {
    const s = new SyntheticServer({series});
    const n = samplesOf(await s.metrics(), s.contentType).length;
    assert.ok(Math.abs(n - series) / series < 0.05, `asked for ${series} series, got ${n}`);
  }
  assert.equal(parseSeriesKnob(undefined), undefined);
  assert.equal(parseSeriesKnob('15000'), 15_000);
  assert.throws(() => parseSeriesKnob('lots'), /DEVHOST_SERIES=lots: use a number of series between 600 and 5000000/);
  assert.throws(() => parseSeriesKnob('10'), /between 600/);
});

void test('counters grow and gauges move with time; the same seed gives the same values', async () => {
  let now = Date.UTC(2026, 0, 1);
  const s = new SyntheticServer({now: () => now});
  const value = (samples: Sample[], name: string) => samples.filter((x) => x.labels.__name__ === name).reduce((sum, x) => sum + x.value, 0);
  const first = samplesOf(await s.metrics(), s.contentType);
  const again = samplesOf(await s.metrics(), s.contentType);
  assert.equal(value(again, 'mattermost_http_requests_total'), value(first, 'mattermost_http_requests_total'), 'no time passed, no traffic');
  const heaps = new Set<number>();
  let previous = first;
  for (let i = 0; i < 20; i++) {
    now += 60_000;
    const next = samplesOf(await s.metrics(), s.contentType);
    for (const name of ['mattermost_http_requests_total', 'mattermost_api_time_count', 'mattermost_db_store_time_count', 'mattermost_process_cpu_seconds_total', 'mattermost_post_total']) {
      assert.ok(value(next, name) >= value(previous, name), `${name} went down`);
    }
    assert.ok(value(next, 'mattermost_http_requests_total') > value(previous, 'mattermost_http_requests_total'), 'a minute without requests');
    heaps.add(value(next, 'go_memstats_heap_inuse_bytes'));
    previous = next;
  }
  assert.ok(heaps.size > 10, 'the heap gauge does not move');
  // A long pause is not replayed in full.
  const before = value(previous, 'mattermost_http_requests_total');
  now += 24 * 3_600_000;
  const after = value(samplesOf(await s.metrics(), s.contentType), 'mattermost_http_requests_total');
  assert.ok(after - before < 25 * 2 * 300 * 1.5, `a day's pause added ${after - before} requests`);

  const a = new SyntheticServer({now: () => 0, seed: 3});
  const b = new SyntheticServer({now: () => 0, seed: 3});
  assert.equal(await a.metrics(), await b.metrics());
});


const bin = ensurePrometheus();

void test('every dashboard panel query has data in a real Prometheus', {skip: bin ? false : 'prometheus not installable (needs root + apt-get)', timeout: 120_000}, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'synthetic-prom-'));
  try {
    const start = Date.UTC(2026, 0, 1, 10);
    let now = start;
    const s = new SyntheticServer({now: () => now});
    const series = new Map<string, {labels: Record<string, string>; samples: Array<{t: number; v: number}>}>();
    // 40 minutes of scrapes every 15 s.
    for (let i = 0; i < 160; i++) {
      for (const x of samplesOf(await s.metrics(), s.contentType)) {
        const labels = {...x.labels, job: 'prometheus', instance: 'mm-1:8067'};
        const k = key(labels);
        let entry = series.get(k);
        if (!entry) series.set(k, (entry = {labels, samples: []}));
        entry.samples.push({t: now, v: x.value});
      }
      now += 15_000;
    }
    const last = now - 15_000;
    writeBlock(path.join(dir, 'data'), series.values());
    const prom = await startPrometheus(bin!, path.join(dir, 'data'));
    try {
      const empty: string[] = [];
      for (const q of UPSTREAM_PANEL_QUERIES) {
        const result = await query(prom, q, last / 1000);
        const finite = result.filter((r: {value: [number, string]}) => Number.isFinite(Number(r.value[1])));
        if (finite.length === 0) empty.push(q);
      }
      assert.deepEqual(empty, [], 'panel queries without data');
      const top = await query(prom, 'topk(10, sum(rate(mattermost_api_time_count[5m])) by (handler))', last / 1000);
      assert.equal(top.length, 10);
    } finally {
      await prom.stop();
    }
  } finally {
    fs.rmSync(dir, {recursive: true, force: true});
  }
});
