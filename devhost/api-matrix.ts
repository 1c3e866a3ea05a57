// The HTTP API's route matrix, shared by two hosts of the real plugin process: the dev host
// (devhost/api-matrix.test.ts) and the Go go-plugin host (test/conformance/api-matrix.test.ts).
// Every route × {no user, member without manage_system, admin} × {valid, malformed} →
// status code, Content-Type and the `{"error": …}` body.
//
// Order matters only for the admin rows that change state (delete, deleteAll): they run
// after every read, each on a job of its own.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import {after, before, test} from 'node:test';

import {GO_ZERO_TIME_MS} from '../server/src/dump/jobs.ts';
import {writeBlock} from '../server/src/tsdb/block/mod.ts';

const H = 3_600_000;
const t0 = Date.now() - 3 * H;
const unknownId = 'abcdefghijklmnopqrstuvwxyz';

export type User = 'admin' | 'member' | 'anonymous';
const users: User[] = ['anonymous', 'member', 'admin'];

export interface Call {
  method: string;
  /** The path below /plugins/<id>. */
  path: string;
  user: User;
  /** A string is sent as is; anything else as JSON. */
  body?: unknown;
  headers?: Record<string, string>;
}

/** A running host with the plugin active. */
export interface MatrixHost {
  send(c: Call): Promise<Response>;
  /** The file store's dump directory on disk. */
  dumpsDir: string;
  /** The host drops a Mattermost-User-Id sent by the client (a server does; a test harness may not). */
  stripsClientUserId?: string;
  stop(): Promise<void>;
}

export interface MatrixOptions {
  /** Starts the host after calling `seed` with the plugin's local data dir (it writes a block there). */
  start(seed: (pluginDataDir: string) => void): Promise<MatrixHost>;
  skip?: string | false;
}

/** Wraps a body for fetch. */
export function encodeCall(c: Call, headers: Record<string, string>): {headers: Record<string, string>; body?: string} {
  const h = {...headers, ...c.headers};
  if (c.body === undefined) return {headers: h};
  h['Content-Type'] ??= 'application/json';
  return {headers: h, body: typeof c.body === 'string' ? c.body : JSON.stringify(c.body)};
}

export function routeMatrix(opts: MatrixOptions): void {
  const skip = opts.skip ?? false;
  let host: MatrixHost;
  /** A finished job (download, cancel of a finished job) and one kept for the delete row. */
  let doneId = '';
  let doneSize = 0;
  let deleteMeId = '';
  const send = (c: Call): Promise<Response> => host.send(c);

  async function createJob(minT: number, maxT: number): Promise<string> {
    const r = await send({method: 'POST', path: '/jobs/create', user: 'admin', body: {min_t: minT, max_t: maxT}});
    assert.equal(r.status, 200, await r.clone().text());
    return ((await r.json()) as {id: string}).id;
  }

  async function waitFinished(id: string): Promise<Record<string, unknown>> {
    for (let i = 0; i < 600; i++) {
      const jobs = (await (await send({method: 'GET', path: '/jobs', user: 'admin'})).json()) as Array<Record<string, unknown>>;
      const j = jobs.find((x) => x.id === id);
      if (j && (j.status === 'success' || j.status === 'error')) return j;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`job ${id} did not finish`);
  }

  before(async () => {
    if (skip) return;
    host = await opts.start((dataDir) =>
      writeBlock(dataDir, [{labels: {__name__: 'up', job: 'prometheus', instance: 'x:8067'}, samples: [{t: t0, v: 1}, {t: t0 + 60_000, v: 1}]}]),
    );
    doneId = await createJob(t0 - 60_000, t0 + 120_000);
    const done = await waitFinished(doneId);
    assert.equal(done.status, 'success', JSON.stringify(done));
    doneSize = done.size as number;
    deleteMeId = await createJob(t0 - 120_000, t0 + 120_000);
    assert.equal((await waitFinished(deleteMeId)).status, 'success');
  });

  after(async () => {
    await host?.stop();
  });

  interface Route {
    method: string;
    path: () => string;
    body?: () => unknown;
    /** What an admin's valid request gets. */
    ok: number;
    okType: string;
  }

  // Every route with a valid request (ids resolved after setup).
  const routes: Route[] = [
    {method: 'GET', path: () => '/status', ok: 200, okType: 'application/json'},
    {method: 'GET', path: () => '/tsdb/stats', ok: 200, okType: 'application/json'},
    {method: 'GET', path: () => '/jobs', ok: 200, okType: 'application/json'},
    {method: 'POST', path: () => '/jobs/create', body: () => ({min_t: t0 - 30_000, max_t: t0 + 90_000}), ok: 200, okType: 'application/json'},
    // Cancelling a finished job changes nothing and answers the job.
    {method: 'POST', path: () => `/jobs/cancel/${doneId}`, ok: 200, okType: 'application/json'},
    {method: 'GET', path: () => `/jobs/download/${doneId}`, ok: 200, okType: 'application/gzip'},
    {method: 'DELETE', path: () => `/jobs/delete/${deleteMeId}`, ok: 200, okType: 'application/json'},
    {method: 'DELETE', path: () => '/jobs/deleteAll', ok: 200, okType: 'application/json'},
  ];

  async function expectError(r: Response, status: number, message?: RegExp): Promise<string> {
    const text = await r.text();
    assert.equal(r.status, status, text);
    assert.equal(r.headers.get('content-type'), 'application/json', `content-type of ${status}`);
    const body = JSON.parse(text) as {error?: unknown};
    assert.equal(typeof body.error, 'string', text);
    assert.ok((body.error as string).length > 0);
    if (message) assert.match(body.error as string, message);
    return body.error as string;
  }

  void test('no user: 401 on every route, whatever the input', {skip}, async () => {
    for (const r of routes) {
      await expectError(await send({method: r.method, path: r.path(), user: 'anonymous', body: r.body?.()}), 401, /not authorized/);
      if (r.method !== 'GET') await expectError(await send({method: r.method, path: r.path(), user: 'anonymous', body: 'not json'}), 401, /not authorized/);
    }
    // A Mattermost-User-Id sent by the client is dropped by the server (as Mattermost does).
    if (host.stripsClientUserId) {
      await expectError(await send({method: 'GET', path: '/jobs', user: 'anonymous', headers: {'Mattermost-User-Id': host.stripsClientUserId}}), 401);
    }
    // Malformed ids and bodies do not get past the user check either.
    await expectError(await send({method: 'GET', path: '/jobs/download/..%2F..%2Fetc%2Fpasswd', user: 'anonymous'}), 401);
    await expectError(await send({method: 'POST', path: '/jobs/create', user: 'anonymous', body: {min_t: GO_ZERO_TIME_MS, max_t: 1}}), 401);
  });

  void test('member without manage_system: 403 on every route, whatever the input', {skip}, async () => {
    for (const r of routes) {
      const res = await send({method: r.method, path: r.path(), user: 'member', body: r.body?.()});
      await expectError(res, 403, /manage_system/);
    }
    await expectError(await send({method: 'DELETE', path: `/jobs/delete/${unknownId}`, user: 'member'}), 403);
    await expectError(await send({method: 'POST', path: '/jobs/create', user: 'member', body: 'nope'}), 403);
    // Nothing a member sent changed anything.
    const jobs = (await (await send({method: 'GET', path: '/jobs', user: 'admin'})).json()) as Array<{id: string}>;
    assert.deepEqual(jobs.map((j) => j.id).sort(), [doneId, deleteMeId].sort());
  });

  void test('unknown paths: 404, known paths with another method: 405 with Allow, for every user', {skip}, async () => {
    for (const user of users) {
      for (const p of ['/', '/nope', '/status/', '/jobs/', '/jobs/download/', `/jobs/download/${doneId}/extra`, '/jobs/delete', '/api/v4/jobs', '/tsdb']) {
        await expectError(await send({method: 'GET', path: p, user}), 404, /not found/);
      }
      const wrong: Array<[string, string, string]> = [
        ['POST', '/status', 'GET'],
        ['DELETE', '/tsdb/stats', 'GET'],
        ['PUT', '/jobs', 'GET'],
        ['GET', '/jobs/create', 'POST'],
        ['DELETE', `/jobs/cancel/${doneId}`, 'POST'],
        ['GET', `/jobs/delete/${doneId}`, 'DELETE'],
        ['POST', '/jobs/deleteAll', 'DELETE'],
        ['DELETE', `/jobs/download/${doneId}`, 'GET'],
      ];
      for (const [method, p, allow] of wrong) {
        const res = await send({method, path: p, user});
        assert.equal(res.headers.get('allow'), allow, `${method} ${p}`);
        await expectError(res, 405, /not allowed/);
      }
    }
  });

  void test('admin, valid reads: status, stats, jobs, download (whole, Range, multi-range), cancel of a finished job', {skip}, async () => {
    const status = await send({method: 'GET', path: '/status', user: 'admin'});
    assert.equal(status.status, 200);
    assert.equal(status.headers.get('content-type'), 'application/json');
    const st = (await status.json()) as Record<string, unknown>;
    assert.equal(typeof st.node, 'string');

    const stats = await send({method: 'GET', path: '/tsdb/stats', user: 'admin'});
    assert.equal(stats.status, 200);
    assert.equal(stats.headers.get('content-type'), 'application/json');
    assert.deepEqual(Object.keys((await stats.json()) as object).sort(), ['max_t', 'min_t', 'num_samples', 'num_series']);

    const list = await send({method: 'GET', path: '/jobs?ignored=1', user: 'admin'});
    assert.equal(list.status, 200);
    assert.equal(list.headers.get('content-type'), 'application/json');
    assert.ok(Array.isArray(await list.json()));

    const whole = await send({method: 'GET', path: `/jobs/download/${doneId}`, user: 'admin'});
    assert.equal(whole.status, 200);
    assert.equal(whole.headers.get('content-type'), 'application/gzip');
    assert.equal(whole.headers.get('accept-ranges'), 'bytes');
    const bytes = Buffer.from(await whole.arrayBuffer());
    assert.equal(bytes.length, doneSize);

    const part = await send({method: 'GET', path: `/jobs/download/${doneId}`, user: 'admin', headers: {Range: `bytes=-10`}});
    assert.equal(part.status, 206);
    assert.equal(part.headers.get('content-range'), `bytes ${doneSize - 10}-${doneSize - 1}/${doneSize}`);
    assert.deepEqual(Buffer.from(await part.arrayBuffer()), bytes.subarray(doneSize - 10));
    // An end past the size is cut to the size (RFC 9110 §14.1.2).
    const tail = await send({method: 'GET', path: `/jobs/download/${doneId}`, user: 'admin', headers: {Range: `bytes=5-${doneSize * 2}`}});
    assert.equal(tail.status, 206);
    assert.deepEqual(Buffer.from(await tail.arrayBuffer()), bytes.subarray(5));
    // Several ranges are not supported: the whole file, as RFC 9110 allows.
    const multi = await send({method: 'GET', path: `/jobs/download/${doneId}`, user: 'admin', headers: {Range: 'bytes=0-1,5-6'}});
    assert.equal(multi.status, 200);
    assert.equal(Buffer.from(await multi.arrayBuffer()).length, doneSize);

    const cancel = await send({method: 'POST', path: `/jobs/cancel/${doneId}`, user: 'admin'});
    assert.equal(cancel.status, 200);
    assert.equal(cancel.headers.get('content-type'), 'application/json');
    assert.equal(((await cancel.json()) as {status: string}).status, 'success');
  });

  void test('admin, malformed create bodies: 400 with the reason, and no job is created', {skip}, async () => {
    const now = Date.now();
    const cases: Array<[string, unknown, RegExp, Record<string, string>?]> = [
      ['not JSON', 'nope', /must be JSON/],
      ['truncated JSON', '{"min_t": 1', /must be JSON/],
      ['empty body', '', /must be JSON/],
      ['JSON null', 'null', /JSON object/],
      ['JSON number', '42', /JSON object/],
      ['no fields', {}, /min_t must be an integer/],
      ['array', [1, 2], /min_t must be an integer/],
      ['strings', {min_t: String(t0), max_t: String(t0 + H)}, /min_t must be an integer/],
      ['fraction', {min_t: t0 + 0.5, max_t: t0 + H}, /min_t must be an integer/],
      ['max_t missing', {min_t: t0}, /max_t must be an integer/],
      ['max_t null', {min_t: t0, max_t: null}, /max_t must be an integer/],
      ['beyond safe integers', {min_t: 1e300, max_t: 1e301}, /must be an integer/],
      ['zero-length range', {min_t: t0, max_t: t0}, /must be before max_t/],
      ['reversed range', {min_t: t0 + H, max_t: t0}, /must be before max_t/],
      ['min_t zero', {min_t: 0, max_t: t0}, /not a valid time/],
      ['negative min_t', {min_t: -1, max_t: t0}, /not a valid time/],
      ["year 0001 (Go's zero time) as min_t", {min_t: GO_ZERO_TIME_MS, max_t: t0}, /year 0001/],
      ["year 0001 as both ends", {min_t: GO_ZERO_TIME_MS, max_t: GO_ZERO_TIME_MS}, /year 0001/],
      ['max_t in the future', {min_t: now - H, max_t: now + 24 * H}, /in the future/],
      ['more than 31 days', {min_t: now - 40 * 24 * H, max_t: now - H}, /at most 31 days/],
    ];
    for (const [name, body, message, headers] of cases) {
      const res = await send({method: 'POST', path: '/jobs/create', user: 'admin', body, headers});
      const error = await expectError(res, 400);
      assert.match(error, message, name);
    }
    const jobs = (await (await send({method: 'GET', path: '/jobs', user: 'admin'})).json()) as Array<{id: string}>;
    assert.deepEqual(jobs.map((j) => j.id).sort(), [doneId, deleteMeId].sort(), 'no job from a malformed request');
  });

  void test('admin, malformed and unknown ids on every id route: 400 / 404, and path traversal never reaches the file store', {skip}, async () => {
    const bad = [
      'short',
      '..%2F..%2Fetc%2Fpasswd',
      '..%2F',
      '%2e%2e',
      '..',
      'ABCDEFGHIJKLMNOPQRSTUVWXYZ',
      `${doneId}x`,
      `${doneId.slice(0, 25)}_`,
      `${doneId.slice(0, 25)}%00`,
      '%20' + doneId.slice(1),
    ];
    const idRoutes: Array<[string, string]> = [
      ['POST', '/jobs/cancel/'],
      ['DELETE', '/jobs/delete/'],
      ['GET', '/jobs/download/'],
    ];
    for (const [method, prefix] of idRoutes) {
      for (const id of bad) {
        const res = await send({method, path: prefix + id, user: 'admin'});
        // `..` and `%2e%2e` are resolved by URL parsing before the router sees them: a different, unknown path.
        if (id === '..' || id === '%2e%2e') await expectError(res, 404, /not found/);
        else await expectError(res, 400, /invalid job id/);
      }
      await expectError(await send({method, path: prefix + unknownId, user: 'admin'}), 404, /no dump job/);
    }
    // The finished job and its file are untouched.
    const still = await send({method: 'GET', path: `/jobs/download/${doneId}`, user: 'admin'});
    assert.equal(still.status, 200);
    assert.equal(Buffer.from(await still.arrayBuffer()).length, doneSize);
  });

  void test('admin, bad Range headers: 416 with Content-Range */size and a JSON error', {skip}, async () => {
    for (const range of [`bytes=${doneSize}-`, `bytes=${doneSize + 100}-${doneSize + 200}`, 'bytes=-0', 'bytes=-', 'bytes=abc', 'bytes=10-5']) {
      const res = await send({method: 'GET', path: `/jobs/download/${doneId}`, user: 'admin', headers: {Range: range}});
      assert.equal(res.headers.get('content-range'), `bytes */${doneSize}`, range);
      await expectError(res, 416, /not satisfiable/);
    }
  });

  void test('admin, a download of a job that did not succeed: 409', {skip}, async () => {
    // A range with no data fails with the reason.
    const id = await createJob(t0 - 30 * H, t0 - 29 * H);
    const j = await waitFinished(id);
    assert.equal(j.status, 'error');
    assert.equal(typeof j.error, 'string');
    await expectError(await send({method: 'GET', path: `/jobs/download/${id}`, user: 'admin'}), 409, /not finished/);
    // Cancelling a failed job keeps its status and reason.
    const c = await send({method: 'POST', path: `/jobs/cancel/${id}`, user: 'admin'});
    assert.equal(c.status, 200);
    assert.deepEqual(((await c.json()) as {error: string}).error, j.error);
    assert.equal((await send({method: 'DELETE', path: `/jobs/delete/${id}`, user: 'admin'})).status, 200);
  });

  void test('admin, valid writes: create, delete, deleteAll; then the ids are unknown', {skip}, async () => {
    const body = {min_t: t0 - 30_000, max_t: t0 + 90_000};
    const created = await send({method: 'POST', path: '/jobs/create', user: 'admin', body});
    assert.equal(created.status, 200);
    assert.equal(created.headers.get('content-type'), 'application/json');
    const job = (await created.json()) as {id: string; status: string; created_by: string};
    assert.equal(job.status, 'pending');
    assert.ok(job.created_by.length > 0);
    await waitFinished(job.id);

    const del = await send({method: 'DELETE', path: `/jobs/delete/${deleteMeId}`, user: 'admin'});
    assert.equal(del.status, 200);
    assert.equal(del.headers.get('content-type'), 'application/json');
    assert.deepEqual(await del.json(), {status: 'OK'});
    await expectError(await send({method: 'DELETE', path: `/jobs/delete/${deleteMeId}`, user: 'admin'}), 404, /no dump job/);
    await expectError(await send({method: 'GET', path: `/jobs/download/${deleteMeId}`, user: 'admin'}), 404, /no dump job/);

    const all = await send({method: 'DELETE', path: '/jobs/deleteAll', user: 'admin'});
    assert.equal(all.status, 200);
    assert.deepEqual(await all.json(), {status: 'OK'});
    assert.deepEqual(await (await send({method: 'GET', path: '/jobs', user: 'admin'})).json(), []);
    await expectError(await send({method: 'GET', path: `/jobs/download/${doneId}`, user: 'admin'}), 404, /no dump job/);
    await expectError(await send({method: 'POST', path: `/jobs/cancel/${doneId}`, user: 'admin'}), 404, /no dump job/);
    // deleteAll on nothing is fine.
    assert.equal((await send({method: 'DELETE', path: '/jobs/deleteAll', user: 'admin'})).status, 200);
    const left = fs.existsSync(host.dumpsDir) ? fs.readdirSync(host.dumpsDir) : [];
    assert.deepEqual(left, [], 'no dump files left after deleteAll');
  });
}
