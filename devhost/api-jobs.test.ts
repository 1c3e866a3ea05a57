// Dump jobs end to end: the plugin (from source) under the dev host, a real block in the
// local store that reaches the file store, a job over its range, the download (whole and
// by Range), permissions, validation errors and deletion.
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {after, before, test} from 'node:test';

import {writeBlock} from '../server/src/tsdb/block/mod.ts';
import {startDevHost, type DevHost} from './devhost.ts';

const id = 'com.mattermost.mattermost-plugin-metrics';
let h: DevHost;
let dir = '';
const t0 = Date.now() - 3 * 3_600_000;

before(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'devhost-jobs-'));
  const dataDir = path.join(dir, 'mattermost-plugin-metrics/data');
  writeBlock(dataDir, [{labels: {__name__: 'up', job: 'prometheus', instance: 'x:8067'}, samples: [{t: t0, v: 1}, {t: t0 + 60_000, v: 1}]}]);
  h = await startDevHost({dir, port: 0, metricsPort: 0, pluginExe: 'tsx', logWrite: () => {}});
  await h.savePluginSettings({ScrapeIntervalSeconds: 1, ScrapeTimeoutSeconds: 1});
  // Samples in the head, so that the job's prepare really flushes (in a worker thread).
  for (let i = 0; i < 100; i++) {
    const st = (await (await call('/status')).json()) as {store?: {headSamples?: number}};
    if ((st.store?.headSamples ?? 0) > 0) break;
    await new Promise((r) => setTimeout(r, 100));
  }
});

after(async () => {
  await h?.stop();
  await fs.rm(dir, {recursive: true, force: true});
});

type User = 'admin' | 'member' | 'anonymous';
const call = (p: string, init: {method?: string; user?: User; body?: unknown; headers?: Record<string, string>} = {}) =>
  fetch(`${h.url}/plugins/${id}${p}`, {
    method: init.method ?? 'GET',
    headers: {'X-Devhost-User': init.user ?? 'admin', ...(init.body !== undefined ? {'Content-Type': 'application/json'} : {}), ...init.headers},
    ...(init.body !== undefined ? {body: JSON.stringify(init.body)} : {}),
  });

void test('a dump job over a real block: create, poll, download (whole and Range), delete', async () => {
  const range = {min_t: t0 - 60_000, max_t: t0 + 120_000};
  const created = await call('/jobs/create', {method: 'POST', body: range});
  assert.equal(created.status, 200, await created.clone().text());
  const job = (await created.json()) as Record<string, any>;
  assert.match(job.id, /^[a-z0-9]{26}$/);
  assert.equal(job.status, 'pending');
  assert.equal(job.dump_location, '');

  let listed: Array<Record<string, any>> = [];
  for (let i = 0; i < 300; i++) {
    listed = (await (await call('/jobs')).json()) as Array<Record<string, any>>;
    const j = listed.find((x) => x.id === job.id);
    if (j && (j.status === 'success' || j.status === 'error')) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const done = listed.find((x) => x.id === job.id)!;
  assert.equal(done.status, 'success', JSON.stringify(done));
  assert.ok(done.size > 0 && /^[0-9a-f]{64}$/.test(done.sha256));
  assert.ok(done.min_t <= t0 && done.max_t > t0 + 60_000, 'actual range covers the samples');
  assert.deepEqual(done.nodes, ['x:8067']);
  // prepare flushed the scraped head into a block and synced it.
  const remoteBlocks = await fs.readdir(path.join(dir, 'filestore', 'plugin-data/mattermost-plugin-metrics/data'));
  assert.ok(remoteBlocks.length >= 2, remoteBlocks.join(','));

  const dl = await call(`/jobs/download/${job.id}`);
  assert.equal(dl.status, 200);
  assert.equal(dl.headers.get('content-type'), 'application/gzip');
  assert.equal(dl.headers.get('content-disposition'), `attachment; filename="${done.file_name}"`);
  assert.equal(dl.headers.get('content-length'), String(done.size));
  const whole = Buffer.from(await dl.arrayBuffer());
  assert.equal(whole.length, done.size);
  assert.deepEqual([...whole.subarray(0, 2)], [0x1f, 0x8b]);

  const part = await call(`/jobs/download/${job.id}`, {headers: {Range: 'bytes=10-99'}});
  assert.equal(part.status, 206);
  assert.equal(part.headers.get('content-range'), `bytes 10-99/${done.size}`);
  assert.equal(part.headers.get('content-length'), '90');
  assert.deepEqual(Buffer.from(await part.arrayBuffer()), whole.subarray(10, 100));

  const member = await call(`/jobs/download/${job.id}`, {user: 'member'});
  assert.equal(member.status, 403);
  const anon = await call('/jobs', {user: 'anonymous'});
  assert.equal(anon.status, 401);
  assert.equal((await call('/jobs/create', {method: 'POST', body: range, user: 'member'})).status, 403);

  const del = await call(`/jobs/delete/${job.id}`, {method: 'DELETE'});
  assert.equal(del.status, 200);
  assert.equal((await call(`/jobs/download/${job.id}`)).status, 404);
  assert.ok(!((await (await call('/jobs')).json()) as Array<{id: string}>).some((x) => x.id === job.id));
  const remote = path.join(dir, 'filestore', 'plugin-data/mattermost-plugin-metrics/dump', job.id);
  await assert.rejects(fs.stat(remote));
});

void test('bad requests get 400/404/409 with a JSON error', async () => {
  const bad = await call('/jobs/create', {method: 'POST', body: {min_t: Date.now(), max_t: Date.now() - 3_600_000}});
  assert.equal(bad.status, 400);
  assert.equal(bad.headers.get('content-type'), 'application/json');
  assert.match(((await bad.json()) as {error: string}).error, /min_t .* must be before max_t/);
  const future = await call('/jobs/create', {method: 'POST', body: {min_t: Date.now(), max_t: Date.now() + 3_600_000}});
  assert.match(((await future.json()) as {error: string}).error, /in the future/);
  const notJson = await fetch(`${h.url}/plugins/${id}/jobs/create`, {method: 'POST', headers: {'X-Devhost-User': 'admin'}, body: 'nope'});
  assert.equal(notJson.status, 400);
  assert.equal((await call('/jobs/download/short')).status, 400);
  assert.equal((await call(`/jobs/download/${'a'.repeat(26)}`)).status, 404);
  // A range with no data: the job fails with the reason, download says 409.
  const empty = (await (await call('/jobs/create', {method: 'POST', body: {min_t: t0 - 20 * 3_600_000, max_t: t0 - 19 * 3_600_000}})).json()) as {id: string};
  let j: Record<string, any> = {};
  for (let i = 0; i < 300; i++) {
    j = ((await (await call('/jobs')).json()) as Array<Record<string, any>>).find((x) => x.id === empty.id)!;
    if (j.status === 'error' || j.status === 'success') break;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(j.status, 'error');
  assert.match(j.error, /no complete block/);
  const conflict = await call(`/jobs/download/${empty.id}`);
  assert.equal(conflict.status, 409);
  assert.equal((await call('/jobs/deleteAll', {method: 'DELETE'})).status, 200);
  assert.deepEqual(await (await call('/jobs')).json(), []);
});

void test('a dump deleted behind the job (retention, by hand): 410 Gone with a JSON error, the list says expired, delete is OK', async () => {
  const created = (await (await call('/jobs/create', {method: 'POST', body: {min_t: t0 - 120_000, max_t: t0 + 120_000}})).json()) as {id: string};
  let j: Record<string, any> = {};
  for (let i = 0; i < 300; i++) {
    j = ((await (await call('/jobs')).json()) as Array<Record<string, any>>).find((x) => x.id === created.id)!;
    if (j.status === 'error' || j.status === 'success') break;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(j.status, 'success', JSON.stringify(j));
  await fs.rm(path.join(dir, 'filestore', 'plugin-data/mattermost-plugin-metrics/dump', created.id), {recursive: true});
  const gone = await call(`/jobs/download/${created.id}`);
  assert.equal(gone.status, 410);
  assert.equal(gone.headers.get('content-type'), 'application/json');
  assert.match(((await gone.json()) as {error: string}).error, /was deleted .*no longer in the file store.*create a new dump job/);
  const listed = ((await (await call('/jobs')).json()) as Array<Record<string, any>>).find((x) => x.id === created.id)!;
  assert.equal(listed.status, 'success');
  assert.equal(listed.expired, true);
  assert.equal((await call(`/jobs/download/${created.id}`)).status, 410, 'still 410 once recorded');
  const cancelFinished = await call(`/jobs/cancel/${created.id}`, {method: 'POST'});
  assert.equal(cancelFinished.status, 200, 'cancelling a finished job changes nothing');
  assert.equal(((await cancelFinished.json()) as {status: string}).status, 'success');
  const del = await call(`/jobs/delete/${created.id}`, {method: 'DELETE'});
  assert.equal(del.status, 200);
  assert.deepEqual(await del.json(), {status: 'OK'});
  assert.equal((await call(`/jobs/download/${created.id}`)).status, 404);
});
