// Memory and cancellation: a few hundred MB of fake blocks (real meta.json and index,
// incompressible chunk files) go through buildDump with bounded RSS; an abort mid-build
// leaves no output. Size: DUMP_TEST_MB (default 300).

import assert from 'node:assert/strict';
import {randomBytes} from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {after, before, test} from 'node:test';

import {LocalBackend, remoteDataDir, remoteDumpDir} from '../filestore/mod.ts';
import {encodeMeta, newULID, writeBlock} from '../tsdb/block/mod.ts';
import {buildDump} from './builder.ts';

const MB = 1 << 20;
const TOTAL_MB = Number(process.env.DUMP_TEST_MB ?? 300);
const BLOCKS = 6;
const H = 3_600_000;
const MD = {serverVersion: '10.5.1', diagnosticId: 'abcdefghijklmnopqrstuvwxyz', pluginVersion: '0.8.0', siteName: 'memtest'};

let root = '';
let store = '';
let start = 0;
before(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'dump-mem-'));
  store = path.join(root, 'store');
  const real = writeBlock(path.join(root, 'real'), [{labels: {__name__: 'x', instance: 'node-a:8067'}, samples: [{t: 0, v: 1}]}], {fsync: false});
  const noise = randomBytes(MB);
  start = Math.floor(Date.now() / (2 * H)) * 2 * H - BLOCKS * 2 * H;
  const perFile = Math.ceil(TOTAL_MB / BLOCKS / 2);
  for (let i = 0; i < BLOCKS; i++) {
    const ulid = newULID(start + i * 2 * H);
    const dir = path.join(store, ...remoteDataDir.split('/'), ulid);
    fs.mkdirSync(path.join(dir, 'chunks'), {recursive: true});
    for (const seg of ['000001', '000002']) {
      const fd = fs.openSync(path.join(dir, 'chunks', seg), 'w');
      for (let k = 0; k < perFile; k++) fs.writeSync(fd, noise);
      fs.closeSync(fd);
    }
    fs.copyFileSync(path.join(real.dir, 'index'), path.join(dir, 'index'));
    fs.copyFileSync(path.join(real.dir, 'tombstones'), path.join(dir, 'tombstones'));
    const m = {...real.meta, ulid, minTime: start + i * 2 * H, maxTime: start + (i + 1) * 2 * H, compaction: {level: 1, sources: [ulid]}};
    fs.writeFileSync(path.join(dir, 'meta.json'), encodeMeta(m));
  }
});
after(() => {
  if (root) fs.rmSync(root, {recursive: true, force: true});
});

test(`RSS stays bounded while dumping ~${TOTAL_MB} MB`, {timeout: 300_000}, async (t) => {
  const backend = new LocalBackend(store);
  globalThis.gc?.();
  const base = process.memoryUsage.rss();
  let peak = base;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 10);
  const t0 = performance.now();
  const r = await buildDump({backend, from: start, to: start + BLOCKS * 2 * H, outPath: `${remoteDumpDir}/mem/dump.tar.gz`, metadata: MD, gzipLevel: 1});
  clearInterval(timer);
  const secs = (performance.now() - t0) / 1000;
  const growth = (peak - base) / MB;
  t.diagnostic(`dumped ${(r.bytes / MB).toFixed(0)} MiB in ${secs.toFixed(1)} s; RSS ${(base / MB).toFixed(0)} → peak ${(peak / MB).toFixed(0)} MiB (+${growth.toFixed(0)} MiB)`);
  assert.equal(r.blocks.length, BLOCKS);
  assert.ok(r.bytes > TOTAL_MB * MB * 0.95, `archive of ${r.bytes} bytes`);
  assert.deepEqual(r.nodes, ['node-a:8067']);
  assert.ok(growth < 100, `RSS grew by ${growth.toFixed(0)} MiB`);
  await backend.remove(r.path);
});

test('an abort mid-build rejects with AbortError and leaves no output', {timeout: 300_000}, async () => {
  const backend = new LocalBackend(store);
  const ac = new AbortController();
  const outPath = `${remoteDumpDir}/cancel/dump.tar.gz`;
  let last = 0;
  const p = buildDump({
    backend,
    from: start,
    to: start + BLOCKS * 2 * H,
    outPath,
    metadata: MD,
    signal: ac.signal,
    onProgress: (f, phase) => {
      if (phase === 'archive') last = f;
      if (phase === 'archive' && f > 0.3) ac.abort();
    },
  });
  await assert.rejects(p, (e: Error) => e.name === 'AbortError');
  assert.ok(last > 0.3 && last < 1, `aborted at ${last}`);
  assert.equal(await backend.stat(outPath), null);
  const dir = path.join(store, ...remoteDumpDir.split('/'), 'cancel');
  assert.deepEqual(fs.existsSync(dir) ? fs.readdirSync(dir) : [], [], 'no temp file left');
});
