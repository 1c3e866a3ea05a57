// Differential test: a real Prometheus (Debian 2.42) scrapes fixed expositions served by
// node:http — from node_exporter, Prometheus' own /metrics, prom-client (text and
// OpenMetrics), Mattermost-like bodies, hand-written edge cases and mutated bodies — and
// what it stored must equal what parse() + applyTargetLabels() produce from the same bytes.
// Skips (with a message) when Prometheus cannot be installed (not root / no apt-get).

import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import type {AddressInfo} from 'node:net';
import os from 'node:os';
import path from 'node:path';
import {after, before, describe, it} from 'node:test';
import zlib from 'node:zlib';
import client from 'prom-client';
import {parse, type ParsedSample, SCRAPE_ACCEPT_HEADER, ScrapeError} from './mod.ts';
import {mutate, seedCorpus} from './testing/fuzz.ts';
import {mattermostExposition, rng} from './testing/mattermost.ts';
import {ensureDebianBinary, promQuery, type Running, startNodeExporter, startPrometheus} from './testing/oracle.ts';

const TEXT = 'text/plain; version=0.0.4; charset=utf-8';
const OM = 'application/openmetrics-text; version=1.0.0; charset=utf-8';
const SYNTHETIC = new Set(['up', 'scrape_duration_seconds', 'scrape_samples_scraped', 'scrape_samples_post_metric_relabeling', 'scrape_series_added']);
const FUZZ_BODIES = Number(process.env.SCRAPE_DIFF_FUZZ ?? 150);

interface Body {
  id: string;
  body: Buffer;
  contentType: string;
  gzip?: boolean;
  /** Extra scrape_config fields (honor_labels, limits…). */
  cfg?: Record<string, unknown>;
  /** Mutated input: only acceptance/content is compared, a few rows may be unverifiable. */
  fuzz?: boolean;
}

async function fetchBody(url: string): Promise<{body: Buffer; contentType: string}> {
  const r = await fetch(url, {headers: {Accept: SCRAPE_ACCEPT_HEADER}});
  return {body: Buffer.from(await r.arrayBuffer()), contentType: r.headers.get('content-type') ?? ''};
}

function promClientRegistries(): Promise<[string, string]> {
  const make = async (ct: string): Promise<string> => {
    // The typings lack the constructor argument (the registry's content type).
    const Reg = client.Registry as unknown as new (contentType: string) => client.Registry;
    const reg = new Reg(ct);
    const om = ct === client.Registry.OPENMETRICS_CONTENT_TYPE;
    const c = new client.Counter({name: 'pc_requests_total', help: 'Requests "q" \\ b\nnl', labelNames: ['method', 'path'], registers: [reg], enableExemplars: om});
    if (om) (c as any).inc({labels: {method: 'GET', path: '/a"b\\c\nd'}, value: 3, exemplarLabels: {traceId: 'abc'}});
    else c.inc({method: 'GET', path: '/a"b\\c\nd'}, 3);
    c.inc({method: 'POST', path: 'é€😀'}, 5);
    const g = new client.Gauge({name: 'pc_gauge', help: 'g', labelNames: ['k'], registers: [reg]});
    g.set({k: 'nan'}, NaN);
    g.set({k: 'inf'}, Infinity);
    g.set({k: 'ninf'}, -Infinity);
    g.set({k: 'small'}, 1e-300);
    g.set({k: 'big'}, 1.7976931348623157e308);
    const h = new client.Histogram({name: 'pc_latency_seconds', help: 'h', buckets: [0.1, 1, 10], labelNames: ['h'], registers: [reg], enableExemplars: om});
    if (om) (h as any).observe({labels: {h: 'x'}, value: 0.5, exemplarLabels: {traceId: 'def'}});
    else h.observe({h: 'x'}, 0.5);
    new client.Summary({name: 'pc_summary', help: 's', percentiles: [0.5, 0.9], registers: [reg]}).observe(3);
    client.collectDefaultMetrics({register: reg});
    return reg.metrics();
  };
  return Promise.all([make(client.Registry.PROMETHEUS_CONTENT_TYPE), make(client.Registry.OPENMETRICS_CONTENT_TYPE)]);
}

function edgeCases(nowMs: number): Body[] {
  const s = (nowMs / 1000).toFixed(3);
  const t = String(nowMs - 1500);
  const cases: [string, string, Record<string, unknown>?][] = [
    // text
    [`a{b="c"} 1 ${t}\nb 2\n`, TEXT],
    [`a { q = "1" , } 1\na{q="2" r="3"} 2\n  x\t{y="z"}\t3\t${t} \n`, TEXT],
    ['e{l="q\\"b\\\\s\\nn\\t\\x"} 1\ne{l="two\nlines"} 2\n', TEXT],
    ['v{k="1"} NaN\nv{k="2"} Nan\nv{k="3"} +Inf\nv{k="4"} -inf\nv{k="5"} .5\nv{k="6"} 5.\nv{k="7"} -0\nv{k="8"} 1e-400\nv{k="9"} 4.9e-324\n', TEXT],
    ['a 0x1p3\n', TEXT],
    ['a 1_0\n', TEXT],
    ['a 1e400\n', TEXT],
    ['a 1\r\n', TEXT],
    ['a{b="1",b="2"} 1\n', TEXT],
    ['a{b="",c="1"} 1\nd{b="",b="x"} 2\n', TEXT],
    ['a{__name__=""} 1\n', TEXT],
    ['a{__name__="b"} 1\n', TEXT],
    ['# TYPE a info\na 1\n', TEXT],
    ['# HELP a x\n# comment\n#comment\n\n\na 1\n\0b 2\n', TEXT],
    ['a{b="x\0y"} 1\n', TEXT],
    ['a 1 -5\n', TEXT],
    ['a 1 1.5\n', TEXT],
    ['{a="b"} 1\n', TEXT],
    ['a{b="\xff"} 1\n', TEXT],
    ['# junk \xff\na 1\n', TEXT],
    ['m{job="exp",instance="x",exported_job="e"} 1\n', TEXT],
    ['m{job="exp",instance="x",exported_job="e"} 1\n', TEXT, {honor_labels: true}],
    [`m{a="1"} 1 ${t}\n`, TEXT, {honor_timestamps: false}],
    ['a 1\nb 2\nc 3\nd 4\n', TEXT, {sample_limit: 3}],
    ['a 1\nb 2\nc 3\n', TEXT, {sample_limit: 3}],
    ['a{b="1",c="2"} 1\n', TEXT, {label_limit: 4}],
    ['a{b="1",c="2"} 1\n', TEXT, {label_limit: 5}],
    ['a{long_label="1"} 1\n', TEXT, {label_name_length_limit: 8}],
    ['a{b="ééé"} 1\n', TEXT, {label_value_length_limit: 5}],
    ['a{b="ééé"} 1\n', TEXT, {label_value_length_limit: 6}],
    ['a 1\n'.repeat(100), TEXT, {body_size_limit: '400B'}],
    ['a 1\n'.repeat(100), TEXT, {body_size_limit: '401B'}],
    ['', TEXT],
    // content-type fallbacks
    ['a 1\n', 'application/openmetrics-text; garbage'],
    ['a 1\n', 'application/json'],
    ['a 1\n', ''],
    // OpenMetrics
    [`# TYPE c counter\n# UNIT c_seconds seconds\nc_total{x="y"} 1 ${s} # {tr="1"} 2 ${s}\nc_created 1.2e9\n# EOF\n`, OM],
    ['# TYPE g gaugehistogram\ng_bucket{le="+Inf"} 1\ng_gcount 1\ng_gsum 0\n# TYPE i info\ni_info{v="1"} 1\n# TYPE st stateset\nst{st="a"} 1\nst{st="b"} 0\n# EOF', OM],
    ['a 1\n', OM],
    ['', OM],
    ['a 1\n# EOF\n\n', OM],
    ['a{b="c",} 1\n# EOF\n', OM],
    ['a  1\n# EOF\n', OM],
    ['# random\n# EOF\n', OM],
    ['\n# EOF\n', OM],
    ['# TYPE a untyped\n# EOF\n', OM],
    ['# UNIT a_seconds bytes\n# EOF\n', OM],
    ['a 1 NaN\n# EOF\n', OM],
    ['a_total 1 # {a="b"} x\n# EOF\n', OM],
    ['a_total 1 # {} 1\n# EOF\n', OM],
    [`a 1 ${s}\nb 2 ${(nowMs / 1000 - 1.0009).toFixed(4)}\n# EOF\n`, OM],
    ['a{b="\\x"} 1\n# EOF\n', OM],
  ];
  // '\xff' marks bodies meant as raw (invalid UTF-8) bytes; the rest is UTF-8.
  return cases.map(([body, contentType, cfg], i) => ({id: `edge${i}`, body: Buffer.from(body, body.includes('\xff') ? 'latin1' : 'utf8'), contentType, cfg}));
}

function key(labels: {name: string; value: string}[]): string {
  return labels.map((l) => `${l.name}=${JSON.stringify(l.value)}`).join(',');
}

const sameValue = (a: number, b: number): boolean => (Number.isNaN(a) && Number.isNaN(b)) || a === b;

function promValue(s: string): number {
  if (s === 'NaN') return NaN;
  if (s === '+Inf') return Infinity;
  if (s === '-Inf') return -Infinity;
  return Number(s);
}

describe('differential: parse() vs a real Prometheus ingesting the same bytes', () => {
  const promBin = ensureDebianBinary('prometheus', 'prometheus', 'prometheus.service');
  const neBin = ensureDebianBinary('prometheus-node-exporter', 'prometheus-node-exporter', 'prometheus-node-exporter.service');
  const skip = !promBin || !neBin ? 'prometheus / prometheus-node-exporter not installable (needs root + apt-get)' : false;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'scrape-diff-'));
  const bodies: Body[] = [];
  let server: http.Server;
  let oracle: Running | undefined;
  let now = 0;
  const up = new Map<string, number>();
  const lastError = new Map<string, string>();
  const stored = new Map<string, Map<string, {values: number[]; times: number[]}>>();

  before(async () => {
    if (skip) return;
    now = Date.now();
    // 1. Capture real bodies once: node_exporter and Prometheus' own /metrics.
    const ne = await startNodeExporter(neBin!);
    try {
      const b = await fetchBody(`${ne.url}/metrics`);
      bodies.push({id: 'node_exporter', ...b, gzip: true});
    } finally {
      await ne.stop();
    }
    const p0 = await startPrometheus(promBin!, dir, {global: {scrape_interval: '1h'}});
    try {
      bodies.push({id: 'prometheus_self', ...(await fetchBody(`${p0.url}/metrics`))});
    } finally {
      await p0.stop();
    }
    const [pcText, pcOM] = await promClientRegistries();
    bodies.push({id: 'promclient_text', body: Buffer.from(pcText), contentType: client.Registry.PROMETHEUS_CONTENT_TYPE});
    bodies.push({id: 'promclient_om', body: Buffer.from(pcOM), contentType: client.Registry.OPENMETRICS_CONTENT_TYPE, gzip: true});
    bodies.push({id: 'mattermost_text', body: Buffer.from(mattermostExposition({series: 1500, format: 'text'})), contentType: TEXT, gzip: true});
    bodies.push({id: 'mattermost_om', body: Buffer.from(mattermostExposition({series: 1500, format: 'openmetrics'})), contentType: OM});
    bodies.push(...edgeCases(now));
    const r = rng(Number(process.env.SCRAPE_DIFF_SEED ?? 99));
    const seeds = seedCorpus();
    for (let i = 0; i < FUZZ_BODIES; i++) {
      bodies.push({id: `fuzz${i}`, body: mutate(seeds[Math.floor(r() * seeds.length)], r), contentType: i % 2 ? OM : TEXT, fuzz: true});
    }
    // 2. Serve them statically.
    const byId = new Map(bodies.map((b) => [b.id, b]));
    server = http.createServer((req, res) => {
      const b = byId.get(req.url!.slice(3));
      if (!b) return void res.writeHead(404).end();
      const headers: Record<string, string> = {};
      if (b.contentType) headers['Content-Type'] = b.contentType;
      if (b.gzip) headers['Content-Encoding'] = 'gzip';
      res.writeHead(200, headers).end(b.gzip ? zlib.gzipSync(b.body) : b.body);
    });
    await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
    const port = (server.address() as AddressInfo).port;
    // 3. One Prometheus job per body; `body` target label identifies the rows.
    oracle = await startPrometheus(promBin!, dir, {
      global: {scrape_interval: '1s', scrape_timeout: '1s'},
      scrape_configs: bodies.map((b) => ({
        job_name: b.id,
        metrics_path: `/b/${b.id}`,
        static_configs: [{targets: [`127.0.0.1:${port}`], labels: {body: b.id}}],
        ...b.cfg,
      })),
    });
    const deadline = Date.now() + 60_000;
    for (;;) {
      const res = await promQuery(oracle, 'up', Date.now() / 1000);
      if (res.length === bodies.length) break;
      if (Date.now() > deadline) throw new Error(`only ${res.length}/${bodies.length} targets scraped`);
      await new Promise((x) => setTimeout(x, 500));
    }
    await new Promise((x) => setTimeout(x, 2500));
    const t = Date.now() / 1000;
    for (const row of await promQuery(oracle, 'up', t)) up.set(row.metric.body, Number(row.value[1]));
    const targets = (await (await fetch(`${oracle.url}/api/v1/targets`)).json()) as any;
    for (const tg of targets.data.activeTargets) lastError.set(tg.labels.body, tg.lastError);
    for (const b of bodies) {
      const m = new Map<string, {values: number[]; times: number[]}>();
      for (const row of await promQuery(oracle, `{body=${JSON.stringify(b.id)}}[1h]`, t)) {
        if (SYNTHETIC.has(row.metric.__name__)) continue;
        const labels = Object.entries(row.metric as Record<string, string>).map(([name, value]) => ({name, value}));
        labels.sort((x, y) => (x.name < y.name ? -1 : 1));
        m.set(key(labels), {values: row.values.map((v: [number, string]) => promValue(v[1])), times: row.values.map((v: [number, string]) => Math.round(v[0] * 1000))});
      }
      stored.set(b.id, m);
    }
  });

  after(async () => {
    await oracle?.stop();
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
    fs.rmSync(dir, {recursive: true, force: true});
  });

  it('every body: same acceptance, same series, same values and exposed timestamps', {skip}, () => {
    const problems: string[] = [];
    let compared = 0;
    let rows = 0;
    for (const b of bodies) {
      const cfg = b.cfg ?? {};
      const limit = typeof cfg.body_size_limit === 'string' ? Number(cfg.body_size_limit.replace('B', '')) : 0;
      const honorLabels = cfg.honor_labels === true;
      const honorTimestamps = cfg.honor_timestamps !== false;
      let ours: ParsedSample[] | null = null;
      let err = '';
      try {
        if (limit > 0 && b.body.length >= limit) throw new ScrapeError('body size limit exceeded');
        ours = parse(b.body, b.contentType, {
          sampleLimit: (cfg.sample_limit as number) ?? 0,
          labelLimit: (cfg.label_limit as number) ?? 0,
          labelNameLengthLimit: (cfg.label_name_length_limit as number) ?? 0,
          labelValueLengthLimit: (cfg.label_value_length_limit as number) ?? 0,
          exemplarNameCheck: true, // Debian's Prometheus 2.42 still had this rule
          target: {
            labels: [
              {name: 'job', value: b.id},
              {name: 'instance', value: '127.0.0.1:0'},
              {name: 'body', value: b.id},
            ],
            honorLabels,
            honorTimestamps,
            scrapeTime: 0,
          },
        }).samples;
      } catch (e) {
        if (!(e instanceof ScrapeError)) throw e;
        err = e.message;
      }
      const promUp = up.get(b.id);
      if (promUp === undefined) {
        problems.push(`${b.id}: no up series`);
        continue;
      }
      compared++;
      if ((ours !== null) !== (promUp === 1)) {
        problems.push(`${b.id}: prometheus up=${promUp} (${lastError.get(b.id)}), ours ${ours ? `accepted ${ours.length} samples` : `rejected: ${err}`}; body ${JSON.stringify(b.body.toString('latin1').slice(0, 300))}`);
        continue;
      }
      if (!ours) continue;
      const promRows = stored.get(b.id)!;
      const want = new Map<string, ParsedSample[]>();
      for (const s of ours) {
        const k = key(s.labels.map((l) => (l.name === 'instance' ? {name: 'instance', value: promInstance(promRows)} : l)));
        (want.get(k) ?? want.set(k, []).get(k)!).push(s);
      }
      for (const [k, ss] of want) {
        rows++;
        const got = promRows.get(k);
        const exposedTs = ss.every((s) => s.timestamp !== 0);
        // Exposed timestamps far from now may be out of bounds for the TSDB (mutated bodies).
        if (exposedTs && ss.some((s) => Math.abs(s.timestamp! - now) > 3600_000)) continue;
        if (!got) {
          problems.push(`${b.id}: Prometheus lacks ${k}`);
          continue;
        }
        if (!got.values.every((v) => sameValue(v, ss[0].value))) problems.push(`${b.id}: ${k} values ${got.values} vs ours ${ss[0].value}`);
        if (exposedTs && !got.times.every((t) => ss.some((s) => s.timestamp === t))) problems.push(`${b.id}: ${k} times ${got.times} vs ours ${ss.map((s) => s.timestamp)}`);
      }
      for (const k of promRows.keys()) if (!want.has(k)) problems.push(`${b.id}: Prometheus has extra ${k}`);
    }
    assert.equal(compared, bodies.length);
    assert.ok(rows > 2000, `compared ${rows} series`);
    assert.deepEqual(problems, []);
  });
});

// Prometheus' instance label is host:port of our server; take it from any stored row.
function promInstance(rows: Map<string, unknown>): string {
  for (const k of rows.keys()) {
    const m = /(?:^|,)instance="([^"]*)"/.exec(k);
    if (m) return m[1];
  }
  return '127.0.0.1:0';
}
