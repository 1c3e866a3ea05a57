import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {after, describe, test} from 'node:test';

import {parseRange} from '../api/jobs.ts';
import {LocalBackend, remoteDumpDir} from '../filestore/mod.ts';
import type {BuildDumpOptions, DumpResult} from './builder.ts';
import {
  type DumpJob,
  type JobKV,
  DumpJobRunner,
  DumpJobStore,
  FINISHED_JOBS_KEY,
  INTERRUPTED,
  JOB_LOCK_KEY,
  JobValidationError,
  isValidJobId,
  newJobId,
  validateRange,
} from './jobs.ts';

const H = 3_600_000;

/** The PluginAPI KV subset, in memory, with Mattermost's semantics. */
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
  json(key: string): any {
    const v = this.m.get(key);
    return v ? JSON.parse(v.toString('utf8')) : undefined;
  }
}

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'dump-jobs-'));
after(() => fs.rmSync(root, {recursive: true, force: true}));

const now = Date.UTC(2024, 5, 1, 12);
const MD = {serverVersion: '9.11.0', diagnosticId: 'abcdefghijklmnopqrstuvwxyz', pluginVersion: '0.8.0', siteURL: 'https://chat.example.com'};

/** A fake buildDump: writes a small file, reports progress, honours the signal; `gate` holds it. */
function fakeBuild(backend: LocalBackend, gate?: Promise<void>, fail?: string) {
  const calls: BuildDumpOptions[] = [];
  const build = async (o: BuildDumpOptions): Promise<DumpResult> => {
    calls.push(o);
    await o.prepare?.(o.signal);
    o.onProgress?.(0.5, 'archive');
    if (gate) {
      await Promise.race([
        gate,
        new Promise((_, rej) => o.signal?.addEventListener('abort', () => rej(Object.assign(new Error('aborted'), {name: 'AbortError'})))),
      ]);
    }
    if (fail) throw new Error(fail);
    const bytes = await backend.write(o.outPath, Buffer.from('dump'));
    return {
      path: o.outPath,
      fileName: o.outPath.split('/').pop()!,
      bytes,
      sha256: 'ab'.repeat(32),
      blocks: [],
      dropped: [],
      series: 1,
      samples: 2,
      requestedRange: {from: o.from, to: o.to},
      actualRange: {min: o.from - H, max: o.to + H},
      nodes: ['a:8067'],
      overlapping: false,
      skippedFiles: [],
    };
  };
  return {build, calls};
}

let n = 0;
function setup(opts: {gate?: Promise<void>; fail?: string; kv?: MemKV; nodeId?: string} = {}) {
  const kv = opts.kv ?? new MemKV();
  const store = new DumpJobStore(kv, {now: () => now});
  const backend = new LocalBackend(path.join(root, `fs${n++}`));
  const fb = fakeBuild(backend, opts.gate, opts.fail);
  let prepared = 0;
  const runner = new DumpJobRunner({
    store,
    backend,
    nodeId: opts.nodeId ?? 'host1#aaaa',
    metadata: async () => MD,
    prepare: async () => void prepared++,
    now: () => now,
    build: fb.build,
  });
  return {kv, store, backend, runner, fb, prepared: () => prepared};
}

async function until(f: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await f()) return;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error('timed out');
}

describe('ids and validation', () => {
  test('ids look like Mattermost ids', () => {
    const ids = new Set(Array.from({length: 200}, () => newJobId()));
    assert.equal(ids.size, 200);
    for (const id of ids) assert.ok(isValidJobId(id) && id.length === 26, id);
    assert.equal(isValidJobId('ABC'), false);
  });
  test('ranges', () => {
    assert.deepEqual(validateRange(now - H, now, now), {min: now - H, max: now});
    const bad: Array<[unknown, unknown, RegExp]> = [
      ['1', now, /min_t must be an integer/],
      [now - H, 1.5, /max_t must be an integer/],
      [now, now - H, /must be before max_t/],
      [now, now, /must be before max_t/],
      [-62135596800000, now, /year 0001/],
      [now - H, now + 2 * 60_000, /in the future/],
      [now - 40 * 24 * H, now, /spans 40\.0 days; at most 31 days/],
    ];
    for (const [a, b, re] of bad) assert.throws(() => validateRange(a, b, now), (e: Error) => e instanceof JobValidationError && re.test(e.message));
    assert.doesNotThrow(() => validateRange(now - H, now + 30_000, now));
  });
  test('Range headers', () => {
    assert.equal(parseRange(null, 10), null);
    assert.deepEqual(parseRange('bytes=2-5', 10), {start: 2, end: 5});
    assert.deepEqual(parseRange('bytes=2-', 10), {start: 2, end: 9});
    assert.deepEqual(parseRange('bytes=-3', 10), {start: 7, end: 9});
    assert.deepEqual(parseRange('bytes=8-100', 10), {start: 8, end: 9});
    assert.equal(parseRange('bytes=10-12', 10), 'invalid');
    assert.equal(parseRange('bytes=5-2', 10), 'invalid');
    assert.equal(parseRange('bytes=0-1,3-4', 10), null);
  });
});

describe('DumpJobStore', () => {
  test("reads upstream's records: once_<id> props and the finished map, the map winning", async () => {
    const kv = new MemKV();
    const pend: DumpJob = {id: 'p'.repeat(26), status: 'pending', create_at: 3, min_t: 1, max_t: 2, dump_location: ''};
    const run: DumpJob = {id: 'r'.repeat(26), status: 'pending', create_at: 2, min_t: 1, max_t: 2, dump_location: ''};
    const ok: DumpJob = {id: 's'.repeat(26), status: 'success', create_at: 1, min_t: 1, max_t: 2, dump_location: `${remoteDumpDir}/${'s'.repeat(26)}/tsdb_dump.tar.gz`};
    await kv.kvSet(`once_${pend.id}`, Buffer.from(JSON.stringify({Key: pend.id, RunAt: '2024-06-01T12:00:00Z', Props: pend})));
    await kv.kvSet(`once_${run.id}`, Buffer.from(JSON.stringify({Key: run.id, RunAt: '2024-06-01T12:00:00Z', Props: run})));
    await kv.kvSet('mutex_other', Buffer.from([1]));
    await kv.kvSet(FINISHED_JOBS_KEY, Buffer.from(JSON.stringify({[run.id]: {...run, status: 'in_progress'}, [ok.id]: ok})));
    const store = new DumpJobStore(kv);
    const jobs = await store.list();
    assert.deepEqual(jobs.map((j) => [j.id[0], j.status]), [['p', 'pending'], ['r', 'in_progress'], ['s', 'success']]);
    assert.deepEqual(await store.get(ok.id), ok);
    assert.equal(await store.get('x'.repeat(26)), null);
  });

  test("writes upstream's layout: pending in once_, started in the map, lock released", async () => {
    const kv = new MemKV();
    let open!: () => void;
    const s = setup({kv, gate: new Promise<void>((r) => (open = r))});
    const {job} = await s.runner.create(now - 2 * H, now - H, 'user1');
    assert.equal(job.status, 'pending');
    // The runner picks it up at once; before that the record was once_<id>.
    await until(async () => (await s.store.get(job.id))?.status === 'in_progress');
    assert.equal(kv.m.has(`once_${job.id}`), false);
    assert.equal(kv.json(FINISHED_JOBS_KEY)[job.id].status, 'in_progress');
    open();
    await until(async () => (await s.store.get(job.id))?.status === 'success');
    const rec = kv.json(FINISHED_JOBS_KEY)[job.id];
    for (const k of ['id', 'status', 'create_at', 'min_t', 'max_t', 'dump_location']) assert.ok(k in rec, k);
    assert.equal(rec.dump_location, `${remoteDumpDir}/${job.id}/mattermost-metrics_chat.example.com_20240601T100000Z_20240601T110000Z.tar.gz`);
    assert.equal(rec.min_t, now - 3 * H, 'min_t/max_t become the actual range (upstream #23)');
    assert.equal(rec.requested_min_t, now - 2 * H);
    assert.equal(rec.actual_max_t, now);
    assert.equal(rec.size, 4);
    assert.equal(rec.progress, 1);
    assert.equal(rec.created_by, 'user1');
    assert.deepEqual(rec.nodes, ['a:8067']);
    assert.equal(kv.m.has(JOB_LOCK_KEY), false);
    assert.equal(s.fb.calls[0].metadata.extras?.job_id, job.id);
    assert.equal(s.prepared(), 1);
  });

  test('a pending job is stored as upstream scheduler metadata', async () => {
    const kv = new MemKV();
    const store = new DumpJobStore(kv, {now: () => now});
    const job: DumpJob = {id: newJobId(), status: 'pending', create_at: now, min_t: 1, max_t: 2, dump_location: ''};
    await store.put(job);
    const md = kv.json(`once_${job.id}`);
    assert.equal(md.Key, job.id);
    assert.equal(md.RunAt, new Date(now).toISOString());
    assert.equal(md.Props.status, 'pending');
  });
});

describe('DumpJobRunner', () => {
  test('identical pending/running requests return the existing job; one job at a time', async () => {
    let open!: () => void;
    const s = setup({gate: new Promise<void>((r) => (open = r))});
    const a = await s.runner.create(now - 2 * H, now - H);
    const b = await s.runner.create(now - 2 * H, now - H);
    const c = await s.runner.create(now - 3 * H, now - H);
    assert.equal(b.existing, true);
    assert.equal(b.job.id, a.job.id);
    assert.equal(c.existing, false);
    await until(async () => (await s.store.get(a.job.id))?.status === 'in_progress');
    assert.equal((await s.store.get(c.job.id))?.status, 'pending', 'concurrency 1');
    open();
    await until(async () => (await s.store.get(c.job.id))?.status === 'success');
    const d = await s.runner.create(now - 2 * H, now - H);
    assert.equal(d.existing, false, 'a finished job does not dedupe');
    await until(async () => (await s.store.get(d.job.id))?.status === 'success');
    await s.runner.stop();
  });

  test('a failing build stores the reason; cancel and delete of a running job', async () => {
    const f = setup({fail: 'no complete block in the file store overlaps …'});
    const {job} = await f.runner.create(now - 2 * H, now - H);
    await until(async () => (await f.store.get(job.id))?.status === 'error');
    assert.match((await f.store.get(job.id))!.error!, /no complete block/);

    const s = setup({gate: new Promise<void>(() => {})});
    const x = (await s.runner.create(now - 2 * H, now - H)).job;
    await until(async () => (await s.store.get(x.id))?.status === 'in_progress');
    const cancelled = await s.runner.cancel(x.id, 'cancelled by admin');
    assert.equal(cancelled.status, 'error');
    assert.equal(cancelled.error, 'cancelled by admin');
    const y = (await s.runner.create(now - 2 * H, now - H)).job;
    assert.notEqual(y.id, x.id);
    await until(async () => (await s.store.get(y.id))?.status === 'in_progress');
    await s.runner.delete(y.id);
    assert.equal(await s.store.get(y.id), null);
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(await s.store.get(y.id), null, 'no zombie');
    assert.deepEqual(await s.backend.list(`${remoteDumpDir}/${y.id}`), []);
    await s.runner.stop();
  });

  test('delete removes the dump; deleteAll empties everything', async () => {
    const s = setup();
    const {job} = await s.runner.create(now - 2 * H, now - H);
    await until(async () => (await s.store.get(job.id))?.status === 'success');
    const loc = (await s.store.get(job.id))!.dump_location;
    assert.ok(await s.backend.stat(loc));
    await s.runner.delete(job.id);
    assert.equal(await s.backend.stat(loc), null);
    await assert.rejects(s.runner.delete(job.id), /no dump job/);
    const two = (await s.runner.create(now - 5 * H, now - H)).job;
    await until(async () => (await s.store.get(two.id))?.status === 'success');
    await s.runner.deleteAll();
    assert.deepEqual(await s.store.list(), []);
    assert.deepEqual(await s.backend.list(remoteDumpDir), []);
  });

  test('start-up marks jobs of dead processes failed, not live ones of other nodes', async () => {
    const kv = new MemKV();
    const store = new DumpJobStore(kv, {now: () => now});
    const mk = (c: string, status: DumpJob['status'], extra: Partial<DumpJob>): DumpJob => ({
      id: c.repeat(26),
      status,
      create_at: now - H,
      min_t: 1,
      max_t: 2,
      dump_location: '',
      ...extra,
    });
    // Upstream's stuck in_progress record (no node), our own earlier process (same host), a
    // live job of another node, a stale job of another node, a finished job.
    await store.put(mk('a', 'in_progress', {}));
    await store.put(mk('b', 'pending', {node: 'host1#old'}));
    await store.put(mk('c', 'in_progress', {node: 'host2#live'}));
    const staleKv = mk('d', 'in_progress', {node: 'host3#gone'});
    await store.put(staleKv);
    const rec = kv.json(FINISHED_JOBS_KEY);
    rec[staleKv.id].update_at = now - H;
    await kv.kvSet(FINISHED_JOBS_KEY, Buffer.from(JSON.stringify(rec)));
    await store.put(mk('e', 'success', {}));
    const s = setup({kv, nodeId: 'host1#new'});
    const failed = await s.runner.start();
    assert.deepEqual(failed.sort(), ['a'.repeat(26), 'b'.repeat(26), 'd'.repeat(26)]);
    const byId = Object.fromEntries((await s.store.list()).map((j) => [j.id[0], j]));
    assert.equal(byId.a.status, 'error');
    assert.equal(byId.a.error, INTERRUPTED);
    assert.equal(byId.b.status, 'error');
    assert.equal(kv.m.has(`once_${'b'.repeat(26)}`), false);
    assert.equal(byId.c.status, 'in_progress');
    assert.equal(byId.e.status, 'success');
    await s.runner.stop();
  });

  test('stop fails the running and queued jobs with a reason', async () => {
    const s = setup({gate: new Promise<void>(() => {})});
    const a = (await s.runner.create(now - 2 * H, now - H)).job;
    const b = (await s.runner.create(now - 3 * H, now - H)).job;
    await until(async () => (await s.store.get(a.id))?.status === 'in_progress');
    await s.runner.stop();
    for (const id of [a.id, b.id]) {
      const j = (await s.store.get(id))!;
      assert.equal(j.status, 'error');
      assert.match(j.error!, /plugin was stopped/);
    }
  });
});
