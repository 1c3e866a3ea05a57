// Head + WAL benchmark (issue: ≥ 1M samples/s on one core, commit p99 of a 15k-sample
// scrape, head memory per active series ≤ Prometheus').
//
//   node --import tsx bench/tsdb-head.ts [--scrapes 120] [--no-prometheus]
//
// Ours: 15k Mattermost-like series (histogram buckets/sum/count and counters labelled
// handler/method/status_code), one scrape every simulated 60 s appended + committed to a
// head with a WAL (fsync 'interval'); the first scrape appends by labels, later ones by
// ref (as Prometheus' scrape cache does). Anchor: Debian's Prometheus scraping the same
// 15k series from a node:http target on 127.0.0.1 every second; bytes per series from
// go_memstats_heap_inuse_bytes (and RSS) before/after, divided by prometheus_tsdb_head_series.

import {spawn} from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import {Head} from '../server/src/tsdb/head/mod.ts';
import {ensurePrometheus} from '../server/src/tsdb/testing/prometheus.ts';
import {arg, flag, out} from './cli.ts';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

// ---- workload ----------------------------------------------------------------------
type LS = Record<string, string>;
const HANDLERS = Array.from({length: 150}, (_, i) => `handler_${['getPosts', 'createPost', 'getUser', 'getChannel', 'login', 'search'][i % 6]}_${i}`);
const METHODS = ['GET', 'POST', 'PUT', 'DELETE'];
const CODES = ['200', '201', '400', '404', '500'];
const LES = ['0.005', '0.01', '0.025', '0.05', '0.1', '0.25', '0.5', '1', '2.5', '5', '10', '+Inf'];

function workload(target: number): LS[] {
  const out: LS[] = [];
  const base = {instance: 'mattermost-1:8067', job: 'mattermost'};
  outer: for (const h of HANDLERS) {
    for (const m of METHODS) {
      for (const c of CODES) {
        for (const le of LES) out.push({__name__: 'mattermost_api_time_bucket', handler: h, method: m, status_code: c, le, ...base});
        out.push({__name__: 'mattermost_api_time_sum', handler: h, method: m, status_code: c, ...base});
        out.push({__name__: 'mattermost_api_time_count', handler: h, method: m, status_code: c, ...base});
        out.push({__name__: 'mattermost_http_requests_total', handler: h, method: m, status_code: c, ...base});
        if (out.length >= target) break outer;
      }
    }
  }
  return out.slice(0, target);
}

const SERIES = workload(15_000);
const N = SERIES.length;
let rng = 42;
const rand = (): number => ((rng = (Math.imul(rng, 1103515245) + 12345) >>> 0) / 2 ** 32);
const values = new Float64Array(N);
function advance(): void {
  for (let i = 0; i < N; i++) {
    const name = SERIES[i].__name__;
    if (name.endsWith('_sum')) values[i] += Math.round(rand() * 5000) / 1000;
    else values[i] += rand() < 0.3 ? Math.floor(rand() * 20) : 0;
  }
}

// ---- ours ------------------------------------------------------------------------
function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

function memNow(): number {
  gc();
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

function runOurs(scrapes: number): {rate: number; first: number; p50: number; p99: number; max: number; perSeries10: number; perSeriesFull: number; walBytes: number} {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-head-'));
  try {
    const m0 = memNow();
    const head = Head.open(path.join(dir, 'mm-wal'), {wal: {fsync: (process.env.BENCH_FSYNC ?? 'interval') as 'interval', fsyncIntervalMs: 1000}});
    const refs = new Array<number>(N);
    let t = Date.UTC(2026, 0, 1);
    const commits: number[] = [];
    let busy = 0;
    let perSeries10 = 0;
    for (let s = 0; s < scrapes; s++) {
      advance();
      const t0 = performance.now();
      const a = head.appender();
      if (s === 0) for (let i = 0; i < N; i++) refs[i] = a.append(SERIES[i], t, values[i]);
      else for (let i = 0; i < N; i++) a.append(refs[i], t, values[i]);
      const c0 = performance.now();
      const r = a.commit();
      const t1 = performance.now();
      if (r.appended !== N) throw new Error(`rejected: ${JSON.stringify(r.rejected)}`);
      commits.push(t1 - c0);
      if (process.env.BENCH_TRACE) out(`scrape ${s} commit ${(t1 - c0).toFixed(2)} ms`);
      busy += t1 - t0;
      t += 60_000;
      if (s === 9) perSeries10 = (memNow() - m0) / N; // (forced GCs here show up in the next commits)
    }
    const perSeriesFull = (memNow() - m0) / N;
    const walBytes = head.wal!.bytesWritten;
    head.close();
    const steady = commits.slice(2);
    return {rate: (scrapes * N) / (busy / 1000), first: commits[0], p50: pct(steady, 50), p99: pct(steady, 99), max: Math.max(...steady), perSeries10, perSeriesFull, walBytes};
  } finally {
    fs.rmSync(dir, {recursive: true, force: true});
  }
}

// ---- Prometheus anchor -----------------------------------------------------------------
function exposition(): string {
  advance();
  let s = '';
  for (let i = 0; i < N; i++) {
    const l = SERIES[i];
    let first = true;
    s += l.__name__ + '{';
    for (const k in l) {
      if (k === '__name__' || k === 'job' || k === 'instance') continue;
      s += (first ? '' : ',') + k + '="' + l[k] + '"';
      first = false;
    }
    s += '} ' + values[i] + '\n';
  }
  return s;
}

async function metric(url: string, name: string): Promise<number> {
  const txt = await (await fetch(`${url}/metrics`)).text();
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(txt);
  return m ? Number(m[1]) : NaN;
}

async function runPrometheus(): Promise<{series: number; heapPerSeries: number; rssPerSeries: number; version: string} | null> {
  const bin = ensurePrometheus();
  if (bin === null) return null;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-prom-'));
  let scrapes = 0;
  const server = http.createServer((_req, res) => {
    scrapes++;
    res.writeHead(200, {'content-type': 'text/plain; version=0.0.4'});
    res.end(exposition());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const tport = (server.address() as {port: number}).port;
  const cfg = path.join(dir, 'prometheus.yml');
  fs.writeFileSync(cfg, 'global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n');
  const port = 20000 + Math.floor(Math.random() * 20000);
  const url = `http://127.0.0.1:${port}`;
  const p = spawn(bin.prometheus, [`--config.file=${cfg}`, `--storage.tsdb.path=${path.join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`], {stdio: 'ignore'});
  const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
  try {
    for (let i = 0; ; i++) {
      try {
        if ((await fetch(`${url}/-/ready`)).ok) break;
      } catch {
        /* starting */
      }
      if (i > 300) throw new Error('prometheus not ready');
      await sleep(100);
    }
    await sleep(3000);
    const heap0 = await metric(url, 'go_memstats_heap_inuse_bytes');
    const rss0 = await metric(url, 'process_resident_memory_bytes');
    fs.writeFileSync(cfg, `global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n  - job_name: mattermost\n    static_configs:\n      - targets: ['127.0.0.1:${tport}']\n`);
    process.kill(p.pid!, 'SIGHUP');
    const deadline = Date.now() + 60_000;
    while (scrapes < 10 && Date.now() < deadline) await sleep(200);
    await sleep(1500);
    const series = await metric(url, 'prometheus_tsdb_head_series');
    const heap1 = await metric(url, 'go_memstats_heap_inuse_bytes');
    const rss1 = await metric(url, 'process_resident_memory_bytes');
    return {series, heapPerSeries: (heap1 - heap0) / series, rssPerSeries: (rss1 - rss0) / series, version: bin.version};
  } finally {
    p.kill('SIGTERM');
    await new Promise((r) => p.once('exit', r));
    server.close();
    fs.rmSync(dir, {recursive: true, force: true});
  }
}

const scrapes = Number(arg('scrapes', '120'));
out(`workload: ${N} series, ${scrapes} scrapes at a simulated 60 s interval (${(N * scrapes) / 1e6} M samples)`);
const ours = runOurs(scrapes);
out(`ours: append+commit ${(ours.rate / 1e6).toFixed(2)} M samples/s (one core, WAL fsync 'interval'); steady-state commit (scrapes ≥ 3) p50 ${ours.p50.toFixed(2)} ms, p99 ${ours.p99.toFixed(2)} ms, max ${ours.max.toFixed(2)} ms per ${N}-sample scrape; first scrape (creates ${N} series) ${ours.first.toFixed(1)} ms`);
out(`ours: head memory ${ours.perSeries10.toFixed(0)} B/series after 10 scrapes, ${ours.perSeriesFull.toFixed(0)} B/series after ${scrapes} (V8 heap + array buffers); WAL ${(ours.walBytes / (N * scrapes)).toFixed(2)} B/sample`);
if (!flag('no-prometheus')) {
  const prom = await runPrometheus();
  if (prom === null) out('prometheus: not available (apt-get install prometheus)');
  else {
    out(`prometheus ${prom.version}: ${prom.series} head series after 10 scrapes (1 s interval); heap_inuse ${prom.heapPerSeries.toFixed(0)} B/series, RSS ${prom.rssPerSeries.toFixed(0)} B/series`);
    out(`ratio ours/prometheus (10 scrapes, heap): ${(ours.perSeries10 / prom.heapPerSeries).toFixed(2)}`);
  }
}
