// The remote block cache and the query source over local + file-store blocks, on a local
// directory backend and on S3 (s3rver): complete copies verified against the manifest,
// deduplication against local blocks and compactions, LRU eviction that never touches
// blocks in use, the size cap, restarts, Go-plugin blocks without a manifest, and a
// corrupt remote file that is refused (the query still answers from local data, warned).

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {after, before, describe, test} from 'node:test';

import {type FileBackend, LocalBackend, remoteDataDir, S3Backend} from '../filestore/mod.ts';
import {startS3rver, TEST_ACCESS_KEY, TEST_BUCKET, TEST_SECRET_KEY} from '../filestore/testing/s3.ts';
import {BlockSyncer} from '../sync/mod.ts';
import {makeBlocks} from '../sync/testing/fixtures.ts';
import {type BlockMeta, openBlock} from '../tsdb/block/mod.ts';
import {labelsKey} from '../tsdb/labels/mod.ts';
import {blockSource, mergeSources} from '../tsdb/querier/mod.ts';
import {listDataDir} from '../tsdb/retention/mod.ts';
import type {SeriesSource} from '../tsdb/storage.ts';
import {RemoteBlockCache, RemoteBlockCorruptError, RemoteCacheTooSmallError} from './cache.ts';
import {estimateWindow, openQuerySource, selectRemoteBlocks, type StoreSources, withQuerySource} from './source.ts';

let root = '';
let n = 0;
before(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'remote-cache-'));
});
after(() => {
  if (root) fs.rmSync(root, {recursive: true, force: true});
});

/** Every sample of a source as "labels@t=v" lines, sorted. */
function dump(src: SeriesSource, mint = -Infinity, maxt = Infinity): string[] {
  const out: string[] = [];
  for (const s of src.select([{type: '=~', name: '__name__', value: '.+'}], mint, maxt)) {
    const k = labelsKey(s.labels);
    for (const x of s.samples) out.push(`${k}@${x.t}=${x.v}`);
  }
  return out.sort();
}

function localSource(dataDir: string): {source: SeriesSource; blocks: BlockMeta[]; close: () => void} {
  const blocks = listDataDir(dataDir).blocks.map((b) => openBlock(b.dir));
  return {source: mergeSources(blocks.map(blockSource)), blocks: blocks.map((b) => b.meta), close: () => blocks.forEach((b) => b.close())};
}

interface Fixture {
  name: string;
  open(): Promise<{backend: FileBackend; close(): Promise<void>}>;
}

const fixtures: Fixture[] = [
  {
    name: 'local directory',
    async open() {
      return {backend: new LocalBackend(path.join(root, `store-${n++}`)), close: async () => {}};
    },
  },
  {
    name: 'amazons3 (s3rver)',
    async open() {
      const srv = await startS3rver();
      const backend = new S3Backend({bucket: TEST_BUCKET, pathPrefix: 'mm', endpoint: srv.endpoint, ssl: false, accessKeyId: TEST_ACCESS_KEY, secretAccessKey: TEST_SECRET_KEY});
      return {
        backend,
        async close() {
          backend.destroy();
          await srv.close();
        },
      };
    },
  },
];

async function upload(backend: FileBackend, dataDir: string): Promise<void> {
  const r = await new BlockSyncer({backend, dataDir, retentionDays: 3650, periodMinutes: 60}).syncOnce();
  assert.equal(r.failed, 0, JSON.stringify(r.blocks));
}

for (const fx of fixtures) {
  describe(`remote blocks over ${fx.name}`, () => {
    test('a node without local blocks answers from the file store exactly as the origin would; copies are reused and survive a restart', {timeout: 60_000}, async () => {
      const f = await fx.open();
      try {
        const origin = path.join(root, `origin-${n++}`);
        makeBlocks(origin, 4, {series: 6});
        await upload(f.backend, origin);
        const want = localSource(origin);
        const cacheDir = path.join(root, `cache-${n++}`);
        const cache = new RemoteBlockCache({backend: f.backend, dir: cacheDir});
        const stores: StoreSources = {local: () => null, remote: cache};
        const all = await openQuerySource(stores, -Infinity, Infinity);
        assert.equal(all.remoteBlocks.length, 4);
        assert.deepEqual(all.warnings, []);
        assert.deepEqual(dump(all.source), dump(want.source));
        all.release();
        assert.equal(cache.stats().downloadedBlocks, 4);

        // A window of the middle: only the blocks it overlaps, already copied.
        const metas = want.blocks;
        const mid = await openQuerySource(stores, metas[1].minTime + 1, metas[2].minTime + 10);
        assert.deepEqual(mid.remoteBlocks.sort(), [metas[1].ulid, metas[2].ulid].sort());
        assert.deepEqual(dump(mid.source, metas[1].minTime + 1, metas[2].minTime + 10), dump(want.source, metas[1].minTime + 1, metas[2].minTime + 10));
        mid.release();
        assert.equal(cache.stats().downloadedBlocks, 4, 'nothing downloaded twice');
        cache.close();

        const again = new RemoteBlockCache({backend: f.backend, dir: cacheDir});
        const q = await openQuerySource({local: () => null, remote: again}, -Infinity, Infinity);
        assert.deepEqual(dump(q.source), dump(want.source));
        q.release();
        assert.equal(again.stats().downloadedBlocks, 0, 'copies from the earlier run are used');
        again.close();
        want.close();
      } finally {
        await f.close();
      }
    });
  });
}

test('blocks present locally are not downloaded; the merged answer has each sample once', async () => {
  const backend = new LocalBackend(path.join(root, `store-${n++}`));
  const origin = path.join(root, `origin-${n++}`);
  const ulids = makeBlocks(origin, 3, {series: 4});
  await upload(backend, origin);
  // This node still has the two newest blocks locally (retention dropped the oldest).
  const local = path.join(root, `local-${n++}`);
  for (const u of ulids.slice(1)) fs.cpSync(path.join(origin, u), path.join(local, u), {recursive: true});
  const mine = localSource(local);
  const cache = new RemoteBlockCache({backend, dir: path.join(root, `cache-${n++}`)});
  const q = await openQuerySource({local: () => ({source: mine.source, blocks: mine.blocks}), remote: cache}, -Infinity, Infinity);
  assert.deepEqual(q.remoteBlocks, [ulids[0]]);
  const want = localSource(origin);
  assert.deepEqual(dump(q.source), dump(want.source));
  q.release();
  cache.close();
  mine.close();
  want.close();
});

test('selectRemoteBlocks: compaction parents next to their child, and equal duplicates, are read once', () => {
  const meta = (ulid: string, minTime: number, maxTime: number, sources?: string[]): BlockMeta => ({
    ulid,
    minTime,
    maxTime,
    version: 1,
    compaction: {level: sources ? 2 : 1, sources: sources ?? [ulid]},
  });
  const A = '01HAAAAAAAAAAAAAAAAAAAAAAA';
  const B = '01HBBBBBBBBBBBBBBBBBBBBBBB';
  const C = '01HCCCCCCCCCCCCCCCCCCCCCCC';
  const AB = '01HDDDDDDDDDDDDDDDDDDDDDDD';
  const AB2 = '01HEEEEEEEEEEEEEEEEEEEEEEE';
  const remote = (m: BlockMeta) => ({ulid: m.ulid, meta: m, bytes: 1, files: new Map()});
  const all = [meta(A, 0, 10, undefined), meta(B, 10, 20, undefined), meta(C, 20, 30, undefined), meta(AB, 0, 20, [A, B])].map(remote);
  assert.deepEqual(selectRemoteBlocks(all, [], 0, 100).map((b) => b.ulid), [C, AB]);
  // The child is local: its parents in the file store add nothing.
  assert.deepEqual(selectRemoteBlocks(all.filter((b) => b.ulid !== AB), [meta(AB, 0, 20, [A, B])], 0, 100).map((b) => b.ulid), [C]);
  // Two remote blocks with the same sources (a re-run compaction): exactly one is read.
  assert.deepEqual(selectRemoteBlocks([...all, remote(meta(AB2, 0, 20, [A, B]))], [], 0, 100).map((b) => b.ulid), [C, AB2]);
  // Only blocks overlapping the window (maxTime is exclusive).
  assert.deepEqual(selectRemoteBlocks(all, [], 20, 25).map((b) => b.ulid), [C]);
  assert.deepEqual(selectRemoteBlocks(all, [], 19, 19).map((b) => b.ulid), [AB]);
});

test('LRU eviction keeps the cache under its cap and never removes a block in use; too large a range is refused clearly', async () => {
  const backend = new LocalBackend(path.join(root, `store-${n++}`));
  const origin = path.join(root, `origin-${n++}`);
  makeBlocks(origin, 4, {series: 3});
  await upload(backend, origin);
  const probe = new RemoteBlockCache({backend, dir: path.join(root, `probe-${n++}`)});
  const listed = await probe.list();
  const size = Math.max(...listed.map((b) => b.bytes));
  const cacheDir = path.join(root, `cache-${n++}`);
  const cache = new RemoteBlockCache({backend, dir: cacheDir, maxBytes: size * 2 + 10});
  const [b0, b1, b2, b3] = listed;
  const l0 = await cache.acquire([b0]);
  const l1 = await cache.acquire([b1]);
  l1.release();
  // b0 is held: adding b2 evicts b1 (idle), not b0.
  const l2 = await cache.acquire([b2]);
  assert.deepEqual(fs.readdirSync(cacheDir).sort(), [b0.ulid, b2.ulid].sort());
  assert.ok(l0.blocks[0].index.labelNames().length > 0, 'held block still readable');
  l0.release();
  l2.release();
  await (await cache.acquire([b3])).release();
  assert.deepEqual(fs.readdirSync(cacheDir).sort(), [b2.ulid, b3.ulid].sort(), 'least recently used went first');
  assert.ok(cache.stats().bytes <= cache.maxBytes);
  await assert.rejects(cache.acquire([b0, b1, b2]), (err: Error) => err instanceof RemoteCacheTooSmallError && /remote block cache; query a shorter range/.test(err.message));
  cache.close();
  probe.close();
});

test('a remote file that does not match its manifest is refused; the query answers from local data with a warning', async () => {
  const storeRoot = path.join(root, `store-${n++}`);
  const backend = new LocalBackend(storeRoot);
  const origin = path.join(root, `origin-${n++}`);
  const [u] = makeBlocks(origin, 1, {series: 2});
  await upload(backend, origin);
  const remoteChunk = path.join(storeRoot, ...remoteDataDir.split('/'), u, 'chunks', '000001');
  const bytes = fs.readFileSync(remoteChunk);
  bytes[bytes.length - 1] ^= 0xff; // same size, different content
  fs.writeFileSync(remoteChunk, bytes);
  const cacheDir = path.join(root, `cache-${n++}`);
  const cache = new RemoteBlockCache({backend, dir: cacheDir});
  await assert.rejects(cache.acquire(await cache.list()), (err: Error) => err instanceof RemoteBlockCorruptError && /sha256 .* does not match the manifest/.test(err.message));
  assert.deepEqual(fs.readdirSync(cacheDir), [], 'no partial copy left');
  const q = await openQuerySource({local: () => null, remote: cache}, -Infinity, Infinity);
  assert.equal(q.remoteBlocks.length, 0);
  assert.match(q.warnings.join(), /file-store blocks are not included .*sha256/);
  q.release();
  cache.close();
});

test('blocks uploaded by the Go plugin (no manifest) are copied by their listed sizes; unfinished downloads are cleared at start', async () => {
  const storeRoot = path.join(root, `store-${n++}`);
  const backend = new LocalBackend(storeRoot);
  const origin = path.join(root, `origin-${n++}`);
  const [u] = makeBlocks(origin, 1, {series: 2});
  await upload(backend, origin);
  fs.rmSync(path.join(storeRoot, ...remoteDataDir.split('/'), u, 'mm-manifest.json'));
  const cacheDir = path.join(root, `cache-${n++}`);
  fs.mkdirSync(path.join(cacheDir, `${u}.tmp-0123ab`), {recursive: true});
  const cache = new RemoteBlockCache({backend, dir: cacheDir});
  const q = await openQuerySource({local: () => null, remote: cache}, -Infinity, Infinity);
  assert.deepEqual(q.remoteBlocks, [u]);
  const want = localSource(origin);
  assert.deepEqual(dump(q.source), dump(want.source));
  q.release();
  assert.deepEqual(fs.readdirSync(cacheDir), [u]);
  cache.close();
  want.close();
});

test('the file-store listing is reused for its TTL; a listing failure leaves local data with a warning', async () => {
  const inner = new LocalBackend(path.join(root, `store-${n++}`));
  let lists = 0;
  let failing = false;
  const backend: FileBackend = Object.assign(Object.create(inner) as FileBackend, {
    list: async (p: string) => {
      lists++;
      if (failing) throw new Error('connection refused');
      return inner.list(p);
    },
  });
  const cache = new RemoteBlockCache({backend, dir: path.join(root, `cache-${n++}`), listingTtlMs: 60_000});
  await cache.list();
  await cache.list();
  assert.equal(lists, 1);
  cache.invalidate();
  failing = true;
  const origin = path.join(root, `origin-${n++}`);
  makeBlocks(origin, 1, {series: 2});
  const mine = localSource(origin);
  const q = await openQuerySource({local: () => ({source: mine.source, blocks: mine.blocks}), remote: cache}, -Infinity, Infinity);
  assert.match(q.warnings.join(), /listing failed: connection refused/);
  assert.deepEqual(dump(q.source), dump(mine.source));
  q.release();
  cache.close();
  mine.close();
});

test('withQuerySource: an evaluation that reads outside the guessed window runs again with the file-store blocks it missed', async () => {
  const backend = new LocalBackend(path.join(root, `store-${n++}`));
  const origin = path.join(root, `origin-${n++}`);
  makeBlocks(origin, 3, {series: 2});
  await upload(backend, origin);
  const want = localSource(origin);
  const [first, , last] = want.blocks;
  const cache = new RemoteBlockCache({backend, dir: path.join(root, `cache-${n++}`)});
  let runs = 0;
  const {value, remoteBlocks} = await withQuerySource({local: () => null, remote: cache}, {mint: last.minTime, maxt: last.maxTime - 1}, async (src) => {
    runs++;
    return dump(src, first.minTime, last.maxTime - 1);
  });
  assert.equal(runs, 2);
  assert.equal(remoteBlocks.length, 3);
  assert.deepEqual(value, dump(want.source));
  // A guess that covers the reads needs one run.
  runs = 0;
  await withQuerySource({local: () => null, remote: cache}, {mint: first.minTime, maxt: last.maxTime}, async (src) => {
    runs++;
    return dump(src, first.minTime, last.maxTime - 1);
  });
  assert.equal(runs, 1);
  cache.close();
  want.close();
});

test('estimateWindow covers ranges, subqueries, offsets and @ timestamps', () => {
  assert.deepEqual(estimateWindow('up', 1_000_000, 2_000_000, 300_000), {mint: 700_000, maxt: 2_000_000});
  assert.deepEqual(estimateWindow('rate(x[5m]) + max_over_time(rate(y[1m])[1h:30s]) offset 2h', 10e6, 20e6, 300_000), {
    mint: 10e6 - 300_000 - 300_000 - 60_000 - 3_600_000 - 30_000 - 7_200_000,
    maxt: 20e6,
  });
  assert.deepEqual(estimateWindow('x offset -1h', 0, 1000, 0), {mint: 0, maxt: 1000 + 3_600_000});
  assert.deepEqual(estimateWindow('x @ 100', 1e6, 2e6, 0), {mint: 100_000, maxt: 2e6});
});

test('concurrent queries needing the same blocks share one download each', async () => {
  const backend = new LocalBackend(path.join(root, `store-${n++}`));
  const origin = path.join(root, `origin-${n++}`);
  makeBlocks(origin, 3, {series: 2});
  await upload(backend, origin);
  const cache = new RemoteBlockCache({backend, dir: path.join(root, `cache-${n++}`)});
  const stores: StoreSources = {local: () => null, remote: cache};
  const all = await Promise.all(Array.from({length: 5}, () => openQuerySource(stores, -Infinity, Infinity)));
  assert.equal(cache.stats().downloadedBlocks, 3);
  assert.equal(cache.stats().inUse, 3);
  const first = dump(all[0].source);
  for (const q of all) assert.deepEqual(dump(q.source), first);
  for (const q of all) q.release();
  assert.equal(cache.stats().inUse, 0);
  cache.close();
});

test('copies slower than the query timeout: the query answers without them (warned), the copy finishes for the next one', async () => {
  const inner = new LocalBackend(path.join(root, `store-${n++}`));
  const origin = path.join(root, `origin-${n++}`);
  makeBlocks(origin, 1, {series: 2});
  await upload(inner, origin);
  let release: () => void = () => {};
  const gate = new Promise<void>((r) => (release = r));
  const backend: FileBackend = Object.assign(Object.create(inner) as FileBackend, {
    read: async (p: string, range?: {start: number; end: number}) => {
      if (!p.endsWith('/meta.json')) await gate;
      return inner.read(p, range);
    },
  });
  const cache = new RemoteBlockCache({backend, dir: path.join(root, `cache-${n++}`)});
  const stores: StoreSources = {local: () => null, remote: cache};
  const slow = await openQuerySource(stores, -Infinity, Infinity, undefined, {waitMs: 50});
  assert.match(slow.warnings.join(), /copying them from the file store .* takes longer than the query timeout \(50 ms\)/);
  assert.deepEqual(dump(slow.source), []);
  slow.release();
  release();
  for (let i = 0; i < 100 && cache.stats().blocks === 0; i++) await new Promise((r) => setTimeout(r, 20));
  assert.equal(cache.stats().inUse, 0, 'the late lease was released');
  const fast = await openQuerySource(stores, -Infinity, Infinity, undefined, {waitMs: 50});
  assert.deepEqual(fast.warnings, []);
  assert.equal(fast.remoteBlocks.length, 1);
  fast.release();
  cache.close();
});
