// Compaction benchmark: 12 × 2h blocks of 15k Mattermost-like series (60 s interval,
// one UTC day) compacted into one 24h block by compact() (plan → merge → verify → delete
// parents), in a child process so its peak RSS is the compaction's alone.
//
//   node --import tsx bench/tsdb-compact.ts [--series 15000] [--blocks 12] [--jitter]
//
// Anchor: there is no fair Prometheus figure for the same work (Prometheus compacts on a
// 1-minute timer and with 2h/6h/18h ranges never produces this 24h block), so we print
// bytes/sample before and after (fewer indexes) and, when promtool is on PATH, the time
// `promtool tsdb analyze` needs to read the 12 inputs vs the compacted block.

import {spawnSync} from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {fileURLToPath} from 'node:url';
import {type Sample, type SeriesInput, writeBlock} from '../server/src/tsdb/block/mod.ts';
import {compact} from '../server/src/tsdb/compact/mod.ts';
import {dataDirStats, listDataDir} from '../server/src/tsdb/retention/mod.ts';
import {arg, flag, out} from './cli.ts';

const H = 3_600_000;
const argv = process.argv.slice(2);

if (argv[0] === '--child') {
  // The measured part: compact one data dir, report JSON on stdout.
  const t0 = performance.now();
  const res = compact(argv[1], {ranges: [2 * H, 24 * H], excludeNewest: false});
  const ms = performance.now() - t0;
  out(JSON.stringify({ms, maxRssKiB: process.resourceUsage().maxRSS, created: res.created, errors: res.errors}));
  process.exit(0);
}

const SERIES = Number(arg('series', '15000'));
const BLOCKS = Number(arg('blocks', '12'));
const jitter = flag('jitter');
const DAY0 = Date.UTC(2025, 2, 10);
const FAMILIES = [
  'mattermost_http_request_duration_seconds_bucket',
  'mattermost_db_store_time_bucket',
  'mattermost_api_time_bucket',
  'mattermost_cluster_event_type_totals',
  'mattermost_post_total',
  'mattermost_websocket_broadcasts_total',
  'go_memstats_alloc_bytes',
  'process_cpu_seconds_total',
];
const LE = ['0.005', '0.01', '0.025', '0.05', '0.1', '0.25', '0.5', '1', '2.5', '5', '10', '+Inf'];

function series(block: number): SeriesInput[] {
  const list: SeriesInput[] = [];
  for (let s = 0; s < SERIES; s++) {
    const fam = FAMILIES[s % FAMILIES.length];
    const samples: Sample[] = [];
    const t0 = DAY0 + block * 2 * H;
    for (let i = 0; i < 120; i++) {
      const k = block * 120 + i;
      const t = t0 + i * 60_000 + (jitter ? ((s * 7 + i * 13) % 21) - 10 : 0);
      const v = fam.endsWith('bytes') ? 4e8 + ((k * 7919 + s) % 1000) * 4096 : Math.floor(k * (1 + (s % 5)) + (s % 13));
      samples.push({t, v});
    }
    list.push({
      labels: {
        __name__: fam,
        instance: `app-${s % 3}:8067`,
        job: 'mattermost',
        handler: `/api/v4/h${Math.floor(s / (FAMILIES.length * LE.length))}_${Math.floor(s / FAMILIES.length) % LE.length}`,
        le: fam.endsWith('_bucket') ? LE[Math.floor(s / FAMILIES.length) % LE.length] : '',
        shard: String(Math.floor(s / 3200)),
      },
      samples,
    });
  }
  return list;
}

function promtoolAnalyzeMs(dataDir: string, ulids: string[]): number | null {
  const which = spawnSync('sh', ['-c', 'command -v promtool'], {encoding: 'utf8'});
  if (which.status !== 0) return null;
  const t0 = performance.now();
  for (const u of ulids) {
    const r = spawnSync('promtool', ['tsdb', 'analyze', dataDir, u], {encoding: 'utf8', maxBuffer: 1 << 28});
    if (r.status !== 0) throw new Error(`promtool analyze: ${r.stderr}`);
  }
  return performance.now() - t0;
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-compact-'));
try {
  const data = path.join(tmp, 'data');
  const tg = performance.now();
  let samples = 0;
  for (let b = 0; b < BLOCKS; b++) {
    const r = writeBlock(data, series(b), {minTime: DAY0 + b * 2 * H, maxTime: DAY0 + (b + 1) * 2 * H});
    samples += r.meta.stats!.numSamples!;
  }
  const before = dataDirStats(data);
  const inputs = listDataDir(data).blocks.map((b) => b.ulid);
  out(`input: ${BLOCKS} × 2h blocks, ${SERIES} series, ${samples} samples, ${before.bytes} bytes (${(before.bytes / samples).toFixed(3)} B/sample); generated in ${((performance.now() - tg) / 1000).toFixed(1)} s`);
  const anaBefore = promtoolAnalyzeMs(data, inputs);

  const self = fileURLToPath(import.meta.url);
  const child = spawnSync(process.execPath, ['--import', 'tsx', self, '--child', data], {encoding: 'utf8', maxBuffer: 1 << 26});
  if (child.status !== 0) throw new Error(`child failed: ${child.stderr}`);
  const r = JSON.parse(child.stdout.trim().split('\n').pop()!) as {ms: number; maxRssKiB: number; created: {ulid: string; numSamples: number}[]; errors: unknown[]};
  if (r.errors.length) throw new Error(`compaction errors: ${JSON.stringify(r.errors)}`);
  const after = dataDirStats(data);
  const outBlocks = listDataDir(data).blocks;
  out(`compact(): ${(r.ms / 1000).toFixed(2)} s (${((samples / r.ms) * 1000 / 1e6).toFixed(2)} M samples/s), peak RSS ${(r.maxRssKiB / 1024).toFixed(0)} MiB, incl. verifyBlock and deleting the parents`);
  out(`output: ${outBlocks.length} block(s) [${outBlocks.map((b) => `${(b.meta.maxTime - b.meta.minTime) / H}h level ${b.meta.compaction.level}`).join(', ')}], ${r.created.at(-1)?.numSamples} samples, ${after.bytes} bytes (${(after.bytes / samples).toFixed(3)} B/sample)`);
  const anaAfter = promtoolAnalyzeMs(data, outBlocks.map((b) => b.ulid));
  if (anaBefore !== null && anaAfter !== null) {
    out(`promtool tsdb analyze: 12 inputs ${(anaBefore / 1000).toFixed(2)} s, compacted block ${(anaAfter / 1000).toFixed(2)} s`);
  } else {
    out('promtool not on PATH: no analyze figures');
  }
} finally {
  fs.rmSync(tmp, {recursive: true, force: true});
}
