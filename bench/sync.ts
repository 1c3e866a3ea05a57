// Block sync benchmark: `BlockSyncer.syncOnce()` of ~1 GiB of blocks to the local backend and
// to s3rver (S3 backend, AWS SDK v3, multipart), for two block layouts with the same total;
// prints MB/s, the syncer's peak RSS (which must stay flat whatever the block size) and the
// time of a second pass (nothing to upload) and of a pass by a new syncer (after a restart).
//
//   node --import tsx bench/sync.ts [--total-mib 1024] [--blocks-mib 128,16] [--segment-mib 512]
//
// The blocks are fake: real TSDB blocks of 1 GiB take too long to generate, so each block dir
// has a valid meta.json (version 1, ULID dir name, a recent 2 h range inside the retention),
// a small random `index`, an empty `tombstones` and `chunks/000001…` segments of random bytes
// (written in 1 MiB pieces filled with crypto.randomFillSync). They would fail verifyBlock, so
// the syncer runs with `verifyLocal: () => []`; everything else is the plugin's code path
// (listing, sha256 while streaming, manifest, meta.json last, post-upload listing check).
//
// As in filestore-write.ts, each (backend, layout) case runs in a fresh child process and
// s3rver runs in a process of its own, so the RSS is the syncer's alone. The block files are
// read from the page cache (they were just written). MB = 10⁶ bytes. Peak RSS is sampled
// every 10 ms during the first pass.

import {spawn} from 'node:child_process';
import {randomFillSync} from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {LocalBackend} from '../server/src/filestore/local.ts';
import {S3Backend} from '../server/src/filestore/s3.ts';
import {rssSampler} from '../server/src/filestore/testing/data.ts';
import {startS3rver, TEST_ACCESS_KEY, TEST_BUCKET, TEST_SECRET_KEY} from '../server/src/filestore/testing/s3.ts';
import {BlockSyncer, type SyncPassResult} from '../server/src/sync/mod.ts';
import {encodeMeta, newULID} from '../server/src/tsdb/block/mod.ts';
import {encodeTombstones} from '../server/src/tsdb/tombstones/tombstones.ts';
import {arg, out} from './cli.ts';

const MiB = 1024 * 1024;
const H = 3_600_000;
const INDEX_BYTES = 256 * 1024;
const RETENTION_DAYS = 15;
const argv = process.argv.slice(2);
const self = new URL(import.meta.url).pathname;

function child(args: string[], onLine?: (line: string) => void): {done: Promise<string>; kill: () => void} {
  const p = spawn(process.execPath, ['--import', 'tsx', self, ...args], {stdio: ['ignore', 'pipe', 'inherit']});
  const done = new Promise<string>((resolve, reject) => {
    let buf = '';
    p.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      let i;
      while (onLine && (i = buf.indexOf('\n')) >= 0) {
        onLine(buf.slice(0, i));
        buf = buf.slice(i + 1);
      }
    });
    p.on('error', reject);
    p.on('exit', (code, sig) => (code === 0 || sig === 'SIGTERM' ? resolve(buf) : reject(new Error(`child ${args.join(' ')} exited with ${code ?? sig}`))));
  });
  return {done, kill: () => p.kill('SIGTERM')};
}

/** Writes `size` random bytes to `file` in 1 MiB pieces (one reused buffer). */
async function writeRandomFile(file: string, size: number, piece: Buffer): Promise<void> {
  const fh = await fs.open(file, 'w');
  try {
    for (let done = 0; done < size; ) {
      const n = Math.min(piece.length, size - done);
      randomFillSync(piece, 0, n);
      await fh.write(piece, 0, n);
      done += n;
    }
  } finally {
    await fh.close();
  }
}

/** `count` fake blocks of `blockMiB` MiB of chunk data each, consecutive 2 h ranges ending an hour ago. */
async function makeFakeBlocks(dataDir: string, count: number, blockMiB: number, segmentMiB: number): Promise<number> {
  await fs.mkdir(dataDir, {recursive: true});
  const piece = Buffer.allocUnsafe(MiB);
  const now = Date.now();
  const end = Math.floor((now - H) / (2 * H)) * 2 * H;
  let bytes = 0;
  for (let i = 0; i < count; i++) {
    const minTime = end - (count - i) * 2 * H;
    const ulid = newULID(now - (count - i));
    const dir = path.join(dataDir, ulid);
    await fs.mkdir(path.join(dir, 'chunks'), {recursive: true});
    for (let seg = 1, left = blockMiB * MiB; left > 0; seg++) {
      const size = Math.min(left, segmentMiB * MiB);
      await writeRandomFile(path.join(dir, 'chunks', String(seg).padStart(6, '0')), size, piece);
      left -= size;
      bytes += size;
    }
    await writeRandomFile(path.join(dir, 'index'), INDEX_BYTES, piece);
    const tombstones = encodeTombstones();
    await fs.writeFile(path.join(dir, 'tombstones'), tombstones);
    const meta = encodeMeta({ulid, minTime, maxTime: minTime + 2 * H, stats: {numSeries: 1}, compaction: {level: 1, sources: [ulid]}, version: 1});
    await fs.writeFile(path.join(dir, 'meta.json'), meta);
    bytes += INDEX_BYTES + tombstones.length + Buffer.byteLength(meta);
  }
  return bytes;
}

interface CaseResult {
  blocks: number;
  bytes: number;
  secs: number;
  baseRssMiB: number;
  peakRssMiB: number;
  secondPassMs: number;
  restartPassMs: number;
}

function check(r: SyncPassResult, what: string, want: string): void {
  const bad = r.error ?? r.blocks.find((b) => b.outcome !== want);
  if (bad) throw new Error(`${what}: expected every block ${want}, got ${JSON.stringify(bad)}`);
}

async function runCase(kind: 'local' | 's3', dataDir: string, endpoint: string): Promise<CaseResult> {
  let backend: LocalBackend | S3Backend;
  let dir: string | undefined;
  if (kind === 'local') {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'bench-sync-store-'));
    backend = new LocalBackend(dir);
  } else {
    backend = new S3Backend({bucket: TEST_BUCKET, endpoint, accessKeyId: TEST_ACCESS_KEY, secretAccessKey: TEST_SECRET_KEY});
  }
  // The fake blocks would fail verifyBlock (random chunks, index without a TOC).
  const syncer = (): BlockSyncer => new BlockSyncer({backend, dataDir, retentionDays: RETENTION_DAYS, periodMinutes: 60, verifyLocal: () => []});
  try {
    const s = syncer();
    const base = process.memoryUsage.rss();
    const rss = rssSampler(10);
    const t0 = process.hrtime.bigint();
    const first = await s.syncOnce();
    const secs = Number(process.hrtime.bigint() - t0) / 1e9;
    const peak = rss.stop();
    check(first, 'first pass', 'uploaded');

    const t1 = process.hrtime.bigint();
    const second = await s.syncOnce();
    const secondPassMs = Number(process.hrtime.bigint() - t1) / 1e6;
    check(second, 'second pass', 'complete');

    // A new syncer (plugin restarted): reads each manifest and hashes the local blocks once.
    const t2 = process.hrtime.bigint();
    const restart = await syncer().syncOnce();
    const restartPassMs = Number(process.hrtime.bigint() - t2) / 1e6;
    check(restart, 'pass of a new syncer', 'complete');
    return {blocks: first.blocks.length, bytes: first.bytesUploaded, secs, baseRssMiB: base / MiB, peakRssMiB: peak / MiB, secondPassMs, restartPassMs};
  } finally {
    await backend.removeAll('plugin-data');
    if (backend instanceof S3Backend) backend.destroy();
    if (dir) await fs.rm(dir, {recursive: true, force: true});
  }
}

async function main(): Promise<void> {
  if (argv[0] === '--serve-s3rver') {
    const srv = await startS3rver();
    out(`ENDPOINT ${srv.endpoint}`);
    process.on('SIGTERM', () => void srv.close().then(() => process.exit(0)));
    return;
  }
  if (argv[0] === '--case') {
    out(JSON.stringify(await runCase(argv[1] as 'local' | 's3', arg('data', ''), arg('endpoint', ''))));
    return;
  }
  const totalMiB = Number(arg('total-mib', '1024'));
  const blockSizes = arg('blocks-mib', '128,16').split(',').map(Number);
  const segmentMiB = Number(arg('segment-mib', '512'));
  const work = await fs.mkdtemp(path.join(os.tmpdir(), 'bench-sync-'));
  let endpoint = '';
  let ready!: () => void;
  const started = new Promise<void>((resolve) => (ready = resolve));
  const server = child(['--serve-s3rver'], (line) => {
    if (line.startsWith('ENDPOINT ')) {
      endpoint = line.slice(9);
      ready();
    }
  });
  await Promise.race([started, server.done]);
  out(`# block sync: ~${totalMiB} MiB of fake blocks per case, node ${process.version}, ${os.cpus().length} CPUs`);
  out('# fake blocks (random chunks, small random index): verifyLocal is () => [] since they would fail verifyBlock');
  out(`# BlockSyncer defaults: 2 blocks × 3 files at once; chunk segments ≤ ${segmentMiB} MiB; S3 backend defaults (5 MiB parts, queue 2)`);
  out('| backend | blocks × MiB | MB synced | first pass (s) | MB/s | RSS before (MiB) | peak RSS (MiB) | growth (MiB) | second pass (ms) | new syncer pass (ms) |');
  out('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  try {
    for (const blockMiB of blockSizes) {
      const count = Math.max(1, Math.round(totalMiB / blockMiB));
      const dataDir = path.join(work, `data-${blockMiB}`);
      const g0 = Date.now();
      const bytes = await makeFakeBlocks(dataDir, count, blockMiB, segmentMiB);
      process.stderr.write(`# generated ${count} blocks × ${blockMiB} MiB (${(bytes / MiB).toFixed(0)} MiB) in ${((Date.now() - g0) / 1000).toFixed(1)} s\n`);
      for (const kind of ['local', 's3'] as const) {
        const r = JSON.parse((await child(['--case', kind, '--data', dataDir, '--endpoint', endpoint]).done).trim()) as CaseResult;
        out(
          `| ${kind === 'local' ? 'local' : 's3rver (S3)'} | ${r.blocks} × ${blockMiB} | ${(r.bytes / 1e6).toFixed(0)} | ${r.secs.toFixed(1)} | ${(r.bytes / 1e6 / r.secs).toFixed(0)} | ` +
            `${r.baseRssMiB.toFixed(0)} | ${r.peakRssMiB.toFixed(0)} | ${(r.peakRssMiB - r.baseRssMiB).toFixed(0)} | ${r.secondPassMs.toFixed(1)} | ${r.restartPassMs.toFixed(0)} |`,
        );
      }
      await fs.rm(dataDir, {recursive: true, force: true});
    }
  } finally {
    server.kill();
    await server.done.catch(() => {});
    await fs.rm(work, {recursive: true, force: true});
  }
}

await main();
