// Scrape benchmark: fetch + read + parse + append + commit of a 15k-series Mattermost-like
// exposition by our ScrapeLoop into a DB (WAL in a temp dir, fsync 'interval' as the plugin
// runs it), against Prometheus' own scrape_duration_seconds for the same target.
//
//   node --import tsx bench/scrape-append.ts [--series 15000] [--scrapes 100] [--gap-ms 100]
//                                            [--prom-seconds 30] [--gzip] [--no-prometheus]
//
// The target is a node:http server in a worker thread (so serving does not run on the
// scraping thread, as with a real Mattermost) on 127.0.0.1. It serves text 0.0.4 from 16
// precomputed variants of mattermostExposition() in turn: every third sample's value grows
// by 1 per scrape (slowly changing counters), and every 16th scrape they drop back (a
// counter reset, harmless here). With --gzip, bodies are gzipped once up front and served
// compressed to clients that accept it (both scrapers do), as Mattermost's promhttp would.
//
// Phases run one after the other so they do not compete for the CPU:
//   1. ours: `ScrapeLoop.scrapeOnce()` N times with `--gap-ms` between scrapes. Reported:
//      wall time of scrapeOnce() (everything, commit included), and our own
//      scrape_duration_seconds (health.lastDurationMs), which is measured like Prometheus':
//      from before the request to after the last sample is staged — the commit is not in it.
//   2. Prometheus (Debian 2.42 via tsdb/testing/prometheus.ts): scrapes the target every 2 s
//      for --prom-seconds; its raw scrape_duration_seconds samples are read back with a
//      range-vector query (`…[10m]` via /api/v1/query: the stored samples themselves, which
//      query_range would resample at its step).
// First scrapes (series creation on both sides) are printed separately and excluded from
// the median / p99. For ours the longest event-loop stall during each scrape is printed too
// (largest gap between ticks of a 1 ms interval timer), first scrape and steady ones.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {Worker} from 'node:worker_threads';
import zlib from 'node:zlib';

import {ScrapeLoop, type ScrapeConfig} from '../server/src/scrape/mod.ts';
import {mattermostExposition} from '../server/src/scrape/parser/testing/mattermost.ts';
import {DB} from '../server/src/tsdb/db.ts';
import {ensurePrometheus, startPrometheus} from '../server/src/tsdb/testing/prometheus.ts';
import {arg, flag, out} from './cli.ts';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const seriesTarget = Number(arg('series', '15000'));
const scrapes = Number(arg('scrapes', '100'));
const gapMs = Number(arg('gap-ms', '100'));
const promSeconds = Number(arg('prom-seconds', '30'));
const gzip = flag('gzip');
const JOB = 'mattermost_bench';
const VARIANTS = 16;

function quantile(xs: readonly number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
}

// ---- target ----------------------------------------------------------------------------
function variants(): {bodies: Buffer[]; samples: number} {
  const lines = mattermostExposition({series: seriesTarget, format: 'text'}).split('\n');
  let samples = 0;
  for (const l of lines) if (l !== '' && !l.startsWith('#')) samples++;
  const bodies: Buffer[] = [];
  for (let k = 0; k < VARIANTS; k++) {
    let i = 0;
    const text = lines
      .map((l) => {
        if (l === '' || l.startsWith('#')) return l;
        const sp = l.lastIndexOf(' ');
        const v = Number(l.slice(sp + 1));
        return i++ % 3 === 0 ? `${l.slice(0, sp)} ${v + k}` : l;
      })
      .join('\n');
    bodies.push(gzip ? zlib.gzipSync(text) : Buffer.from(text));
  }
  return {bodies, samples};
}

// Plain JS (workers do not inherit tsx's loader): serve the bodies in turn.
const serverSource = `
'use strict';
const http = require('node:http');
const {parentPort, workerData} = require('node:worker_threads');
const {bodies, gzip} = workerData;
let n = 0;
const server = http.createServer((req, res) => {
  const body = bodies[n++ % bodies.length];
  const headers = {'content-type': 'text/plain; version=0.0.4; charset=utf-8'};
  if (gzip) headers['content-encoding'] = 'gzip'; // both scrapers send Accept-Encoding: gzip
  headers['content-length'] = body.length;
  res.writeHead(200, headers);
  res.end(body);
});
server.listen(0, '127.0.0.1', () => parentPort.postMessage(server.address().port));
parentPort.on('message', () => server.close(() => process.exit(0)));
`;

async function startTarget(bodies: Buffer[]): Promise<{url: string; stop: () => Promise<void>}> {
  const worker = new Worker(serverSource, {eval: true, workerData: {bodies, gzip}});
  const port = await new Promise<number>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  return {
    url: `http://127.0.0.1:${port}/metrics`,
    stop: async () => {
      const exited = new Promise((r) => worker.once('exit', r));
      worker.postMessage('stop');
      await exited;
    },
  };
}

// ---- ours -------------------------------------------------------------------------------
interface Timings {
  first: number;
  steady: number[];
}

/**
 * The longest event-loop stall while `run` was in flight (the plugin must answer yamux pings
 * and serve the dashboard meanwhile): the largest gap between ticks of a 1 ms interval, the
 * gap that ends after `run` included.
 */
async function maxStallMs(run: () => Promise<void>): Promise<number> {
  let last = performance.now();
  let max = 0;
  const tick = (): void => {
    const now = performance.now();
    max = Math.max(max, now - last);
    last = now;
  };
  const probe = setInterval(tick, 1);
  try {
    await run();
    await sleep(2); // let the probe see the gap that ends with run
  } finally {
    clearInterval(probe);
  }
  return max;
}

async function runOurs(url: string): Promise<{wall: Timings; own: Timings; stall: Timings; series: number; samples: number}> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-scrape-'));
  const db = DB.open({dir});
  try {
    const config: ScrapeConfig = {
      intervalMs: 60_000,
      timeoutMs: 10_000,
      honorLabels: false,
      honorTimestamps: true,
      bodySizeLimit: 1 << 30,
      sampleLimit: 0,
      labelLimit: 0,
      labelNameLengthLimit: 0,
      labelValueLengthLimit: 0,
    };
    const loop = new ScrapeLoop({job: JOB, instance: new URL(url).host, url}, db, config);
    const wall: number[] = [];
    const own: number[] = [];
    const stall: number[] = [];
    for (let i = 0; i < scrapes + 1; i++) {
      const t0 = performance.now();
      stall.push(await maxStallMs(() => loop.scrapeOnce()));
      wall.push(performance.now() - t0);
      own.push(loop.health.lastDurationMs ?? NaN);
      if (loop.health.health !== 'up') throw new Error(`scrape failed: ${loop.health.lastError}`);
      if (loop.health.rejected > 0) throw new Error(`store rejected ${loop.health.rejected} samples`);
      await sleep(gapMs);
    }
    const samples = loop.health.samples;
    await loop.stop(false);
    return {wall: {first: wall[0], steady: wall.slice(1)}, own: {first: own[0], steady: own.slice(1)}, stall: {first: stall[0], steady: stall.slice(1)}, series: db.head.stats().series, samples};
  } finally {
    await db.close();
    fs.rmSync(dir, {recursive: true, force: true});
  }
}

// ---- Prometheus -------------------------------------------------------------------------
async function runPrometheus(url: string): Promise<{version: string; durations: Timings} | null> {
  const bin = ensurePrometheus();
  if (bin === null) return null;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-scrape-prom-'));
  const data = path.join(dir, 'data');
  const prom = await startPrometheus(bin, data);
  try {
    const cfg = fs.readdirSync(dir).find((f) => /^prometheus-\d+\.yml$/.test(f));
    if (cfg === undefined) throw new Error('prometheus config file not found');
    const u = new URL(url);
    fs.writeFileSync(
      path.join(dir, cfg),
      `global:\n  scrape_interval: 2s\n  scrape_timeout: 2s\nscrape_configs:\n  - job_name: ${JOB}\n    metrics_path: ${u.pathname}\n    static_configs:\n      - targets: ['${u.host}']\n`,
    );
    process.kill(prom.pid, 'SIGHUP');
    await sleep(promSeconds * 1000);
    const q = `scrape_duration_seconds{job="${JOB}"}[10m]`;
    const r = await fetch(`${prom.url}/api/v1/query?query=${encodeURIComponent(q)}&time=${Date.now() / 1000}`);
    const j = (await r.json()) as {status: string; data: {result: Array<{values: Array<[number, string]>}>}};
    if (j.status !== 'success' || j.data.result.length !== 1) throw new Error(`query ${q}: ${JSON.stringify(j).slice(0, 500)}`);
    const ms = j.data.result[0].values.map(([, v]) => Number(v) * 1000);
    const up = await fetch(`${prom.url}/api/v1/query?query=${encodeURIComponent(`up{job="${JOB}"}`)}`);
    const upv = ((await up.json()) as {data: {result: Array<{value: [number, string]}>}}).data.result[0]?.value[1];
    if (upv !== '1') throw new Error(`prometheus could not scrape the target (up=${upv}):\n${prom.log().slice(-2000)}`);
    return {version: bin.version, durations: {first: ms[0], steady: ms.slice(1)}};
  } finally {
    await prom.stop(); // SIGTERM to its pid (SIGKILL after 10 s)
    fs.rmSync(dir, {recursive: true, force: true});
  }
}

// ---- main --------------------------------------------------------------------------------
const {bodies, samples} = variants();
const target = await startTarget(bodies);
try {
  out(`target: ${samples} samples, ${(bodies[0].length / 1e6).toFixed(2)} MB per body${gzip ? ' (gzip)' : ''}, ${target.url}`);
  const ours = await runOurs(target.url);
  const fmt = (t: Timings): string => `first ${t.first.toFixed(1)} ms, then median ${quantile(t.steady, 0.5).toFixed(2)} ms, p99 ${quantile(t.steady, 0.99).toFixed(2)} ms (n=${t.steady.length})`;
  out(`ours: ${ours.samples} samples/scrape, ${ours.series} head series`);
  out(`ours: scrapeOnce() wall time (fetch+read+parse+append+commit): ${fmt(ours.wall)}`);
  out(`ours: scrape_duration_seconds (as Prometheus measures it, commit excluded): ${fmt(ours.own)}`);
  out(`ours: longest event-loop stall during a scrape: ${fmt(ours.stall)}, max ${Math.max(...ours.stall.steady).toFixed(1)} ms`);
  const prom = flag('no-prometheus') ? undefined : await runPrometheus(target.url);
  if (prom === null) {
    out('prometheus: not available (apt-get install prometheus)');
  } else if (prom !== undefined) {
    const p = prom.durations;
    out(`prometheus ${prom.version}: scrape_duration_seconds: ${fmt(p)}`);
    const r = (a: number[], b: number[], q: number): string => (quantile(a, q) / quantile(b, q)).toFixed(2);
    out('');
    out(`| ratio ours/prometheus (target ≤ 1.0×) | median | p99 |`);
    out(`| --- | --- | --- |`);
    out(`| scrapeOnce() wall time / scrape_duration_seconds | ${r(ours.wall.steady, p.steady, 0.5)}× | ${r(ours.wall.steady, p.steady, 0.99)}× |`);
    out(`| scrape_duration_seconds / scrape_duration_seconds | ${r(ours.own.steady, p.steady, 0.5)}× | ${r(ours.own.steady, p.steady, 0.99)}× |`);
    out(`| first scrape (series creation), wall / Prometheus | ${(ours.wall.first / p.first).toFixed(2)}× | |`);
  }
} finally {
  await target.stop();
}
