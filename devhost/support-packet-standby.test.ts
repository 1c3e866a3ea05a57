// The Support Packet on a node that does not scrape: the plugin (from source) under the
// dev host starts while another node ("ghost", played by this test over the same KV
// store and file store) holds the scraping lease. GenerateSupportData goes through the
// real wire; the plugin asks the scraping node to flush (flush_request in the KV store),
// the test's node writes its "head" as a block into the file store and answers, and the
// fresh dump contains that block. When the scraping node does not answer, the packet
// comes after the bounded wait with a WARNING.txt saying the newest samples may be missing.
import assert from 'node:assert/strict';
import {execFileSync} from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {after, before, test} from 'node:test';

import {ClusterFlush, FLUSH_REQUEST_KEY} from '../server/src/cluster/mod.ts';
import {LocalBackend} from '../server/src/filestore/mod.ts';
import {BlockSyncer} from '../server/src/sync/mod.ts';
import {writeBlock} from '../server/src/tsdb/block/mod.ts';
import {startDevHost, type DevHost} from './devhost.ts';
import type {KVSetOptions} from './kvstore.ts';

const id = 'com.mattermost.mattermost-plugin-metrics';
const ghost = 'ghost-node#00000001';
let h: DevHost;
let dir = '';

before(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'devhost-standby-'));
  // The other node holds the scraping lease before this one starts (as the plugin stores it).
  const lease = Buffer.from(JSON.stringify({node: ghost, since: Date.now()})).toString('base64');
  await fs.writeFile(path.join(dir, 'kv.json'), JSON.stringify({leader_scrape: {value: lease, expireAt: Date.now() + 600_000}}));
  h = await startDevHost({dir, port: 0, metricsPort: 0, pluginExe: 'tsx', logWrite: () => {}});
  for (let i = 0; i < 100; i++) {
    const st = (await (await fetch(`${h.url}/plugins/${id}/status`, {headers: {'X-Devhost-User': 'admin'}})).json()) as {node?: string; isLeader?: boolean};
    if (st.node) {
      assert.equal(st.isLeader, false, 'the plugin stands by');
      break;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
});

after(async () => {
  await h?.stop();
  await fs.rm(dir, {recursive: true, force: true});
});

async function supportPacket(name: string): Promise<{files: string[]; read: (f: string) => Promise<string>; status: any; packetDir: string}> {
  const res = await fetch(`${h.url}/api/v4/system/support_packet`);
  assert.equal(res.status, 200, await res.clone().text());
  const packetDir = path.join(dir, name);
  await fs.mkdir(packetDir);
  await fs.writeFile(path.join(dir, `${name}.tar`), Buffer.from(await res.arrayBuffer()));
  execFileSync('tar', ['xf', path.join(dir, `${name}.tar`), '-C', packetDir]);
  const ours = path.join(packetDir, 'mattermost-plugin-metrics');
  const read = (f: string): Promise<string> => fs.readFile(path.join(ours, f), 'utf8');
  return {files: (await fs.readdir(ours)).sort(), read, status: JSON.parse(await read('status.json')), packetDir: ours};
}

void test('a standby node asks the scraping node to flush: the fresh dump includes its newest block', async () => {
  const headDir = path.join(dir, 'ghost-data');
  const backend = new LocalBackend(path.join(dir, 'filestore'));
  const syncer = new BlockSyncer({backend, dataDir: headDir, retentionDays: 36500, periodMinutes: 60});
  let flushedBlock = '';
  const kv = {kvGet: async (k: string) => h.kv.get(k), kvSetWithOptions: (k: string, v: Uint8Array | null, o: KVSetOptions) => h.kv.setWithOptions(k, v, o)};
  const scraping = new ClusterFlush(kv, {
    nodeId: ghost,
    isLeader: () => true,
    leaderNode: async () => ghost,
    flush: async () => {
      const now = Date.now();
      const samples = Array.from({length: 30}, (_, i) => ({t: now - (30 - i) * 10_000, v: i}));
      flushedBlock = writeBlock(headDir, [{labels: {__name__: 'ghost_head_metric', instance: 'ghost:8067'}, samples}], {fsync: false}).ulid;
      await syncer.syncOnce();
    },
    pollMs: 50,
  });
  scraping.start();
  let packet;
  try {
    packet = await supportPacket('answered');
  } finally {
    await scraping.stop();
  }
  assert.ok(flushedBlock, 'the scraping node was asked to flush');
  const dumpName = packet.files.find((f) => f.endsWith('.tar.gz'));
  assert.ok(dumpName, packet.files.join(','));
  assert.deepEqual(packet.files, [dumpName, 'status.json'].sort(), 'no WARNING.txt');
  assert.equal(packet.status.isLeader, false);
  assert.equal(packet.status.supportPacket.outcome, 'fresh');
  assert.deepEqual(packet.status.supportPacket.warnings, []);
  const manifest = JSON.parse(execFileSync('tar', ['xzOf', path.join(packet.packetDir, dumpName), 'manifest.json'], {encoding: 'utf8'})) as {blocks: Array<{ulid: string}>};
  assert.ok(
    manifest.blocks.some((b) => b.ulid === flushedBlock),
    `the flushed block ${flushedBlock} is in the dump (${manifest.blocks.map((b) => b.ulid).join(',')})`,
  );
  assert.equal(h.kv.get(FLUSH_REQUEST_KEY), undefined, 'the request was served and removed');
});

void test('the scraping node does not answer: the packet comes after the bounded wait, with a WARNING.txt', async (t) => {
  const started = Date.now();
  const packet = await supportPacket('unanswered');
  const ms = Date.now() - started;
  t.diagnostic(`support packet after ${ms} ms`);
  assert.ok(ms < 45_000, `${ms} ms`);
  assert.ok(packet.files.includes('WARNING.txt'), packet.files.join(','));
  assert.equal(packet.status.supportPacket.outcome, 'fresh', packet.status.supportPacket.reason);
  const warning = await packet.read('WARNING.txt');
  assert.match(warning, /may be incomplete/);
  assert.match(warning, new RegExp(`scraping node ${ghost} did not answer the flush request within 20 s; samples after the newest block`));
  assert.equal(packet.status.supportPacket.warnings.length, 1);
});
