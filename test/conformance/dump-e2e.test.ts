// Dump jobs end to end through the Go go-plugin host (`harness serve`, test/goharness):
// our real executable runs under hashicorp/go-plugin with a file store (FileSettings,
// local driver), the harness's KV, and a synthetic /metrics target served here, which the
// plugin scrapes every second. Every API call is a ServeHTTP round trip.
//
//  1. A range ending "now": create → poll → download (whole and Range) → tar xzf → a real
//     Prometheus on the extracted dir returns exactly the samples the target served.
//  2. A range crossing a block boundary: two adjacent 2 h blocks with known samples are
//     pre-seeded in the plugin's data dir before it starts (the plugin syncs them to the
//     file store); the range [boundary − 1 h, boundary + 1 h) must come back exactly.
//  3. Restart in the middle of a dump: ~180 MB of incompressible blocks are pre-seeded, a
//     job over them is started, the plugin process is SIGKILLed while the archive is being
//     written and started again: the job must not stay in progress (it fails with a reason
//     or finishes) and the file store's dump dir holds nothing but finished dumps.
//  4. Cancel and delete while the archive is being written: the job ends (cancelled: error
//     with the reason; deleted: gone) and its directory in the file store is removed.
//
// Uses the bundle's executable (dist/…/plugin-linux-<arch>, `make dist`) or $PLUGIN_EXE;
// skipped when neither exists (the Go reference plugin has no dump jobs).
import assert from 'node:assert/strict';
import {createHash} from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import {after, before, test} from 'node:test';

import {readMetaFile, writeBlock} from '../../server/src/tsdb/block/mod.ts';
import {ensurePrometheus} from '../../server/src/tsdb/testing/prometheus.ts';
import {MetricsTarget, checkServedSamples, extract as extractTo, filesUnder, rawSamples as rawSamplesOf} from './dump-check.ts';
import {ownPluginSkip, resolvePluginExe} from './goharness.ts';
import {type Job, type ScrapingNode, type Serve, startScrapingNode} from './serve.ts';

const H = 3_600_000;
const dumpsDir = 'plugin-data/mattermost-plugin-metrics/dump';

const target = resolvePluginExe();
const prom = ensurePrometheus();
const skip = ownPluginSkip(target, prom);

// Block windows, aligned to 2 h like Prometheus' own: the two known blocks end at the
// current window's start (the plugin's head starts after them), the big ones before.
const windowStart = Math.floor(Date.now() / (2 * H)) * 2 * H;
const boundary = windowStart - 2 * H;
const knownStep = 15_000;
const bigFrom = windowStart - 20 * H;
const bigTo = windowStart - 4 * H;

let node: ScrapingNode | undefined;
let root = '';
let harness: Serve | undefined;
const metrics = new MetricsTarget();
const extract = (file: string): string => extractTo(file, root);
const rawSamples = (dataDir: string, selector: string, from: number, to: number) => rawSamplesOf(prom!, dataDir, selector, from, to);

function knownValue(t: number): number {
  return (t / knownStep) % 1000;
}

/** Two adjacent 2 h blocks of `e2e_known{…}` every 15 s: [boundary − 2 h, boundary) and [boundary, boundary + 2 h). */
function seedKnownBlocks(dataDir: string): void {
  for (const start of [boundary - 2 * H, boundary]) {
    const samples = [];
    for (let t = start; t < start + 2 * H; t += knownStep) samples.push({t, v: knownValue(t)});
    writeBlock(dataDir, [{labels: {__name__: 'e2e_known', job: 'seed', instance: 'seed:1'}, samples}], {minTime: start, maxTime: start + 2 * H, fsync: false});
  }
}

/** 2 h blocks of 400 series × 1 s random values (~22 MB each, incompressible) over [bigFrom, bigTo). */
function seedBigBlocks(dataDir: string): void {
  for (let start = bigFrom; start < bigTo; start += 2 * H) {
    const series = [];
    for (let s = 0; s < 400; s++) {
      const samples = [];
      for (let t = start; t < start + 2 * H; t += 1000) samples.push({t, v: Math.random() * 1e6});
      series.push({labels: {__name__: 'e2e_big', job: 'seed', instance: 'seed:2', series: String(s)}, samples});
    }
    writeBlock(dataDir, series, {minTime: start, maxTime: start + 2 * H, fsync: false});
  }
}

const api = (p: string, init?: Parameters<Serve['api']>[1]): Promise<Response> => harness!.api(p, init);
const control = (action: 'kill' | 'start' | 'stop'): Promise<void> => harness!.control(action);
const jobs = (): Promise<Job[]> => harness!.jobs();
const waitJob = (id: string, done: (j: Job) => boolean, timeoutMs?: number): Promise<Job> => harness!.waitJob(id, done, timeoutMs);
const createJob = async (minT: number, maxT: number): Promise<Job> => (await harness!.createJob(minT, maxT)).job;

/** Downloads a finished job whole and by Range; checks size, checksum and the part; returns the file. */
async function download(job: Job): Promise<string> {
  const whole = await api(`/jobs/download/${job.id}`);
  assert.equal(whole.status, 200);
  assert.equal(whole.headers.get('content-type'), 'application/gzip');
  assert.equal(whole.headers.get('content-length'), String(job.size));
  const bytes = Buffer.from(await whole.arrayBuffer());
  assert.equal(bytes.length, job.size);
  assert.equal(createHash('sha256').update(bytes).digest('hex'), job.sha256);
  const from = Math.floor(job.size / 3);
  const to = Math.min(job.size - 1, from + 70_000);
  const part = await api(`/jobs/download/${job.id}`, {headers: {Range: `bytes=${from}-${to}`}});
  assert.equal(part.status, 206);
  assert.equal(part.headers.get('content-range'), `bytes ${from}-${to}/${job.size}`);
  assert.ok(Buffer.from(await part.arrayBuffer()).equals(bytes.subarray(from, to + 1)), 'the Range body is the same bytes as the whole file');
  const file = path.join(root, `${job.id}.tar.gz`);
  fs.writeFileSync(file, bytes);
  return file;
}

before(async () => {
  if (skip) return;
  const seed = (dataDir: string): void => {
    seedKnownBlocks(dataDir);
    seedBigBlocks(dataDir);
  };
  node = await startScrapingNode({target, prefix: 'dump-e2e', metrics, seed});
  ({root, harness} = node);
});

after(async () => {
  await node?.close();
  await metrics.close();
});

void test('a dump of a range ending now holds exactly the samples the target served', {skip, timeout: 120_000}, async (t) => {
  // A few scrapes first; the range starts before the first one.
  const from = Date.now() - 60_000;
  await metrics.waitServed(5, 30_000, () => harness!.logTail());
  const now = Date.now();
  const created = await createJob(from, now);
  const job = await waitJob(created.id, (j) => j.status === 'success' || j.status === 'error');
  assert.equal(job.status, 'success', JSON.stringify(job));
  assert.equal(job.requested_max_t, now);
  const dataDir = extract(await download(job));

  const failed = await checkServedSamples(prom!, dataDir, metrics, from, now);
  if (failed > 0) {
    const status = (await (await api('/status')).json()) as {targets?: unknown};
    const logged = harness!
      .logTail(2_000_000)
      .split('\n')
      .filter((l) => /scrape/i.test(l) && /fail|error|timeout|timed out/i.test(l))
      .slice(0, 3);
    t.diagnostic(`${failed} scrape(s) failed (up=0) and are rightly absent; targets now: ${JSON.stringify(status.targets)}; log: ${logged.join(' | ')}`);
  }
});

void test('a dump of a range crossing a block boundary holds exactly the seeded samples', {skip, timeout: 120_000}, async () => {
  const from = boundary - H;
  const to = boundary + H;
  const created = await createJob(from, to);
  const job = await waitJob(created.id, (j) => j.status === 'success' || j.status === 'error');
  assert.equal(job.status, 'success', JSON.stringify(job));
  assert.ok(job.actual_min_t <= from && job.actual_max_t >= to - knownStep, `actual range ${job.actual_min_t}..${job.actual_max_t}`);
  const dataDir = extract(await download(job));
  const blocks = fs.readdirSync(dataDir).filter((n) => /^[0-9A-HJKMNP-TV-Z]{26}$/.test(n));
  const spans = blocks.map((b) => readMetaFile(path.join(dataDir, b))).filter((m) => m.minTime < to && m.maxTime > from);
  assert.ok(spans.length >= 2 || spans.some((m) => m.minTime <= from && m.maxTime >= to), 'the range is covered by more than one block, or by one compacted across the boundary');

  const got = await rawSamples(dataDir, 'e2e_known', from, to);
  assert.equal(got.length, 1);
  const samples = got[0].samples;
  const expected: Array<[number, number]> = [];
  for (let t = from; t < to; t += knownStep) expected.push([t, knownValue(t)]);
  assert.deepEqual(samples, expected);
});

void test('a plugin killed in the middle of a dump: after the restart the job is not in progress and no orphan file is left', {skip, timeout: 180_000}, async (t) => {
  const created = await createJob(bigFrom, bigTo);
  // Kill while the archive is being written (after prepare and block selection).
  const running = await waitJob(created.id, (j) => (j.status === 'in_progress' && j.phase === 'archive' && j.progress > 0) || j.status !== 'pending' && j.status !== 'in_progress', 120_000);
  assert.equal(running.status, 'in_progress', `the job finished before it could be interrupted: ${JSON.stringify(running)}`);
  await control('kill');
  t.diagnostic(`killed at progress ${running.progress} (phase ${running.phase})`);
  const fileStoreDumps = path.join(root, 'filestore', ...dumpsDir.split('/'));
  const leftByKill = filesUnder(fileStoreDumps);

  await control('start');
  const after = await waitJob(created.id, (j) => j.status !== 'pending' && j.status !== 'in_progress', 120_000);
  if (after.status === 'error') assert.match(after.error, /restart|interrupt/i, 'the reason says what happened');
  else assert.equal(after.status, 'success', JSON.stringify(after));
  t.diagnostic(`after the restart: ${after.status}${after.error ? ` (${after.error})` : ''}; dump dir right after the kill: ${leftByKill.join(', ')}`);
  const all = await jobs();
  assert.deepEqual(all.filter((j) => j.status === 'pending' || j.status === 'in_progress').map((j) => j.id), [], 'no job stuck in progress');

  // Only finished dumps remain: dump/<id>/<file_name> of successful jobs.
  const allowed = new Set(all.filter((j) => j.status === 'success').map((j) => `${j.id}/${j.file_name}`));
  const orphans = filesUnder(fileStoreDumps).filter((f) => !allowed.has(f));
  assert.deepEqual(orphans, [], `orphan files in the file store's dump dir (the kill left: ${leftByKill.join(', ') || 'nothing'})`);
  // The restarted plugin still works: a new job over the same range succeeds.
  const again = await createJob(bigFrom, bigTo);
  const done = await waitJob(again.id, (j) => j.status === 'success' || j.status === 'error', 120_000);
  assert.equal(done.status, 'success', JSON.stringify(done));
});

async function waitArchiving(id: string): Promise<Job> {
  const j = await waitJob(id, (x) => (x.status === 'in_progress' && x.phase === 'archive') || (x.status !== 'pending' && x.status !== 'in_progress'), 120_000);
  assert.equal(j.status, 'in_progress', `the job finished before it could be interrupted: ${JSON.stringify(j)}`);
  return j;
}

void test('cancel and delete while the archive is being written: no zombie job, no orphan file', {skip, timeout: 180_000}, async () => {
  const fileStoreDumps = path.join(root, 'filestore', ...dumpsDir.split('/'));
  const jobDirFiles = (id: string): string[] => filesUnder(fileStoreDumps).filter((f) => f.startsWith(`${id}/`));

  const toCancel = await createJob(bigFrom, bigTo - 2 * H);
  await waitArchiving(toCancel.id);
  const c = await api(`/jobs/cancel/${toCancel.id}`, {method: 'POST'});
  assert.equal(c.status, 200, await c.clone().text());
  const cancelled = await waitJob(toCancel.id, (j) => j.status !== 'pending' && j.status !== 'in_progress', 30_000);
  assert.equal(cancelled.status, 'error');
  assert.match(cancelled.error, /cancel/);
  assert.equal((await api(`/jobs/download/${toCancel.id}`)).status, 409);
  for (let i = 0; jobDirFiles(toCancel.id).length > 0; i++) {
    assert.ok(i < 100, `files of the cancelled job left: ${jobDirFiles(toCancel.id).join(', ')}`);
    await new Promise((r) => setTimeout(r, 100));
  }

  const toDelete = await createJob(bigFrom, bigTo - 4 * H);
  await waitArchiving(toDelete.id);
  const d = await api(`/jobs/delete/${toDelete.id}`, {method: 'DELETE'});
  assert.equal(d.status, 200, await d.clone().text());
  assert.ok(!(await jobs()).some((j) => j.id === toDelete.id), 'a deleted job is not listed');
  // It must not come back when the interrupted build winds down.
  await new Promise((r) => setTimeout(r, 2000));
  assert.ok(!(await jobs()).some((j) => j.id === toDelete.id), 'a deleted running job does not come back');
  assert.deepEqual(jobDirFiles(toDelete.id), [], 'files of the deleted job');
  assert.equal((await api(`/jobs/download/${toDelete.id}`)).status, 404);
  assert.deepEqual((await jobs()).filter((j) => j.status === 'pending' || j.status === 'in_progress').map((j) => j.id), []);
});
