import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {after, before, describe, test} from 'node:test';
import {remoteDataDir} from '../filestore/backend.ts';
import {listDataDir} from '../tsdb/retention/mod.ts';
import {BlockSyncer} from './syncer.ts';
import type {BlockSyncerOptions} from './types.ts';
import {MANIFEST_FILENAME, decodeManifest, encodeManifest} from './manifest.ts';
import {MemoryBackend} from './testing/memory-backend.ts';
import {DAY, H, assertRemoteExactlyComplete, captureLogger, makeBlocks, memoryView, remoteBlocks} from './testing/fixtures.ts';

let root = '';
let n = 0;
before(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'sync-test-'));
});
after(() => {
  if (root) fs.rmSync(root, {recursive: true, force: true});
});

function setup(blocks = 3, opts: Partial<BlockSyncerOptions> = {}, backend = new MemoryBackend()) {
  const dataDir = path.join(root, `data-${n++}`);
  const ulids = makeBlocks(dataDir, blocks);
  const log = captureLogger();
  const syncer = new BlockSyncer({backend, dataDir, retentionDays: 15, periodMinutes: 60, logger: log.logger, ...opts});
  return {dataDir, ulids, backend, syncer, log, view: memoryView(backend)};
}

const rp = (ulid: string, rel: string) => `${remoteDataDir}/${ulid}/${rel}`;

describe('BlockSyncer.syncOnce', () => {
  test('first pass uploads every block, data files → manifest → meta.json; second pass writes and reads nothing', async () => {
    const {dataDir, ulids, backend, syncer, view} = setup(3);
    const r1 = await syncer.syncOnce();
    assert.equal(r1.error, null);
    assert.equal(r1.uploaded, 3);
    assertRemoteExactlyComplete(view, dataDir);
    for (const u of ulids) {
      const order = backend.writes.filter((p) => p.includes(`/${u}/`)).map((p) => p.slice(p.indexOf(u) + u.length + 1));
      assert.equal(order.at(-1), 'meta.json', `${u}: ${order}`);
      assert.equal(order.at(-2), MANIFEST_FILENAME);
      assert.deepEqual(order.slice(0, -2).sort(), ['chunks/000001', 'index', 'tombstones']);
    }
    const calls = backend.calls.length;
    const r2 = await syncer.syncOnce();
    assert.deepEqual(r2.blocks.map((b) => b.outcome), ['complete', 'complete', 'complete']);
    assert.equal(r2.uploaded + r2.repaired, 0);
    assert.deepEqual(backend.calls.slice(calls), [{op: 'list', path: remoteDataDir}], 'steady state: one listing, no reads');
    assert.equal(syncer.status().lastPass?.result, 'ok');

    // A fresh process (no caches) reads the manifests and hashes local files once, uploads nothing.
    const fresh = new BlockSyncer({backend, dataDir, retentionDays: 15, periodMinutes: 60});
    const w = backend.writes.length;
    const r3 = await fresh.syncOnce();
    assert.deepEqual(r3.blocks.map((b) => b.outcome), ['complete', 'complete', 'complete']);
    assert.equal(backend.writes.length, w);
  });

  test('repairs: missing meta.json, missing chunk, wrong size, manifest checksum mismatch', async () => {
    const {dataDir, ulids, backend, syncer, view, log} = setup(4);
    await syncer.syncOnce();
    const [a, b, c, d] = ulids;
    backend.files.delete(rp(a, 'meta.json'));
    backend.files.delete(rp(b, 'chunks/000001'));
    backend.put(rp(c, 'index'), backend.get(rp(c, 'index'))!.subarray(0, 100));
    const m = decodeManifest(backend.get(rp(d, MANIFEST_FILENAME))!.toString());
    m.files.find((f) => f.path === 'index')!.sha256 = '0'.repeat(64);
    backend.put(rp(d, MANIFEST_FILENAME), encodeManifest(m), Date.now() + 5_000); // same size: only the listed time changes
    const w = backend.writes.length;

    const r = await syncer.syncOnce();
    assert.deepEqual(r.blocks.map((x) => x.outcome), ['repaired', 'repaired', 'repaired', 'repaired']);
    assertRemoteExactlyComplete(view, dataDir);
    const written = backend.writes.slice(w).map((p) => p.slice(remoteDataDir.length + 1));
    assert.deepEqual(written.filter((p) => p.startsWith(a)), [`${a}/meta.json`], 'only meta.json was missing: manifest vouches for the rest');
    assert.deepEqual(written.filter((p) => p.startsWith(b)), [`${b}/chunks/000001`, `${b}/${MANIFEST_FILENAME}`, `${b}/meta.json`]);
    assert.deepEqual(written.filter((p) => p.startsWith(c)), [`${c}/index`, `${c}/${MANIFEST_FILENAME}`, `${c}/meta.json`]);
    assert.deepEqual(written.filter((p) => p.startsWith(d)), [`${d}/index`, `${d}/${MANIFEST_FILENAME}`, `${d}/meta.json`]);
    assert.equal(log.lines.filter((l) => l.message.startsWith('sync: repairing')).length, 4);
  });

  test('meta.json is removed before a repair starts, so an interrupted repair stays visibly incomplete', async () => {
    const {ulids, backend, syncer} = setup(1);
    await syncer.syncOnce();
    const u = ulids[0];
    backend.put(rp(u, 'index'), Buffer.from('short'));
    const calls = backend.calls.length;
    backend.addFault({op: 'write', match: /\/index$/, kind: 'error'});
    const r = await syncer.syncOnce();
    assert.equal(r.blocks[0].outcome, 'failed');
    assert.ok(!backend.files.has(rp(u, 'meta.json')) && !backend.files.has(rp(u, MANIFEST_FILENAME)));
    const ops = backend.calls.slice(calls).map((c) => `${c.op} ${c.path.split('/').slice(-1)[0]}`);
    assert.ok(ops.indexOf('remove meta.json') < ops.indexOf('write index'), ops.join(', '));
  });

  test('corrupted remote bytes of the same size: found with verifyRemote sha256 (not by sizes alone)', async () => {
    const {dataDir, ulids, backend, syncer, view} = setup(2);
    await syncer.syncOnce();
    const idx = Buffer.from(backend.get(rp(ulids[1], 'index'))!);
    idx[idx.length >> 1] ^= 0x55;
    backend.put(rp(ulids[1], 'index'), idx, backend.files.get(rp(ulids[1], 'index'))!.modTime);
    const bySize = new BlockSyncer({backend, dataDir, retentionDays: 15, periodMinutes: 60});
    assert.deepEqual((await bySize.syncOnce()).blocks.map((b) => b.outcome), ['complete', 'complete']);
    const deep = new BlockSyncer({backend, dataDir, retentionDays: 15, periodMinutes: 60, verifyRemote: 'sha256'});
    assert.deepEqual((await deep.syncOnce()).blocks.map((b) => b.outcome), ['complete', 'repaired']);
    assertRemoteExactlyComplete(view, dataDir);
  });

  test('a block uploaded by the Go plugin (no manifest) is accepted as is; one missing files is completed', async () => {
    const {dataDir, ulids, backend, syncer} = setup(2);
    // Upstream copied files in os.ReadDir order with no manifest; the second upload stopped before tombstones.
    for (const [i, u] of ulids.entries()) {
      for (const rel of ['chunks/000001', 'index', 'meta.json', ...(i === 0 ? ['tombstones'] : [])]) {
        backend.put(rp(u, rel), fs.readFileSync(path.join(dataDir, u, ...rel.split('/'))));
      }
    }
    const w = backend.writes.length;
    const r = await syncer.syncOnce();
    assert.deepEqual(r.blocks.map((b) => b.outcome), ['accepted', 'repaired']);
    const written = backend.writes.slice(w);
    assert.ok(!written.some((p) => p.includes(ulids[0])), 'upstream block untouched');
    assert.deepEqual(written.map((p) => p.split('/').slice(-1)[0]), ['tombstones', MANIFEST_FILENAME, 'meta.json']);
    assert.ok(!backend.files.has(rp(ulids[0], MANIFEST_FILENAME)));
    assert.deepEqual((await syncer.syncOnce()).blocks.map((b) => b.outcome), ['accepted', 'complete']);
  });

  test('extra chunk segments in a remote block are removed by the repair', async () => {
    const {dataDir, ulids, backend, syncer, view} = setup(1);
    await syncer.syncOnce();
    backend.put(rp(ulids[0], 'chunks/000002'), 'garbage');
    const r = await syncer.syncOnce();
    assert.equal(r.blocks[0].outcome, 'repaired');
    assertRemoteExactlyComplete(view, dataDir);
  });

  test('only blocks within the retention window are uploaded', async () => {
    const dataDir = path.join(root, `data-${n++}`);
    const old = makeBlocks(dataDir, 1, {endAgoMs: 20 * DAY});
    const recent = makeBlocks(dataDir, 1);
    const backend = new MemoryBackend();
    const syncer = new BlockSyncer({backend, dataDir, retentionDays: 15, periodMinutes: 60});
    const r = await syncer.syncOnce();
    assert.deepEqual(Object.fromEntries(r.blocks.map((b) => [b.ulid, b.outcome])), {[old[0]]: 'outside-retention', [recent[0]]: 'uploaded'});
    assertRemoteExactlyComplete(memoryView(backend), dataDir, recent);
  });

  test('a local block failing verification is never uploaded; logged once', async () => {
    const {dataDir, ulids, backend, syncer, log, view} = setup(2);
    const idx = path.join(dataDir, ulids[0], 'index');
    const b = fs.readFileSync(idx);
    b[b.length - 10] ^= 0xff; // TOC CRC
    fs.writeFileSync(idx, b);
    for (let i = 0; i < 2; i++) {
      const r = await syncer.syncOnce();
      assert.deepEqual(r.blocks.map((x) => x.outcome), ['corrupt', i === 0 ? 'uploaded' : 'complete']);
    }
    assert.ok(![...backend.files.keys()].some((p) => p.includes(ulids[0])));
    assert.equal(log.lines.filter((l) => l.level === 'error' && l.message.includes('fails verification')).length, 1);
    assert.deepEqual(syncer.status().corruptBlocks, [ulids[0]]);
    assertRemoteExactlyComplete(view, dataDir, [ulids[1]]);
  });

  test('bounded parallelism: blocks × files', async () => {
    const backend = new MemoryBackend({writeDelayMs: 15});
    const {syncer} = setup(6, {blockConcurrency: 2, fileConcurrency: 2}, backend);
    await syncer.syncOnce();
    assert.equal(backend.maxBlocksInFlight, 2);
    assert.equal(backend.maxFilesInFlightPerBlock, 2);
    assert.ok(backend.maxInFlight <= 4 && backend.maxInFlight >= 3, `max in flight ${backend.maxInFlight}`);
  });

  test('a block deleted locally mid-upload (compaction) is aborted and its partial remote copy removed', async () => {
    let victim = '';
    let dataDir = '';
    const backend = new MemoryBackend({
      onWriteStart: (p) => {
        if (victim && p.endsWith(`${victim}/index`)) fs.rmSync(path.join(dataDir, victim), {recursive: true, force: true});
      },
    });
    const s = setup(3, {fileConcurrency: 1}, backend);
    dataDir = s.dataDir;
    victim = s.ulids[1];
    const r = await s.syncer.syncOnce();
    assert.deepEqual(r.blocks.map((b) => b.outcome), ['uploaded', 'vanished', 'uploaded']);
    assert.ok(![...backend.files.keys()].some((p) => p.includes(victim)), 'nothing of the vanished block remains');
    assertRemoteExactlyComplete(s.view, dataDir);
    assert.ok(s.log.lines.some((l) => l.message.includes('deleted during its upload')));
  });

  test('a block deleted locally while a fresh process checks it leaves the complete remote copy alone', async () => {
    const {dataDir, ulids, backend, syncer} = setup(2);
    await syncer.syncOnce();
    const victim = ulids[0];
    // A second process over the same files, whose backend deletes the local block when its manifest is read.
    const b2 = new MemoryBackend({
      onCall: (op, p) => {
        if (op === 'read' && p.includes(victim)) fs.rmSync(path.join(dataDir, victim), {recursive: true, force: true});
      },
    });
    for (const [p, f] of backend.files) b2.put(p, f.data, f.modTime);
    const before = [...b2.files.keys()].sort();
    const r = await new BlockSyncer({backend: b2, dataDir, retentionDays: 15, periodMinutes: 60}).syncOnce();
    assert.deepEqual(r.blocks.map((b) => b.outcome), ['vanished', 'complete']);
    assert.deepEqual([...b2.files.keys()].sort(), before, 'nothing removed');
  });
});

test('notInFileStore: blocks not yet verified in the file store (local retention keeps them), none once synced', async () => {
  const {dataDir, ulids, backend, syncer} = setup(3);
  const metas = (): {ulid: string; maxTime: number}[] => listDataDir(dataDir).blocks.map((b) => b.meta);
  assert.deepEqual(syncer.notInFileStore(metas()).sort(), [...ulids].sort(), 'before the first pass every block counts as missing');
  backend.addFault({op: 'write', match: new RegExp(`${ulids[0]}/`), kind: 'error', times: 100});
  await syncer.syncOnce();
  assert.deepEqual(syncer.notInFileStore(metas()), [ulids[0]], 'the block whose upload failed');
  backend.clearFaults();
  await syncer.syncOnce();
  assert.deepEqual(syncer.notInFileStore(metas()), []);
  // Outside the remote retention a block would be deleted remotely anyway: not kept.
  assert.deepEqual(syncer.notInFileStore([{ulid: 'OLD', maxTime: Date.now() - 16 * DAY}]), []);
});

test('recheck: a remote file damaged in place (same size) is found by reading it back, and repaired from the local copy', async () => {
  const {dataDir, ulids, backend, syncer} = setup(2);
  await syncer.syncOnce();
  const target = rp(ulids[1], 'chunks/000001');
  const good = Buffer.from(backend.get(target)!);
  const bad = Buffer.from(good);
  bad[bad.length >> 1] ^= 0xff;
  backend.put(target, bad);
  const quiet = await syncer.syncOnce();
  assert.ok(quiet.blocks.every((b) => b.outcome === 'complete'), 'sizes and the manifest cannot see it');
  syncer.recheck([ulids[1]]);
  const r = await syncer.syncOnce();
  assert.deepEqual(r.blocks.filter((b) => b.outcome !== 'complete').map((b) => [b.ulid, b.outcome]), [[ulids[1], 'repaired']]);
  assert.ok(backend.get(target)!.equals(good), 'the remote file is the local bytes again');
  assert.deepEqual(fs.readFileSync(path.join(dataDir, ulids[1], 'chunks', '000001')), good);
  const after = await syncer.syncOnce();
  assert.ok(after.blocks.every((b) => b.outcome === 'complete'), 'back to the cheap checks');
});

describe('faults', () => {
  const cases: Array<[string, Parameters<MemoryBackend['addFault']>[0], Partial<BlockSyncerOptions>?]> = [
    ['S3 5xx on a data file', {op: 'write', match: /\/index$/, nth: 2, kind: 'error', status: 503}],
    ['5xx on the manifest', {op: 'write', match: /mm-manifest/, nth: 1, kind: 'error'}],
    ['5xx on meta.json', {op: 'write', match: /meta\.json$/, nth: 3, kind: 'error'}],
    ['connection dropped mid-upload, partial object left', {op: 'write', match: /chunks\/000001$/, nth: 1, kind: 'truncate', atBytes: 1000, leavePartial: true}],
    ['timeout (hung connection)', {op: 'write', match: /\/tombstones$/, nth: 2, kind: 'hang'}, {fileTimeoutMs: 200}],
    ['backend silently truncates', {op: 'write', match: /\/index$/, nth: 1, kind: 'silent-truncate', atBytes: 10}],
    ['backend corrupts bytes (caught by verifyUploads sha256)', {op: 'write', match: /chunks/, nth: 2, kind: 'corrupt'}, {verifyUploads: 'sha256'}],
    ['disk full on the store', {op: 'write', match: /chunks/, times: 3, kind: 'enospc', atBytes: 4096, leavePartial: true}],
    ['removal fails during a repair', {op: 'remove', kind: 'error', times: 1}],
  ];
  for (const [name, fault, opts] of cases) {
    test(`${name} → next pass repairs; remote = exactly the complete set`, async () => {
      const {dataDir, backend, syncer, view, log} = setup(3, opts);
      if (fault.op === 'remove') {
        await syncer.syncOnce();
        backend.files.delete(rp(remoteBlocks(view).keys().next().value!, 'tombstones'));
      }
      backend.addFault(fault);
      const r1 = await syncer.syncOnce();
      const failed = r1.blocks.filter((b) => b.outcome === 'failed').map((b) => b.ulid);
      assert.equal(failed.length, fault.times ?? 1, JSON.stringify(r1.blocks));
      assert.equal(r1.uploaded + r1.failed + r1.blocks.filter((b) => b.outcome === 'complete').length, 3);
      assert.equal(syncer.status().lastPass?.result, 'partial');
      assert.deepEqual(syncer.status().failingBlocks.map((f) => f.ulid).sort(), [...failed].sort());
      for (const u of failed) {
        const warn = log.lines.filter((l) => l.level === 'warn' && l.fields?.block === u);
        assert.equal(warn.length, 1, 'logged once');
        assert.match(String(warn[0].fields?.error), /injected|ENOSPC|timeout|wrote|expected|differs|connection reset/);
        // Whatever is remote for a failed block does not claim to be complete (the remove
        // case started from a complete-looking block and could not take meta.json away).
        if (fault.op !== 'remove') assert.ok(!remoteBlocks(view).get(u)?.has('meta.json'), `${u} has meta.json`);
      }
      backend.clearFaults();
      const r2 = await syncer.syncOnce();
      assert.equal(r2.failed, 0);
      assertRemoteExactlyComplete(view, dataDir);
      for (const u of failed) assert.ok(log.lines.some((l) => l.level === 'info' && l.message.includes('after earlier failures') && l.fields?.block === u));
      assert.deepEqual(syncer.status().failingBlocks, []);
    });
  }

  test('a block failing on every pass never stops the others; one warning per streak', async () => {
    const {dataDir, ulids, backend, syncer, view, log} = setup(3);
    backend.addFault({op: 'write', match: new RegExp(`${ulids[1]}/index$`), kind: 'error'});
    for (let i = 0; i < 3; i++) {
      const r = await syncer.syncOnce();
      assert.deepEqual(r.blocks.map((b) => b.outcome), i === 0 ? ['uploaded', 'failed', 'uploaded'] : ['complete', 'failed', 'complete']);
    }
    assert.equal(log.lines.filter((l) => l.level === 'warn').length, 1);
    assert.equal(syncer.status().failingBlocks[0].attempts, 3);
    assert.equal(syncer.status().totals.blockFailures, 3);
    backend.clearFaults();
    await syncer.syncOnce();
    assertRemoteExactlyComplete(view, dataDir);
  });

  test('remote listing failure fails the pass, not the loop', async () => {
    const {dataDir, backend, syncer, view, log} = setup(2);
    backend.addFault({op: 'list', kind: 'error', times: 2});
    assert.match((await syncer.syncOnce()).error ?? '', /injected/);
    assert.match((await syncer.syncOnce()).error ?? '', /injected/);
    assert.equal(syncer.status().lastPass?.result, 'failed');
    assert.equal(log.lines.filter((l) => l.level === 'error').length, 1);
    assert.equal((await syncer.syncOnce()).uploaded, 2);
    assertRemoteExactlyComplete(view, dataDir);
    assert.ok(log.lines.some((l) => l.message.includes('listing works again')));
  });
});

describe('scheduling', () => {
  test('start() syncs at once, kick() is debounced, passes never overlap, stop() waits', async () => {
    const backend = new MemoryBackend({writeDelayMs: 5});
    const {dataDir, syncer} = setup(2, {kickDelayMs: 30}, backend);
    let concurrent = 0;
    let maxConcurrent = 0;
    let finished = 0;
    const orig = syncer.syncOnce.bind(syncer);
    const passes: number[] = [];
    const wrapped = (syncer as unknown as {pass: () => Promise<unknown>}).pass.bind(syncer);
    (syncer as unknown as {pass: () => Promise<unknown>}).pass = async () => {
      concurrent++;
      maxConcurrent = Math.max(maxConcurrent, concurrent);
      passes.push(Date.now());
      try {
        return await wrapped();
      } finally {
        concurrent--;
        finished++;
      }
    };
    const until = async (cond: () => boolean): Promise<void> => {
      for (let t = 0; !cond() && t < 500; t++) await new Promise((r) => setTimeout(r, 10));
    };
    syncer.start();
    // The start-up pass must be over: on a busy machine it can outlast the kick's debounce,
    // and a kick while the explicit pass below is still queued rightly joins it.
    await until(() => finished >= 1);
    assert.equal(passes.length, 1, 'start-up pass');
    for (let i = 0; i < 5; i++) syncer.kick();
    const [a, b] = [orig(), orig()];
    assert.equal(a, b, 'queued callers share one pass');
    await a;
    await until(() => passes.length >= 3);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(passes.length, 3, 'start-up + explicit + one debounced kick');
    assert.equal(maxConcurrent, 1);
    makeBlocks(dataDir, 1, {endAgoMs: 0});
    syncer.kick();
    await syncer.stop();
    assert.equal(concurrent, 0);
  });

  test('stop() aborts a pass stuck on a hung upload after stopTimeoutMs', async () => {
    const {syncer, backend} = setup(1, {stopTimeoutMs: 50, fileTimeoutMs: 60_000});
    backend.addFault({op: 'write', kind: 'hang'});
    syncer.start();
    await new Promise((r) => setTimeout(r, 20));
    const t = Date.now();
    await syncer.stop();
    assert.ok(Date.now() - t < 2_000);
    assert.equal(syncer.status().running, false);
    assert.equal(syncer.status().lastPass?.failed, 1);
  });
});

test('retention day arithmetic: H and DAY helpers', () => {
  assert.equal(DAY, 24 * H);
});
