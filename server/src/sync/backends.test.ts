// The sync scenarios against the real backends: LocalBackend on a temp dir and S3Backend
// on s3rver (in-process) behind the filestore's fault proxy (5xx, dropped connections,
// stalls). Faults are injected below the backend, so the backend's own retries run too.

import assert from 'node:assert/strict';
import {AsyncLocalStorage} from 'node:async_hooks';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {after, before, describe, test} from 'node:test';
import {type FileBackend, LocalBackend, S3Backend, remoteDataDir} from '../filestore/mod.ts';
import {type FaultProxy, TEST_ACCESS_KEY, TEST_BUCKET, TEST_SECRET_KEY, startFaultProxy, startS3rver} from '../filestore/testing/s3.ts';
import {BlockSyncer} from './syncer.ts';
import {cleanupRemoteBlocks, remoteUsage} from './remote.ts';
import {assertRemoteExactlyComplete, backendView, captureLogger, makeBlocks} from './testing/fixtures.ts';

let root = '';
let n = 0;
before(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'sync-backends-'));
});
after(() => {
  if (root) fs.rmSync(root, {recursive: true, force: true});
});

interface Fixture {
  backend: FileBackend;
  /** Makes the next writes of files matching `re` fail in a backend-specific way. */
  fail(kind: 'status' | 'drop' | 'stall' | 'enospc', re: RegExp, count: number): void;
  clear(): void;
  close(): Promise<void>;
}

let enospc: {re: RegExp; count: number} | null = null;

const fixtures: Array<{name: string; open(): Promise<Fixture>}> = [
  {
    name: 'local',
    async open() {
      const dir = path.join(root, `store-${n++}`);
      const current = new AsyncLocalStorage<string>();
      const backend = new LocalBackend(dir, {
        writeChunk: async (fh, chunk) => {
          if (enospc && enospc.count > 0 && enospc.re.test(current.getStore() ?? '')) {
            enospc.count--;
            throw Object.assign(new Error('ENOSPC: no space left on device, write'), {code: 'ENOSPC'});
          }
          await fh.write(chunk);
        },
      });
      const orig = backend.write.bind(backend);
      backend.write = (p, body, opts) => current.run(p, () => orig(p, body, opts));
      return {
        backend,
        fail: (_kind, re, count) => void (enospc = {re, count}),
        clear: () => void (enospc = null),
        close: async () => {},
      };
    },
  },
  {
    name: 'amazons3 (s3rver + fault proxy)',
    async open() {
      const srv = await startS3rver();
      const proxy: FaultProxy = await startFaultProxy(srv.endpoint);
      const backend = new S3Backend(
        {bucket: TEST_BUCKET, pathPrefix: 'mm', endpoint: proxy.endpoint, ssl: false, accessKeyId: TEST_ACCESS_KEY, secretAccessKey: TEST_SECRET_KEY, requestTimeoutMs: 1_500},
        {maxAttempts: 2, queueSize: 1},
      );
      return {
        backend,
        fail: (kind, re, count) => proxy.inject({kind: kind === 'enospc' ? 'status' : kind, count, status: kind === 'enospc' ? 507 : 503, afterBytes: 1000, match: (m, url) => m === 'PUT' && re.test(decodeURIComponent(url))}),
        clear: () => proxy.clear(),
        async close() {
          backend.destroy();
          await proxy.close();
          await srv.close();
        },
      };
    },
  },
];

for (const fx of fixtures) {
  describe(`sync over ${fx.name}`, () => {
    test('first pass uploads, second finds everything complete; removed files are repaired; Go-plugin blocks accepted', {timeout: 60_000}, async () => {
      const f = await fx.open();
      try {
        const dataDir = path.join(root, `data-${n++}`);
        const ulids = makeBlocks(dataDir, 3);
        const syncer = new BlockSyncer({backend: f.backend, dataDir, retentionDays: 15, periodMinutes: 60});
        assert.equal((await syncer.syncOnce()).uploaded, 3);
        assertRemoteExactlyComplete(await backendView(f.backend), dataDir);
        assert.deepEqual((await syncer.syncOnce()).blocks.map((b) => b.outcome), ['complete', 'complete', 'complete']);

        await f.backend.remove(`${remoteDataDir}/${ulids[0]}/meta.json`);
        await f.backend.remove(`${remoteDataDir}/${ulids[1]}/chunks/000001`);
        const goBlock = makeBlocks(dataDir, 1, {endAgoMs: 0})[0];
        for (const rel of ['chunks/000001', 'index', 'meta.json', 'tombstones']) {
          await f.backend.write(`${remoteDataDir}/${goBlock}/${rel}`, fs.readFileSync(path.join(dataDir, goBlock, ...rel.split('/'))));
        }
        const fresh = new BlockSyncer({backend: f.backend, dataDir, retentionDays: 15, periodMinutes: 60});
        const r = await fresh.syncOnce();
        assert.deepEqual(Object.fromEntries(r.blocks.map((b) => [b.ulid, b.outcome])), {
          [ulids[0]]: 'repaired',
          [ulids[1]]: 'repaired',
          [ulids[2]]: 'complete',
          [goBlock]: 'accepted',
        });
        const all = (await backendView(f.backend)).files();
        const goPrefix = `${remoteDataDir}/${goBlock}/`;
        assert.deepEqual(
          [...all.keys()].filter((p) => p.startsWith(goPrefix)).map((p) => p.slice(goPrefix.length)).sort(),
          ['chunks/000001', 'index', 'meta.json', 'tombstones'],
          'the Go-plugin block is left as it was (no manifest added)',
        );
        const ours = new Map([...all].filter(([p]) => !p.startsWith(goPrefix)));
        assertRemoteExactlyComplete({files: () => ours}, dataDir, ulids);
      } finally {
        await f.close();
      }
    });

    for (const kind of ['status', 'drop', 'stall', 'enospc'] as const) {
      if (fx.name === 'local' && kind !== 'enospc') continue;
      test(`${kind} during upload → logged, next pass repairs, remote = exactly the complete set`, {timeout: 60_000}, async () => {
        const f = await fx.open();
        try {
          const dataDir = path.join(root, `data-${n++}`);
          const ulids = makeBlocks(dataDir, 3, {series: 60});
          const log = captureLogger();
          const syncer = new BlockSyncer({backend: f.backend, dataDir, retentionDays: 15, periodMinutes: 60, logger: log.logger, fileTimeoutMs: 20_000});
          const victim = ulids[1];
          f.fail(kind, new RegExp(`${victim}/(index|chunks/000001)(\\?|$)`), kind === 'stall' ? 4 : 6);
          const r1 = await syncer.syncOnce();
          assert.deepEqual(r1.blocks.map((b) => b.outcome), ['uploaded', 'failed', 'uploaded'], JSON.stringify(r1.blocks));
          const warn = log.lines.filter((l) => l.level === 'warn' && l.fields?.block === victim);
          assert.equal(warn.length, 1);
          const snap = await backendView(f.backend);
          assert.ok(![...snap.files().keys()].includes(`${remoteDataDir}/${victim}/meta.json`), 'failed block not published');
          f.clear();
          const r2 = await syncer.syncOnce();
          assert.equal(r2.blocks[0].outcome, 'complete');
          assert.equal(r2.blocks[2].outcome, 'complete');
          assert.ok(['repaired', 'uploaded'].includes(r2.blocks[1].outcome), r2.blocks[1].outcome);
          assertRemoteExactlyComplete(await backendView(f.backend), dataDir);
          assert.ok(log.lines.some((l) => l.message.includes('after earlier failures') && l.fields?.block === victim));
        } finally {
          await f.close();
        }
      });
    }

    test('cleanup and usage on the real backend', {timeout: 60_000}, async () => {
      const f = await fx.open();
      try {
        const dataDir = path.join(root, `data-${n++}`);
        makeBlocks(dataDir, 2, {endAgoMs: 3 * 86_400_000});
        makeBlocks(dataDir, 1);
        await new BlockSyncer({backend: f.backend, dataDir, retentionDays: 15, periodMinutes: 60}).syncOnce();
        const u = await remoteUsage(f.backend);
        assert.equal(u.blocks, 3);
        const res = await cleanupRemoteBlocks(f.backend, {retentionDays: 2});
        assert.equal(res.deleted.length, 2);
        assert.equal((await remoteUsage(f.backend)).blocks, 1);
      } finally {
        await f.close();
      }
    });
  });
}
