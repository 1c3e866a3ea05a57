// Dump jobs on a two-node cluster through the Go go-plugin host (`harness serve -nodes 2`):
// two processes of our real executable, each in its own working directory (own local
// TSDB), sharing the KV store, the plugin settings and the file store as the nodes of a
// Mattermost HA cluster do. Every API call is a ServeHTTP round trip to one node.
//
//  1. The same range requested on both nodes at once: one job (deduplicated cluster-wide),
//     built once, one dump file.
//  2. A job accepted by a node that is busy and then dies: the other node picks it up and
//     builds it; the dead node's running job fails with a reason when it comes back; no
//     job stays in progress and only finished dumps remain in the file store.
//  3. A node restarting while the other (same hostname) builds a job leaves that job alone.
//
// Uses the bundle's executable or $PLUGIN_EXE (see dump-e2e.test.ts); skipped without one.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import {after, before, test} from 'node:test';

import {writeBlock} from '../../server/src/tsdb/block/mod.ts';
import {filesUnder} from './dump-check.ts';
import {buildHarness, ownPluginSkip, resolvePluginExe} from './goharness.ts';
import {type Job, Serve, isFinished} from './serve.ts';

const H = 3_600_000;
const dumpsDir = 'plugin-data/mattermost-plugin-metrics/dump';
const blocksDir = 'plugin-data/mattermost-plugin-metrics/data';

const target = resolvePluginExe();
const skip = ownPluginSkip(target);

const windowStart = Math.floor(Date.now() / (2 * H)) * 2 * H;
/** Small blocks (node 1's store): quick jobs. */
const smallFrom = windowStart - 4 * H;
const smallTo = windowStart;
/** Big blocks (node 0's store, ~22 MB each, incompressible): a job that runs for seconds. */
const bigFrom = windowStart - 20 * H;
const bigTo = windowStart - 4 * H;

let root = '';
let cluster: Serve | undefined;
let targetServer: http.Server | undefined;

function seed(dataDir: string, from: number, to: number, series: number, stepMs: number, name: string): void {
  for (let start = from; start < to; start += 2 * H) {
    const all = [];
    for (let s = 0; s < series; s++) {
      const samples = [];
      for (let t = start; t < start + 2 * H; t += stepMs) samples.push({t, v: Math.random() * 1e6});
      all.push({labels: {__name__: name, job: 'seed', instance: name, series: String(s)}, samples});
    }
    writeBlock(dataDir, all, {minTime: start, maxTime: start + 2 * H, fsync: false});
  }
}

/** Files in the file store's dump dir that are not the file of a successful job. */
async function orphans(): Promise<string[]> {
  const all = await cluster!.jobs();
  const allowed = new Set(all.filter((j) => j.status === 'success').map((j) => `${j.id}/${j.file_name}`));
  return filesUnder(path.join(root, 'filestore', ...dumpsDir.split('/'))).filter((f) => !allowed.has(f));
}

before(async () => {
  if (skip) return;
  const built = buildHarness();
  assert.ok(built.ok, built.output);
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'dump-cluster-'));
  const cwd = path.join(root, 'cluster');
  const data = (i: number): string => path.join(cwd, `node${i}`, 'mattermost-plugin-metrics', 'data');
  fs.mkdirSync(data(0), {recursive: true});
  fs.mkdirSync(data(1), {recursive: true});
  seed(data(0), bigFrom, bigTo, 400, 1000, 'big');
  seed(data(1), smallFrom, smallTo, 50, 15_000, 'small');
  // Nothing to scrape: a target that answers an empty body (the lease holder scrapes it).
  targetServer = http.createServer((_req, res) => res.writeHead(200, {'Content-Type': 'text/plain'}).end('# nothing\n'));
  const port = await new Promise<number>((resolve) => targetServer!.listen(0, '127.0.0.1', () => resolve((targetServer!.address() as {port: number}).port)));
  cluster = await Serve.start({target, cwd, fileStore: path.join(root, 'filestore'), metricsPort: port, nodes: 2, config: {ScrapeIntervalSeconds: 5, ScrapeTimeoutSeconds: 5}});
  // Node 0's blocks must be in the file store (its leader sync) for node 1 to see them.
  for (let i = 0; filesUnder(path.join(root, 'filestore', ...blocksDir.split('/'))).filter((f) => f.endsWith('meta.json')).length < 8; i++) {
    assert.ok(i < 900, `blocks not synced:\n${cluster.logTail()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
});

after(async () => {
  await cluster?.stop();
  await new Promise((r) => (targetServer ? targetServer.close(r) : r(null)));
  if (root) fs.rmSync(root, {recursive: true, force: true});
});

void test('the same range requested on both nodes at once: one job, built once', {skip, timeout: 120_000}, async () => {
  // A range whose dump takes seconds, so that the job is still active when the later request is handled.
  const [a, b] = await Promise.all([cluster!.createJob(bigFrom, bigTo - 8 * H, 0), cluster!.createJob(bigFrom, bigTo - 8 * H, 1)]);
  if (a.job.id !== b.job.id) {
    const all = await cluster!.jobs();
    assert.fail(`two jobs for identical concurrent requests: ${JSON.stringify(all.map((j) => ({id: j.id, status: j.status, node: j.node, create_at: j.create_at, finish_at: j.finish_at})))}`);
  }
  assert.deepEqual([a.existing, b.existing].sort(), [false, true]);
  const done = await cluster!.waitJob(a.job.id, isFinished, 90_000);
  assert.equal(done.status, 'success', JSON.stringify(done));
  // Both nodes list the same record.
  const seenBy1 = (await cluster!.jobs(1)).find((j) => j.id === a.job.id);
  assert.equal(seenBy1?.sha256, done.sha256);
  assert.deepEqual(
    filesUnder(path.join(root, 'filestore', ...dumpsDir.split('/'))).filter((f) => f.startsWith(`${a.job.id}/`)),
    [`${a.job.id}/${done.file_name}`],
    'one dump file',
  );
  assert.equal((await cluster!.jobs()).length, 1);
});

void test('a busy node dies with a job still pending: the other node builds it; nothing stays in progress, no orphan file', {skip, timeout: 180_000}, async (t) => {
  const {job: busy} = await cluster!.createJob(bigFrom, bigTo, 0);
  const running = await cluster!.waitJob(busy.id, (j) => (j.status === 'in_progress' && j.phase === 'archive') || isFinished(j), 120_000);
  assert.equal(running.status, 'in_progress', `finished before the test could go on: ${JSON.stringify(running)}`);
  const node0 = running.node as string;
  // Node 0 accepts a second job while it builds the first: it waits its turn.
  const {job: queued} = await cluster!.createJob(smallFrom + H, smallTo, 0);
  const q = (await cluster!.jobs()).find((j) => j.id === queued.id);
  assert.ok(q?.status === 'pending' || q?.node !== node0, `node 0 cannot run it now: ${JSON.stringify(q)}`);
  await cluster!.control('kill', 0);

  const built = await cluster!.waitJob(queued.id, isFinished, 90_000, 1);
  assert.equal(built.status, 'success', JSON.stringify(built));
  assert.notEqual(built.node, node0, 'built by the surviving node');
  t.diagnostic(`pending job built by ${built.node} after ${node0} died`);

  // Node 0 comes back: its interrupted build fails with a reason, the other job is untouched.
  await cluster!.control('start', 0);
  const interrupted = await cluster!.waitJob(busy.id, isFinished, 60_000, 1);
  assert.equal(interrupted.status, 'error');
  assert.match(interrupted.error, /restart|interrupt|stopped updating/i);
  const all = await cluster!.jobs(1);
  assert.deepEqual(all.filter((j) => !isFinished(j)).map((j: Job) => j.id), [], 'no job in progress');
  assert.equal(all.find((j) => j.id === queued.id)?.status, 'success');
  assert.deepEqual(await orphans(), [], 'only finished dumps in the file store');
  // And both nodes still serve the finished dump.
  for (const node of [0, 1]) {
    const r = await cluster!.api(`/jobs/download/${queued.id}`, {node, headers: {Range: 'bytes=0-1'}});
    assert.equal(r.status, 206);
    assert.deepEqual([...Buffer.from(await r.arrayBuffer())], [0x1f, 0x8b]);
  }
});

void test('a node that restarts does not fail a job another live node is building on the same host', {skip, timeout: 180_000}, async () => {
  const {job} = await cluster!.createJob(bigFrom + 2 * H, bigTo, 1);
  const running = await cluster!.waitJob(job.id, (j) => (j.status === 'in_progress' && j.phase === 'archive') || isFinished(j), 120_000, 1);
  assert.equal(running.status, 'in_progress', `finished before the test could go on: ${JSON.stringify(running)}`);
  // Both nodes run on this machine, so they share a hostname (as containers can).
  await cluster!.control('kill', 0);
  await cluster!.control('start', 0);
  const done = await cluster!.waitJob(job.id, isFinished, 120_000, 1);
  assert.equal(done.status, 'success', `node 1 is alive and heartbeating, its job must not be failed by node 0's start-up: ${JSON.stringify(done)}`);
  assert.deepEqual(await orphans(), []);
});
