// A dump built on a standby node: the scraping node's newest samples (only in its head)
// reach the dump through a flush request over the plugin KV (dev host semantics), or the
// dump says they may be missing. Real blocks, real file store (LocalBackend), real builder.
import assert from 'node:assert/strict';
import {execFileSync} from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {after, before, test} from 'node:test';

import {KVStore} from '../../../devhost/kvstore.ts';
import {ClusterFlush, Lease, type FlushKV, type LeaseKV} from '../cluster/mod.ts';
import {LocalBackend, remoteDumpDir} from '../filestore/mod.ts';
import {BlockSyncer} from '../sync/mod.ts';
import {writeBlock} from '../tsdb/block/mod.ts';
import {buildDump} from './builder.ts';
import {dumpPrepare, newestRemoteBlockEnd} from './prepare.ts';

const H = 3_600_000;
const MD = {serverVersion: '10.5.1', diagnosticId: 'abcdefghijklmnopqrstuvwxyz', pluginVersion: '0.8.0', siteURL: 'https://chat.example.com'};
let root = '';

before(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'dump-prepare-'));
});
after(() => {
  if (root) fs.rmSync(root, {recursive: true, force: true});
});

const samples = (from: number, to: number) => {
  const out: Array<{t: number; v: number}> = [];
  for (let t = from; t < to; t += 60_000) out.push({t, v: t / 1000});
  return out;
};

let n = 0;
/** Two nodes sharing a KV store and a file store; the leader's "head" is a block written on flush. */
async function setup(opts: {serve: boolean}) {
  const dir = path.join(root, `c${n++}`);
  const backend = new LocalBackend(path.join(dir, 'store'));
  const leaderData = path.join(dir, 'leader');
  const headFrom = Math.floor((Date.now() - 4 * H) / (2 * H)) * 2 * H;
  // Synced history: one 2 h block ending where the head begins.
  writeBlock(leaderData, [{labels: {__name__: 'up', instance: 'app-1:8067'}, samples: samples(headFrom - 2 * H, headFrom)}], {fsync: false, minTime: headFrom - 2 * H, maxTime: headFrom});
  const syncer = new BlockSyncer({backend, dataDir: leaderData, retentionDays: 36500, periodMinutes: 60});
  assert.equal((await syncer.syncOnce()).uploaded, 1);
  const store = await KVStore.open();
  const kv = (): FlushKV & LeaseKV => ({
    kvGet: async (k) => store.get(k),
    kvSetWithOptions: (k, v, o) => store.setWithOptions(k, v, o),
    kvCompareAndDelete: (k, v) => store.compareAndDelete(k, v),
  });
  const lease = {key: 'leader_scrape', ttlMs: 1000, intervalMs: 250, marginMs: 250};
  const leaderLease = new Lease(kv(), {...lease, nodeId: 'app-1#aaaa'});
  leaderLease.start();
  while (!leaderLease.isLeader) await new Promise((r) => setTimeout(r, 5));
  let leaderFlushes = 0;
  const leader = new ClusterFlush(kv(), {
    nodeId: 'app-1#aaaa',
    isLeader: () => leaderLease.isLeader,
    leaderNode: async () => (await leaderLease.status()).holder?.node ?? null,
    // The head (samples up to now) becomes a block and is synced, as db.flush() + syncOnce().
    flush: async () => {
      leaderFlushes++;
      const now = Date.now();
      writeBlock(leaderData, [{labels: {__name__: 'up', instance: 'app-1:8067'}, samples: samples(headFrom, now)}], {fsync: false, minTime: headFrom, maxTime: now});
      await syncer.syncOnce();
    },
    pollMs: 20,
  });
  if (opts.serve) leader.start();
  const standbyLease = new Lease(kv(), {...lease, nodeId: 'app-2#bbbb'});
  standbyLease.start();
  let localFlushes = 0;
  const standby = new ClusterFlush(kv(), {
    nodeId: 'app-2#bbbb',
    isLeader: () => standbyLease.isLeader,
    leaderNode: async () => (await standbyLease.status()).holder?.node ?? null,
    flush: async () => {},
    ackPollMs: 10,
  });
  const prepare = dumpPrepare({local: async () => void localFlushes++, flusher: standby, backend, waitMs: 300});
  const build = async (from: number, to: number) => {
    const outPath = `${remoteDumpDir}/d${n++}/x.tar.gz`;
    const r = await buildDump({backend, from, to, outPath, metadata: MD, prepare});
    const manifest = JSON.parse(execFileSync('tar', ['xzOf', path.join(dir, 'store', ...outPath.split('/')), 'manifest.json'], {encoding: 'utf8'})) as {warnings?: string[]};
    return {r, manifest};
  };
  return {
    headFrom,
    backend,
    build,
    leaderFlushes: () => leaderFlushes,
    localFlushes: () => localFlushes,
    stop: async () => {
      await leader.stop();
      await standbyLease.stop();
      await leaderLease.stop();
    },
  };
}

test('a range ending after the newest synced block: the scraping node flushes first, the dump ends now', async () => {
  const c = await setup({serve: true});
  try {
    assert.equal(await newestRemoteBlockEnd(c.backend), c.headFrom);
    const now = Date.now();
    const {r, manifest} = await c.build(now - 8 * H, now);
    assert.equal(c.localFlushes(), 1);
    assert.equal(c.leaderFlushes(), 1);
    assert.equal(r.blocks.length, 2, 'the flushed head is in the dump');
    assert.ok(r.actualRange.max >= now - 1000, `dump ends ${new Date(r.actualRange.max).toISOString()}`);
    assert.equal(r.warnings, undefined);
    assert.equal(manifest.warnings, undefined);
  } finally {
    await c.stop();
  }
});

test('a range the file store already covers: nothing is asked', async () => {
  const c = await setup({serve: true});
  try {
    const {r} = await c.build(c.headFrom - 2 * H, c.headFrom - H);
    assert.equal(c.leaderFlushes(), 0);
    assert.equal(r.warnings, undefined);
  } finally {
    await c.stop();
  }
});

test('the scraping node does not answer: the build goes on after the bounded wait, the dump says what may be missing', async () => {
  const c = await setup({serve: false});
  try {
    const started = Date.now();
    const {r, manifest} = await c.build(started - 8 * H, started);
    assert.ok(Date.now() - started < 3_000);
    assert.equal(c.leaderFlushes(), 0);
    assert.equal(r.blocks.length, 1, 'only the synced history');
    assert.equal(r.warnings?.length, 1);
    assert.match(r.warnings![0], /scraping node app-1#aaaa did not answer the flush request within 0\.3 s; samples after the newest block/);
    assert.deepEqual(manifest.warnings, r.warnings);
  } finally {
    await c.stop();
  }
});
