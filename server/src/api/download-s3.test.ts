// Dump downloads from an S3 file store (s3rver): a real dump job over blocks synced to the
// bucket, then GET /jobs/download/{id} through the router — whole, by Range (first, middle,
// open-ended, suffix, past the end), and 416 for ranges that cannot be satisfied. The bytes
// must be the object's bytes and their sha256 the job's.
import assert from 'node:assert/strict';
import {spawnSync} from 'node:child_process';
import {createHash} from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {after, before, test} from 'node:test';

import {DumpJobRunner, DumpJobStore, type DumpJob, type JobKV} from '../dump/mod.ts';
import {S3Backend} from '../filestore/mod.ts';
import {type S3rverHandle, TEST_ACCESS_KEY, TEST_BUCKET, TEST_SECRET_KEY, startS3rver} from '../filestore/testing/s3.ts';
import {BlockSyncer} from '../sync/mod.ts';
import {writeBlock} from '../tsdb/block/mod.ts';
import {addJobRoutes} from './jobs.ts';
import {Router} from './router.ts';

const H = 3_600_000;
const ADMIN = 'adminuser00000000000000000';

/** The plugin KV subset in memory, with Mattermost's semantics (atomic set-if-absent / compare-and-set). */
class MemKV implements JobKV {
  readonly m = new Map<string, Buffer>();
  async kvGet(key: string): Promise<Buffer | undefined> {
    return this.m.get(key);
  }
  async kvSet(key: string, value: Uint8Array | null): Promise<void> {
    if (!value || value.length === 0) this.m.delete(key);
    else this.m.set(key, Buffer.from(value));
  }
  async kvSetWithOptions(key: string, value: Uint8Array | null, o: {atomic?: boolean; oldValue?: Uint8Array | null}): Promise<boolean> {
    if (o.atomic) {
      const cur = this.m.get(key);
      if (o.oldValue == null ? cur !== undefined : !cur || !cur.equals(Buffer.from(o.oldValue))) return false;
    }
    await this.kvSet(key, value);
    return true;
  }
  async kvList(page: number, perPage: number): Promise<string[]> {
    return [...this.m.keys()].sort().slice(page * perPage, (page + 1) * perPage);
  }
  async kvDelete(key: string): Promise<void> {
    this.m.delete(key);
  }
}

let root = '';
let s3: S3rverHandle;
let backend: S3Backend;
let runner: DumpJobRunner;
let router: Router;
let job: DumpJob;
let object: Buffer;

const call = (p: string, headers: Record<string, string> = {}, method = 'GET', body?: unknown): Promise<Response> =>
  router.handle(
    new Request(`http://plugin${p}`, {
      method,
      headers: {'Mattermost-User-Id': ADMIN, ...headers},
      ...(body !== undefined ? {body: JSON.stringify(body)} : {}),
    }),
  );

before(async () => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'download-s3-'));
  s3 = await startS3rver();
  backend = new S3Backend({bucket: TEST_BUCKET, pathPrefix: 'mm', endpoint: s3.endpoint, ssl: false, accessKeyId: TEST_ACCESS_KEY, secretAccessKey: TEST_SECRET_KEY});
  // Two 2 h blocks with enough samples for a dump of a few hundred kB (several S3 reads).
  const dataDir = path.join(root, 'data');
  const start = Math.floor(Date.now() / (2 * H)) * 2 * H - 6 * H;
  for (const from of [start, start + 2 * H]) {
    const series = [];
    for (let s = 0; s < 200; s++) {
      const samples = [];
      for (let t = from; t < from + 2 * H; t += 15_000) samples.push({t, v: Math.random()});
      series.push({labels: {__name__: 'dl_metric', instance: 'node:8067', s: String(s)}, samples});
    }
    writeBlock(dataDir, series, {minTime: from, maxTime: from + 2 * H, fsync: false});
  }
  const sync = await new BlockSyncer({backend, dataDir, retentionDays: 30, periodMinutes: 60}).syncOnce();
  assert.ok(!sync.error && !sync.failed, JSON.stringify(sync));

  runner = new DumpJobRunner({
    store: new DumpJobStore(new MemKV()),
    backend,
    nodeId: 'node-a#12345678',
    metadata: async () => ({serverVersion: '10.5.0', diagnosticId: 'abcdefghijklmnopqrstuvwxyz', pluginVersion: '0.8.0', siteURL: 'https://chat.example.com'}),
  });
  await runner.start();
  router = new Router({isAdmin: async (u) => u === ADMIN});
  addJobRoutes(router, () => ({runner, backend}));

  const created = await call('/jobs/create', {}, 'POST', {min_t: start, max_t: start + 4 * H});
  assert.equal(created.status, 200, await created.clone().text());
  const id = ((await created.json()) as DumpJob).id;
  for (let i = 0; ; i++) {
    job = (await runner.get(id))!;
    if (job.status === 'success' || job.status === 'error') break;
    assert.ok(i < 600, 'the job did not finish');
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.equal(job.status, 'success', JSON.stringify(job));
  assert.ok(job.dump_location.startsWith('plugin-data/'), job.dump_location);
  // The object as stored in the bucket (read back through the backend).
  const chunks: Buffer[] = [];
  for await (const c of await backend.read(job.dump_location)) chunks.push(c as Buffer);
  object = Buffer.concat(chunks);
  assert.equal(object.length, job.size);
  assert.ok(object.length > 100_000, `dump of ${object.length} bytes`);
});

after(async () => {
  await runner?.stop();
  await s3?.close();
  if (root) fs.rmSync(root, {recursive: true, force: true});
});

void test('the whole dump from S3: 200, gzip, length, checksum, and it extracts', async () => {
  const r = await call(`/jobs/download/${job.id}`);
  assert.equal(r.status, 200);
  assert.equal(r.headers.get('content-type'), 'application/gzip');
  assert.equal(r.headers.get('content-length'), String(job.size));
  assert.equal(r.headers.get('accept-ranges'), 'bytes');
  assert.equal(r.headers.get('content-disposition'), `attachment; filename="${job.file_name}"`);
  const body = Buffer.from(await r.arrayBuffer());
  assert.ok(body.equals(object));
  assert.equal(createHash('sha256').update(body).digest('hex'), job.sha256);
  const file = path.join(root, 'dl.tar.gz');
  fs.writeFileSync(file, body);
  const listing = spawnSync('tar', ['tzf', file], {encoding: 'utf8'});
  assert.equal(listing.status, 0, listing.stderr);
  assert.match(listing.stdout, /meta\.json/);
});

void test('Range downloads from S3: 206 with the exact bytes and Content-Range', async () => {
  const size = object.length;
  const cases: Array<[string, number, number]> = [
    ['bytes=0-0', 0, 0],
    ['bytes=0-99', 0, 99],
    [`bytes=1000-${size >> 1}`, 1000, size >> 1],
    [`bytes=${size - 1}-`, size - 1, size - 1],
    [`bytes=${size >> 2}-`, size >> 2, size - 1],
    ['bytes=-1', size - 1, size - 1],
    ['bytes=-4096', size - 4096, size - 1],
    [`bytes=-${size * 3}`, 0, size - 1],
    [`bytes=10-${size + 5000}`, 10, size - 1],
  ];
  for (const [range, start, end] of cases) {
    const r = await call(`/jobs/download/${job.id}`, {Range: range});
    assert.equal(r.status, 206, range);
    assert.equal(r.headers.get('content-type'), 'application/gzip');
    assert.equal(r.headers.get('content-range'), `bytes ${start}-${end}/${size}`, range);
    assert.equal(r.headers.get('content-length'), String(end - start + 1), range);
    const body = Buffer.from(await r.arrayBuffer());
    assert.ok(body.equals(object.subarray(start, end + 1)), `${range}: ${body.length} bytes`);
  }
});

void test('unsatisfiable ranges from S3: 416 with Content-Range bytes */size and a JSON error', async () => {
  const size = object.length;
  for (const range of [`bytes=${size}-`, `bytes=${size}-${size + 10}`, `bytes=${size * 2}-`, 'bytes=-0', 'bytes=5-4', 'bytes=x-y', 'bytes=-']) {
    const r = await call(`/jobs/download/${job.id}`, {Range: range});
    assert.equal(r.status, 416, range);
    assert.equal(r.headers.get('content-range'), `bytes */${size}`, range);
    assert.equal(r.headers.get('content-type'), 'application/json');
    assert.match(((await r.json()) as {error: string}).error, /not satisfiable/);
  }
});

void test('a Range download of a dump deleted from the bucket behind our back is not served', async () => {
  const other = {...job};
  await backend.remove(job.dump_location);
  const r = await call(`/jobs/download/${other.id}`, {Range: 'bytes=0-9'});
  assert.ok(r.status === 404 || r.status === 410, `status ${r.status}`);
  assert.equal(r.headers.get('content-type'), 'application/json');
  assert.equal(typeof ((await r.json()) as {error: string}).error, 'string');
});
