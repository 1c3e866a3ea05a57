// The 36 upstream panel queries (issue #8) as range queries over N days of 4-node
// Mattermost-like data: our evaluator vs Debian's Prometheus 2.42 on the same blocks.
//
//   node --import tsx bench/promql.ts [--days 1] [--step 60] [--runs 3]
//
// Ours: rangeQuery + toPrometheusData + JSON.stringify in-process over the opened blocks.
// Prometheus: POST /api/v1/query_range on 127.0.0.1 (includes its HTTP + JSON, which is
// small next to evaluation). Medians of `runs` after one warm-up; ratio = ours ÷ Prometheus.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import {rangeQuery, toPrometheusData} from '../server/src/promql/mod.ts';
import {promQuery} from '../server/src/promql/testing/compare.ts';
import {openBlocksSource, writeFixtureBlocks} from '../server/src/promql/testing/fixture.ts';
import {UPSTREAM_PANEL_QUERIES} from '../server/src/promql/testing/queries.ts';
import {ensurePrometheus, startPrometheus} from '../server/src/tsdb/testing/prometheus.ts';
import {arg, median, out} from './cli.ts';

const H = 3_600_000;
const days = Number(arg('days', '1'));
const stepS = Number(arg('step', '60'));
const runs = Number(arg('runs', '3'));

const bin = ensurePrometheus();
if (!bin) {
  out('prometheus not available');
  process.exit(1);
}
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-promql-'));
try {
  const T0 = Date.UTC(2026, 0, 1);
  const genStart = performance.now();
  const data = path.join(root, 'ours');
  const dirs = writeFixtureBlocks(data, {t0: T0, hours: days * 24, nodes: 4, intervalMs: () => 60_000});
  out(`data: ${days} day(s), 4 nodes at 60 s, ${dirs.length} blocks (generated in ${((performance.now() - genStart) / 1000).toFixed(1)} s)`);
  const source = openBlocksSource(dirs);
  const copy = path.join(root, 'prometheus');
  fs.cpSync(data, copy, {recursive: true});
  const prom = await startPrometheus(bin, copy);
  try {
    const start = T0;
    const end = T0 + days * 24 * H;
    const params = {start: String(start / 1000), end: String(end / 1000), step: String(stepS)};
    out(`range ${days * 24} h, step ${stepS} s, median of ${runs}`);
    out('| query | ours (ms) | Prometheus (ms) | ratio |');
    out('| --- | --- | --- | --- |');
    let sumOurs = 0;
    let sumProm = 0;
    const ratios: number[] = [];
    for (const q of UPSTREAM_PANEL_QUERIES) {
      const timeOurs = async (): Promise<number> => {
        const t = performance.now();
        JSON.stringify(toPrometheusData(await rangeQuery(source, q, start, end, stepS * 1000)));
        return performance.now() - t;
      };
      const timeProm = async (): Promise<number> => {
        const t = performance.now();
        const r = await promQuery(prom, {query: q, ...params}, 'query_range');
        if (!r.ok) throw new Error(`prometheus: ${r.error}`);
        return performance.now() - t;
      };
      await timeOurs();
      await timeProm();
      const o: number[] = [];
      const p: number[] = [];
      for (let i = 0; i < runs; i++) {
        o.push(await timeOurs());
        p.push(await timeProm());
      }
      const mo = median(o);
      const mp = median(p);
      sumOurs += mo;
      sumProm += mp;
      ratios.push(mo / mp);
      out(`| \`${q.length > 70 ? q.slice(0, 67) + '...' : q}\` | ${mo.toFixed(1)} | ${mp.toFixed(1)} | ${(mo / mp).toFixed(2)}× |`);
    }
    const geo = Math.exp(ratios.reduce((a, r) => a + Math.log(r), 0) / ratios.length);
    out(`total: ours ${sumOurs.toFixed(0)} ms, Prometheus ${sumProm.toFixed(0)} ms, ratio ${(sumOurs / sumProm).toFixed(2)}× (geometric mean of per-query ratios ${geo.toFixed(2)}×)`);
    out(`queries slower than Prometheus (ratio > 1.00×): ${ratios.filter((r) => r > 1).length} of ${ratios.length}, worst ${Math.max(...ratios).toFixed(2)}×`);
  } finally {
    await prom.stop();
  }
} finally {
  fs.rmSync(root, {recursive: true, force: true});
}
