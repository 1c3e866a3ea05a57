// File-store write benchmark: 1 GiB of "blocks" (files read with createReadStream) streamed to the local backend and
// to s3rver (S3 backend, AWS SDK v3, multipart), for several file sizes; prints MB/s and the
// writer's peak RSS, which must stay flat whatever the file size.
//
//   node --import tsx bench/filestore-write.ts [--total-mib 1024] [--sizes 4,32,256]
//
// Each (backend, file size) case runs in a fresh child process, so one case's heap does not
// hide the next one's growth; s3rver runs in its own process too, so the RSS is the writer's
// alone. MB = 10⁶ bytes. Peak RSS is sampled every 10 ms.

import {spawn} from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {LocalBackend} from '../server/src/filestore/local.ts';
import {S3Backend} from '../server/src/filestore/s3.ts';
import {randomBytes} from 'node:crypto';
import {createReadStream} from 'node:fs';
import {rssSampler} from '../server/src/filestore/testing/data.ts';
import {startS3rver, TEST_ACCESS_KEY, TEST_BUCKET, TEST_SECRET_KEY} from '../server/src/filestore/testing/s3.ts';
import {arg, out} from './cli.ts';

const MiB = 1024 * 1024;
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

interface CaseResult {
  mbps: number;
  baseRssMiB: number;
  peakRssMiB: number;
}

async function runCase(kind: 'local' | 's3', fileMiB: number, totalMiB: number, endpoint: string, sourceFile: string): Promise<CaseResult> {
  const files = Math.max(1, Math.round(totalMiB / fileMiB));
  let backend: LocalBackend | S3Backend;
  let dir: string | undefined;
  if (kind === 'local') {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'bench-filestore-'));
    backend = new LocalBackend(dir);
  } else {
    backend = new S3Backend({bucket: TEST_BUCKET, endpoint, accessKeyId: TEST_ACCESS_KEY, secretAccessKey: TEST_SECRET_KEY});
  }
  const base = process.memoryUsage.rss();
  const rss = rssSampler(10);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < files; i++) {
    const size = fileMiB * MiB;
    await backend.write(`plugin-data/mattermost-plugin-metrics/data/BLOCK${i}/chunks/000001`, createReadStream(sourceFile, {start: 0, end: size - 1}), {size});
  }
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  const peak = rss.stop();
  await backend.removeAll('plugin-data');
  if (backend instanceof S3Backend) backend.destroy();
  if (dir) await fs.rm(dir, {recursive: true, force: true});
  return {mbps: (files * fileMiB * MiB) / 1e6 / secs, baseRssMiB: base / MiB, peakRssMiB: peak / MiB};
}

async function main(): Promise<void> {
  if (argv[0] === '--serve-s3rver') {
    const srv = await startS3rver();
    out(`ENDPOINT ${srv.endpoint}`);
    process.on('SIGTERM', () => void srv.close().then(() => process.exit(0)));
    return;
  }
  const totalMiB = Number(arg('total-mib', '1024'));
  if (argv[0] === '--case') {
    const r = await runCase(argv[1] as 'local' | 's3', Number(arg('file-mib', '32')), totalMiB, arg('endpoint', ''), arg('source', ''));
    out(JSON.stringify(r));
    return;
  }
  const sizes = arg('sizes', '4,32,256').split(',').map(Number);
  // The "blocks": one file of random data as large as the largest case; every uploaded file is
  // a prefix of it read with fs.createReadStream, as the sync reads block files.
  const work = await fs.mkdtemp(path.join(os.tmpdir(), 'bench-filestore-src-'));
  const sourceFile = path.join(work, 'source');
  const fh = await fs.open(sourceFile, 'w');
  for (let i = 0; i < Math.max(...sizes); i++) await fh.write(randomBytes(MiB));
  await fh.close();
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
  out(`# file-store write: ${totalMiB} MiB per case, node ${process.version}, ${os.cpus().length} CPUs`);
  out('| backend | file size (MiB) | files | MB/s | RSS before (MiB) | peak RSS (MiB) | growth (MiB) |');
  out('| --- | --- | --- | --- | --- | --- | --- |');
  try {
    for (const kind of ['local', 's3'] as const) {
      for (const fileMiB of sizes) {
        const r = JSON.parse((await child(['--case', kind, '--file-mib', String(fileMiB), '--total-mib', String(totalMiB), '--endpoint', endpoint, '--source', sourceFile]).done).trim()) as CaseResult;
        out(
          `| ${kind === 'local' ? 'local' : 's3rver (S3, 5 MiB parts, queue 2)'} | ${fileMiB} | ${Math.round(totalMiB / fileMiB)} | ` +
            `${r.mbps.toFixed(0)} | ${r.baseRssMiB.toFixed(0)} | ${r.peakRssMiB.toFixed(0)} | ${(r.peakRssMiB - r.baseRssMiB).toFixed(0)} |`,
        );
      }
    }
  } finally {
    server.kill();
    await server.done.catch(() => {});
    await fs.rm(work, {recursive: true, force: true});
  }
}

await main();
