// Importing the Go plugin's Prometheus WAL (tsdb/promwal) against Prometheus' own replay of
// the same WAL: a crafted wal/ like the Go plugin's after 3 h (15k series scraped every 60 s,
// 180 samples each, one samples record per scrape), then
//   ours:        importPrometheusWal (read + group + write blocks), in this process;
//   Prometheus:  2.42 started on a copy of the dir; its "WAL replay completed" duration (it
//                only loads the head into memory, writes no block).
//
//   node --import tsx bench/promwal-import.ts [--series 15000] [--scrapes 180]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {importPrometheusWal} from '../server/src/tsdb/promwal/mod.ts';
import {encodeSegment, type WalRecord} from '../server/src/tsdb/promwal/testing/encode.ts';
import {ensurePrometheus, startPrometheus} from '../server/src/tsdb/testing/prometheus.ts';
import {arg, out} from './cli.ts';

const SERIES = Number(arg('series', '15000'));
const SCRAPES = Number(arg('scrapes', '180'));
const T0 = Math.floor(Date.now() / 7_200_000) * 7_200_000 - 4 * 3_600_000;

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-promwal-'));
try {
  const dir = path.join(root, 'ours', 'data');
  fs.mkdirSync(path.join(dir, 'wal'), {recursive: true});
  const series: WalRecord = {
    series: Array.from({length: SERIES}, (_, i) => ({
      ref: i + 1,
      labels: {__name__: `mattermost_bench_metric_${i % 300}`, instance: 'app-1:8067', job: 'prometheus', handler: `h${Math.floor(i / 300)}`},
    })),
  };
  const records: WalRecord[] = [series];
  for (let k = 0; k < SCRAPES; k++) {
    records.push({samples: Array.from({length: SERIES}, (_, i) => ({ref: i + 1, t: T0 + k * 60_000, v: (i % 3 === 0 ? k : i * 0.001 + k * 1.5)}))});
  }
  // 128 MiB segments, as Prometheus writes them.
  let seg = 0;
  let batch: WalRecord[] = [];
  let bytes = 0;
  const flush = (): void => {
    const b = encodeSegment(batch);
    fs.writeFileSync(path.join(dir, 'wal', String(seg++).padStart(8, '0')), b);
    bytes += b.length;
    batch = [];
  };
  for (const r of records) {
    batch.push(r);
    if (batch.length >= 60) flush();
  }
  if (batch.length) flush();
  out(`WAL: ${SERIES} series × ${SCRAPES} samples = ${(SERIES * SCRAPES / 1e6).toFixed(2)}M samples, ${(bytes / 1048576).toFixed(1)} MiB in ${seg} segment(s)`);
  const copy = path.join(root, 'prom', 'data');
  fs.cpSync(dir, copy, {recursive: true});

  const rss0 = process.memoryUsage().rss;
  const t0 = performance.now();
  const res = importPrometheusWal({dir, minValidTime: null, blockRange: 7_200_000, fsync: true});
  const ours = performance.now() - t0;
  out(`ours: imported ${res.series} series, ${res.samples} samples into ${res.blocks.length} block(s) in ${ours.toFixed(0)} ms (RSS +${((process.memoryUsage().rss - rss0) / 1048576).toFixed(0)} MiB)`);

  const bin = ensurePrometheus();
  if (!bin) {
    out('prometheus: not available (apt-get install prometheus)');
  } else {
    const p = await startPrometheus(bin, copy);
    await p.stop();
    const m = /WAL replay completed.*?total_replay_duration=([0-9.]+)(ms|s|m)/.exec(p.log());
    if (!m) {
      out(`prometheus: no replay duration in its log:\n${p.log().slice(-1500)}`);
    } else {
      const theirs = Number(m[1]) * (m[2] === 's' ? 1000 : m[2] === 'm' ? 60_000 : 1);
      out(`prometheus ${bin.version}: WAL replay ${theirs.toFixed(0)} ms (into memory; no block written)`);
      out(`| ratio ours / Prometheus replay | ${(ours / theirs).toFixed(2)}× |`);
    }
  }
} finally {
  fs.rmSync(root, {recursive: true, force: true});
}
