// Dump build benchmark (issue #6): buildDump() of a synthetic Mattermost-like store in the
// local file store vs the baseline "copy the blocks to a staging dir + tar czf + copy the
// archive into the file store" (upstream's way, with GNU tar/gzip), in the same run.
//
//   node --import tsx bench/dump-build.ts [--days 7] [--nodes 4] [--series 15000] [--gzip 6] [--no-cache]
//
// Defaults are the full workload: 7 days × 4 nodes × 15k series at 60 s. The synced
// store is generated once and kept under .cache/bench-dump-build/<days>d-<nodes>n-<series>s/
// (gitignored; --no-cache regenerates it in a temp dir and removes it). Store: ONE real 2 h block is generated (nodes ×
// series series, 60 s interval, 120
// samples each, ~300 metric names with Mattermost-like labels) and cloned with new ULIDs and
// consecutive 2 h meta.json ranges to cover `days` (12 clones a day), then synced to a
// LocalBackend by BlockSyncer. Cloning keeps the byte sizes and compressibility of real
// blocks (chunk data and index of a real block) without generating 600M samples, which
// takes too long here; the builder never decodes chunks, so the figures are representative.
// Real stores compact into 24 h blocks (fewer, larger files; slightly smaller index total).
//
// Each side runs in a child process; peak RSS: ours = the child's maxRSS (whole Node process,
// ~50 MiB of it is Node + tsx), baseline = GNU time's max RSS of `sh -c 'cp; tar czf; cp'`
// (largest single process). Files are in the page cache (just written). MB = 10⁶ bytes.

import {execFileSync, spawnSync} from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {LocalBackend} from '../server/src/filestore/local.ts';
import {remoteDataDir, remoteDumpDir} from '../server/src/filestore/backend.ts';
import {BlockSyncer} from '../server/src/sync/mod.ts';
import {encodeMeta, newULID, readMetaFile, writeBlock} from '../server/src/tsdb/block/mod.ts';
import {buildDump} from '../server/src/dump/builder.ts';
import {arg, flag, out} from './cli.ts';

const H = 3_600_000;
const MiB = 1024 * 1024;
const argv = process.argv.slice(2);
const self = new URL(import.meta.url).pathname;

async function childBuild(store: string, from: number, to: number, gzip: number): Promise<void> {
  const backend = new LocalBackend(store);
  const t0 = performance.now();
  const r = await buildDump({
    backend,
    from,
    to,
    outPath: `${remoteDumpDir}/bench/dump.tar.gz`,
    metadata: {serverVersion: '10.5.1', diagnosticId: 'abcdefghijklmnopqrstuvwxyz', pluginVersion: '0.8.0', siteName: 'bench'},
    gzipLevel: gzip,
  });
  const secs = (performance.now() - t0) / 1000;
  out(JSON.stringify({secs, bytes: r.bytes, blocks: r.blocks.length, maxRSS: process.resourceUsage().maxRSS * 1024}));
}

function generate(dataDir: string, nodes: number, seriesPerNode: number, start: number): string {
  const names = Array.from({length: 300}, (_, i) => `mattermost_${['http', 'db', 'api', 'cluster', 'process', 'go', 'plugin', 'websocket'][i % 8]}_metric_${i}`);
  const series = [];
  for (let n = 0; n < nodes; n++) {
    for (let s = 0; s < seriesPerNode; s++) {
      const name = names[s % names.length];
      const labels: Record<string, string> = {__name__: name, instance: `mm-node-${n}.internal:8067`, job: 'mattermost', handler: `h${(s / names.length) | 0}`};
      if (s % 3 === 0) labels.le = String([0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10][(s / 7) % 8 | 0]);
      let v = s * 10;
      series.push({
        labels,
        samples: Array.from({length: 120}, (_, k) => {
          if (s % 2 === 0) v += (k * 7 + s) % 13; // counter
          else v = ((s * 31 + k * 17) % 1000) / 10; // gauge
          return {t: start + k * 60_000 + ((s * 13 + k * 7) % 40), v}; // scrape jitter
        }),
      });
    }
  }
  return writeBlock(dataDir, series, {fsync: false, minTime: start, maxTime: start + 2 * H}).dir;
}

function cloneBlock(src: string, dataDir: string, minTime: number): void {
  const ulid = newULID(minTime);
  const dst = path.join(dataDir, ulid);
  fs.cpSync(src, dst, {recursive: true});
  const m = readMetaFile(src);
  fs.writeFileSync(path.join(dst, 'meta.json'), encodeMeta({...m, ulid, minTime, maxTime: minTime + 2 * H, compaction: {level: 1, sources: [ulid]}}));
}

async function main(): Promise<void> {
  if (argv[0] === '--child') {
    await childBuild(argv[1], Number(argv[2]), Number(argv[3]), Number(argv[4]));
    return;
  }
  const days = Number(arg('days', '7'));
  const nodes = Number(arg('nodes', '4'));
  const perNode = Number(arg('series', '15000'));
  const gzip = Number(arg('gzip', '6'));
  const useCache = !flag('no-cache');
  const root = useCache
    ? path.join(import.meta.dirname, '..', '.cache', 'bench-dump-build', `${days}d-${nodes}n-${perNode}s`)
    : fs.mkdtempSync(path.join(os.tmpdir(), 'bench-dump-'));
  try {
    const store = path.join(root, 'store');
    const cacheFile = path.join(root, 'store.json');
    let cached: {start: number; end: number; storeBytes: number; genSecs: number; syncSecs: number} | null = null;
    if (useCache && fs.existsSync(cacheFile)) cached = JSON.parse(fs.readFileSync(cacheFile, 'utf8')) as typeof cached;
    if (!cached) {
      fs.rmSync(root, {recursive: true, force: true});
      fs.mkdirSync(root, {recursive: true});
      const windows = days * 12;
      const end = Math.floor(Date.now() / (2 * H)) * 2 * H - 2 * H;
      const start = end - windows * 2 * H;
      const dataDir = path.join(root, 'data');
      let t = performance.now();
      const proto = generate(path.join(root, 'proto'), nodes, perNode, start);
      const genSecs = (performance.now() - t) / 1000;
      for (let i = 0; i < windows; i++) cloneBlock(proto, dataDir, start + i * 2 * H);
      const backend = new LocalBackend(store);
      t = performance.now();
      const sync = await new BlockSyncer({backend, dataDir, retentionDays: days + 2, periodMinutes: 60, verifyLocal: () => []}).syncOnce();
      if (sync.error || sync.failed) throw new Error(`sync failed: ${sync.error ?? JSON.stringify(sync.blocks.filter((b) => b.outcome === 'failed'))}`);
      const syncSecs = (performance.now() - t) / 1000;
      const storeBytes = Number(execFileSync('du', ['-sb', path.join(store, ...remoteDataDir.split('/'))], {encoding: 'utf8'}).split('\t')[0]);
      fs.rmSync(dataDir, {recursive: true, force: true});
      fs.rmSync(path.join(root, 'proto'), {recursive: true, force: true});
      cached = {start, end, storeBytes, genSecs, syncSecs};
      fs.writeFileSync(cacheFile, JSON.stringify(cached));
    }
    const {start, end, storeBytes} = cached;
    // Results of an earlier, interrupted run must not add to the store.
    fs.rmSync(path.join(store, ...remoteDumpDir.split('/')), {recursive: true, force: true});
    out(
      `store: ${days} d × ${nodes} nodes × ${perNode} series, 60 s: ${days * 12} blocks of 2 h (1 generated in ${cached.genSecs.toFixed(1)} s, cloned), ` +
        `${(storeBytes / 1e6).toFixed(0)} MB; synced in ${cached.syncSecs.toFixed(1)} s${useCache ? ' (cached under ' + path.relative(process.cwd(), root) + ')' : ''}`,
    );
    // Baseline: copy blocks to staging (like upstream's copyFromFileStore), tar czf, upload (copy), clean up.
    const staging = path.join(root, 'staging');
    const remote = path.join(store, ...remoteDataDir.split('/'));
    const dumpDst = path.join(store, ...remoteDumpDir.split('/'), 'baseline');
    fs.mkdirSync(dumpDst, {recursive: true});
    const script = `set -e; rm -rf "$1"; mkdir -p "$1/data"; cp -r "$2"/. "$1/data"/; tar czf "$1/dump.tar.gz" -C "$1/data" .; cp "$1/dump.tar.gz" "$3/tsdb_dump.tar.gz"; rm -rf "$1"`;
    const t = performance.now();
    const b = spawnSync('/usr/bin/time', ['-f', '%M', 'sh', '-c', script, 'sh', staging, remote, dumpDst], {encoding: 'utf8', env: {...process.env, GZIP: `-${gzip}`}});
    const baseSecs = (performance.now() - t) / 1000;
    if (b.status !== 0) throw new Error(`baseline failed: ${b.stderr}`);
    const baseRSS = Number(b.stderr.trim().split('\n').at(-1)) * 1024;
    const baseBytes = fs.statSync(path.join(dumpDst, 'tsdb_dump.tar.gz')).size;

    const c = spawnSync(process.execPath, ['--import', 'tsx', self, '--child', store, String(start), String(end), String(gzip)], {encoding: 'utf8', maxBuffer: 1 << 20});
    if (c.status !== 0) throw new Error(`child failed: ${c.stderr}`);
    const ours = JSON.parse(c.stdout.trim().split('\n').at(-1)!) as {secs: number; bytes: number; blocks: number; maxRSS: number};

    out(`baseline copy + tar czf (gzip -${gzip}): ${baseSecs.toFixed(1)} s, ${(baseBytes / 1e6).toFixed(0)} MB, peak RSS ${(baseRSS / MiB).toFixed(0)} MiB (largest process)`);
    out(`buildDump (gzip ${gzip}):              ${ours.secs.toFixed(1)} s, ${(ours.bytes / 1e6).toFixed(0)} MB, ${ours.blocks} blocks, peak RSS ${(ours.maxRSS / MiB).toFixed(0)} MiB (whole node process)`);
    out(`time ratio ours/baseline: ${(ours.secs / baseSecs).toFixed(2)}× (target ≤ 1.2×); RSS ratio ours/baseline: ${(ours.maxRSS / baseRSS).toFixed(1)}× (target: ours < 256 MiB: ${ours.maxRSS < 256 * MiB ? 'met' : 'MISSED'})`);
    fs.rmSync(path.join(store, ...remoteDumpDir.split('/')), {recursive: true, force: true});
  } finally {
    if (!useCache) fs.rmSync(root, {recursive: true, force: true});
  }
}

await main();
