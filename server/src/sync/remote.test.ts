import assert from 'node:assert/strict';
import {test} from 'node:test';
import {remoteDataDir, remoteDumpDir} from '../filestore/backend.ts';
import {encodeMeta, newULID} from '../tsdb/block/mod.ts';
import {cleanupDumps, cleanupRemoteBlocks, remoteUsage} from './remote.ts';
import {MemoryBackend} from './testing/memory-backend.ts';
import {DAY, H, captureLogger} from './testing/fixtures.ts';

const NOW = Date.UTC(2025, 5, 1, 12);
const MB = 1024 * 1024;

function putBlock(b: MemoryBackend, maxTimeAgo: number, opts: {meta?: 'ok' | 'missing' | 'corrupt'; createdAgo?: number; modAgo?: number} = {}): string {
  const ulid = newULID(NOW - (opts.createdAgo ?? maxTimeAgo));
  const mod = NOW - (opts.modAgo ?? opts.createdAgo ?? maxTimeAgo);
  const dir = `${remoteDataDir}/${ulid}`;
  b.put(`${dir}/chunks/000001`, Buffer.alloc(1000), mod);
  b.put(`${dir}/index`, Buffer.alloc(500), mod);
  const maxTime = NOW - maxTimeAgo;
  const meta = encodeMeta({ulid, minTime: maxTime - 2 * H, maxTime, compaction: {level: 1, sources: [ulid]}, version: 1});
  if ((opts.meta ?? 'ok') === 'ok') b.put(`${dir}/meta.json`, meta, mod);
  if (opts.meta === 'corrupt') b.put(`${dir}/meta.json`, meta.slice(0, 20), mod);
  return ulid;
}

const dirsOf = (b: MemoryBackend, root: string) => new Set([...b.files.keys()].filter((p) => p.startsWith(root)).map((p) => p.slice(root.length + 1).split('/')[0]));

test('cleanupRemoteBlocks: by age via meta.json; partial leftovers after the grace period; foreign dirs untouched', async () => {
  const b = new MemoryBackend();
  const old = putBlock(b, 16 * DAY);
  const fresh = putBlock(b, 14 * DAY);
  const partialOld = putBlock(b, 3 * DAY, {meta: 'missing'});
  const partialCorrupt = putBlock(b, 2 * DAY, {meta: 'corrupt'});
  const partialYoung = putBlock(b, 2 * H, {meta: 'missing'});
  const partialOldUlidRecentWrite = putBlock(b, 5 * DAY, {meta: 'missing', modAgo: H}); // re-upload in progress
  b.put(`${remoteDataDir}/not-a-block/file`, 'x', NOW - 100 * DAY);
  const log = captureLogger();
  const res = await cleanupRemoteBlocks(b, {retentionDays: 15, now: NOW, logger: log.logger});
  assert.deepEqual(res.errors, []);
  assert.deepEqual(
    res.deleted.map((d) => [d.ulid, d.reason]).sort(),
    [
      [old, 'retention'],
      [partialOld, 'partial'],
      [partialCorrupt, 'partial'],
    ].sort(),
  );
  assert.deepEqual([...dirsOf(b, remoteDataDir)].sort(), [fresh, partialYoung, partialOldUlidRecentWrite, 'not-a-block'].sort());
  assert.ok(res.deleted.find((d) => d.ulid === old)!.bytes > 1500);
  assert.ok(log.lines.some((l) => l.level === 'warn' && l.message.includes('partial') && l.fields?.block === partialOld));
  assert.ok(log.lines.some((l) => l.level === 'info' && l.message.includes('past retention') && l.fields?.block === old));
});

test('cleanupRemoteBlocks: a read failure is reported, never taken as "partial"', async () => {
  const b = new MemoryBackend();
  const u = putBlock(b, 3 * DAY);
  b.addFault({op: 'read', kind: 'error'});
  const res = await cleanupRemoteBlocks(b, {retentionDays: 1, now: NOW});
  assert.deepEqual(res.deleted, []);
  assert.equal(res.errors[0].name, u);
  b.clearFaults();
  b.addFault({op: 'removeAll', kind: 'error'});
  const res2 = await cleanupRemoteBlocks(b, {retentionDays: 1, now: NOW});
  assert.equal(res2.errors.length, 1);
  b.clearFaults();
  assert.equal((await cleanupRemoteBlocks(b, {retentionDays: 1, now: NOW})).deleted.length, 1);
  assert.equal(b.files.size, 0);
});

test('cleanupDumps: by age, then by total size oldest first; protected dumps stay', async () => {
  const b = new MemoryBackend();
  const dump = (id: string, ageDays: number, mb: number) => b.put(`${remoteDumpDir}/${id}/tsdb_dump.tar.gz`, Buffer.alloc(mb * MB), NOW - ageDays * DAY);
  dump('ancient', 40, 1);
  dump('d10', 10, 4);
  dump('d5', 5, 4);
  dump('d3', 3, 4);
  dump('d1', 1, 4);
  dump('running', 0.5, 4);
  const res = await cleanupDumps(b, {retentionDays: 30, totalMB: 13, now: NOW, protect: (id) => id === 'running'});
  assert.deepEqual(
    res.deleted.map((d) => [d.id, d.reason]),
    [
      ['ancient', 'age'],
      ['d10', 'size'],
      ['d5', 'size'],
    ],
  );
  assert.deepEqual([...dirsOf(b, remoteDumpDir)].sort(), ['d1', 'd3', 'running']);
  assert.equal(res.keptBytes, 12 * MB);
  // No limits: nothing goes (upstream behaviour).
  assert.deepEqual((await cleanupDumps(b, {retentionDays: 0, totalMB: 0, now: NOW})).deleted, []);
  // Protected dumps are never deleted even when over the limit.
  const r2 = await cleanupDumps(b, {retentionDays: 0, totalMB: 1, now: NOW, protect: (id) => id === 'running'});
  assert.deepEqual(r2.deleted.map((d) => d.id), ['d3', 'd1']);
  assert.deepEqual([...dirsOf(b, remoteDumpDir)], ['running']);
});

test('remoteUsage: blocks, partials, bytes, range, dumps', async () => {
  const b = new MemoryBackend();
  putBlock(b, 3 * DAY);
  putBlock(b, 1 * DAY);
  putBlock(b, 2 * H, {meta: 'missing'});
  b.put(`${remoteDumpDir}/x/tsdb_dump.tar.gz`, Buffer.alloc(1234));
  const u = await remoteUsage(b);
  assert.equal(u.blocks, 2);
  assert.equal(u.partialBlocks, 1);
  assert.equal(u.oldest, NOW - 3 * DAY - 2 * H);
  assert.equal(u.newest, NOW - DAY);
  assert.ok(u.bytes > 3 * 1500);
  assert.deepEqual([u.dumps, u.dumpBytes], [1, 1234]);
});
