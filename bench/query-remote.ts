// Queries over file-store blocks (issue #8): a node with no local blocks answers
// /api/v1/query_range from the file store. Measured in one run on the same blocks:
//   cold  — first query: list the file store, copy + sha256-verify + open every block, evaluate
//   warm  — the same query again (copies cached and open)
//   prom  — Debian's Prometheus 2.42 serving the same blocks from its data dir (HTTP, warm)
//
//   node --import tsx bench/query-remote.ts [--days 1] [--series 1000] [--runs 5]
//
// Blocks: 2 h each, `series` counters over 10 instances at 60 s, synced to a LocalBackend
// by BlockSyncer. Query: sum by (instance) (rate(bench_requests_total[5m])), step 5 min,
// over the whole range. Medians of `runs`; the ratio is ours ÷ Prometheus.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import {answerQuery} from '../server/src/api/prometheus.ts';
import {LocalBackend} from '../server/src/filestore/mod.ts';
import {RemoteBlockCache} from '../server/src/remote/mod.ts';
import {BlockSyncer} from '../server/src/sync/mod.ts';
import {writeBlock} from '../server/src/tsdb/block/mod.ts';
import {ensurePrometheus, startPrometheus} from '../server/src/tsdb/testing/prometheus.ts';
import {arg, median, out} from './cli.ts';

const H = 3_600_000;
const days = Number(arg('days', '1'));
const seriesCount = Number(arg('series', '1000'));
const runs = Number(arg('runs', '5'));

const bin = ensurePrometheus();
if (!bin) {
  out('prometheus not available');
  process.exit(1);
}
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-query-remote-'));
try {
  const T0 = Date.UTC(2026, 0, 1);
  const blocksDir = path.join(root, 'blocks');
  const nBlocks = days * 12;
  const genStart = performance.now();
  for (let b = 0; b < nBlocks; b++) {
    const from = T0 + b * 2 * H;
    const series = Array.from({length: seriesCount}, (_, s) => ({
      labels: {__name__: 'bench_requests_total', instance: `node-${s % 10}:8067`, handler: `h${s}`},
      samples: Array.from({length: 120}, (_, k) => ({t: from + k * 60_000, v: Math.floor(((from - T0) / 60_000 + k) * (1 + (s % 7)) * 1.3)})),
    }));
    writeBlock(blocksDir, series, {fsync: false, minTime: from, maxTime: from + 2 * H});
  }
  const store = new LocalBackend(path.join(root, 'store'));
  await new BlockSyncer({backend: store, dataDir: blocksDir, retentionDays: 36500, periodMinutes: 60}).syncOnce();
  out(`store: ${nBlocks} blocks × ${seriesCount} series × 120 samples (generated + synced in ${((performance.now() - genStart) / 1000).toFixed(1)} s)`);

  const query = 'sum by (instance) (rate(bench_requests_total[5m]))';
  const params = {query, start: String(T0 / 1000), end: String((T0 + nBlocks * 2 * H) / 1000), step: '300'};
  const cache = new RemoteBlockCache({backend: store, dir: path.join(root, 'cache')});
  const stores = {local: () => null, remote: cache};

  let t = performance.now();
  const first = await answerQuery('range', params, stores);
  const cold = performance.now() - t;
  if (first.body.status !== 'success') throw new Error(JSON.stringify(first.body));
  const st = cache.stats();
  const warm: number[] = [];
  for (let i = 0; i < runs; i++) {
    t = performance.now();
    await answerQuery('range', params, stores);
    warm.push(performance.now() - t);
  }

  fs.cpSync(blocksDir, path.join(root, 'prom'), {recursive: true});
  const prom = await startPrometheus(bin, path.join(root, 'prom'));
  const promTimes: number[] = [];
  try {
    const url = `${prom.url}/api/v1/query_range?${new URLSearchParams(params)}`;
    await (await fetch(url)).json(); // warm-up (Prometheus opens blocks lazily on first read)
    for (let i = 0; i < runs; i++) {
      t = performance.now();
      await (await fetch(url)).json();
      promTimes.push(performance.now() - t);
    }
  } finally {
    await prom.stop();
  }
  cache.close();
  const w = median(warm);
  const p = median(promTimes);
  out(`cold (copy ${st.downloadedBlocks} blocks, ${(st.downloadedBytes / 1e6).toFixed(1)} MB, verify, open, evaluate): ${cold.toFixed(0)} ms (${(st.downloadedBytes / 1e6 / (cold / 1000)).toFixed(0)} MB/s incl. evaluation)`);
  out(`warm: ${w.toFixed(1)} ms   prometheus: ${p.toFixed(1)} ms   ratio warm/prometheus: ${(w / p).toFixed(2)}×   cold/prometheus: ${(cold / p).toFixed(1)}×`);
} finally {
  fs.rmSync(root, {recursive: true, force: true});
}
