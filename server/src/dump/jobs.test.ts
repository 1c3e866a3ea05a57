import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {after, describe, test} from 'node:test';

import {KVStore} from '../../../devhost/kvstore.ts';
import {addJobRoutes, parseRange} from '../api/jobs.ts';
import {Router} from '../api/router.ts';
import {BlockSyncer} from '../sync/mod.ts';
import {LocalBackend, remoteDumpDir} from '../filestore/mod.ts';
import {type BuildDumpOptions, DamagedBlockError, type DumpResult} from './builder.ts';
import {
  type DumpJob,
  type DumpJobRunnerOptions,
  type JobKV,
  DumpJobRunner,
  DumpJobStore,
  FINISHED_JOBS_KEY,
  INTERRUPTED,
  JOB_LOCK_KEY,
  JobValidationError,
  NODE_ALIVE_PREFIX,
  isValidJobId,
  newJobId,
  validateRange,
} from './jobs.ts';

const H = 3_600_000;

/**
 * The PluginAPI KV subset over the dev host's store, which has Mattermost's semantics
 * (atomic insert / compare-and-set / expiry). `latencyMs` delays every call by a random
 * 0..latencyMs before and after it runs, so that calls of several runners interleave as
 * they would over RPC.
 */
class SharedKV implements JobKV {
  constructor(
    readonly store: KVStore,
    private readonly latencyMs = 0,
  ) {}
  static async open(latencyMs = 0): Promise<SharedKV> {
    return new SharedKV(await KVStore.open(), latencyMs);
  }
  /** Another node's view of the same store. */
  node(latencyMs = this.latencyMs): SharedKV {
    return new SharedKV(this.store, latencyMs);
  }
  private async lag(): Promise<void> {
    if (this.latencyMs > 0) await new Promise((r) => setTimeout(r, Math.random() * this.latencyMs));
  }
  private async call<T>(f: () => T | Promise<T>): Promise<T> {
    await this.lag();
    const out = await f();
    await this.lag();
    return out;
  }
  kvGet(key: string): Promise<Buffer | undefined> {
    return this.call(() => this.store.get(key));
  }
  kvSet(key: string, value: Uint8Array | null): Promise<void> {
    return this.call(() => this.store.set(key, value));
  }
  kvSetWithOptions(key: string, value: Uint8Array | null, o: {atomic?: boolean; oldValue?: Uint8Array | null; expireInSeconds?: number}): Promise<boolean> {
    return this.call(() => this.store.setWithOptions(key, value, o));
  }
  kvList(page: number, perPage: number): Promise<string[]> {
    return this.call(() => this.store.list(page, perPage));
  }
  kvDelete(key: string): Promise<void> {
    return this.call(() => this.store.delete(key));
  }
  has(key: string): boolean {
    return this.store.get(key) !== undefined;
  }
  json(key: string): any {
    const v = this.store.get(key);
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
    const prepared = await o.prepare?.(o.signal, {from: o.from, to: o.to});
    o.onProgress?.(0.5, 'archive');
    if (gate) {
      await Promise.race([
        gate,
        new Promise((_, rej) => {
          const aborted = () => rej(Object.assign(new Error('aborted'), {name: 'AbortError'}));
          if (o.signal?.aborted) aborted();
          o.signal?.addEventListener('abort', aborted);
        }),
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
      ...(prepared?.warnings ? {warnings: prepared.warnings} : {}),
    };
  };
  return {build, calls};
}

let n = 0;
async function setup(opts: {gate?: Promise<void>; fail?: string; kv?: SharedKV; nodeId?: string; prepareWarning?: () => string | undefined} = {}) {
  const kv = opts.kv ?? (await SharedKV.open());
  const store = new DumpJobStore(kv, {now: () => now});
  const backend = new LocalBackend(path.join(root, `fs${n++}`));
  const fb = fakeBuild(backend, opts.gate, opts.fail);
  let prepared = 0;
  const runner = new DumpJobRunner({
    store,
    backend,
    nodeId: opts.nodeId ?? 'host1#aaaa',
    metadata: async () => MD,
    prepare: async () => {
      prepared++;
      const warning = opts.prepareWarning?.();
      return warning ? {warnings: [warning]} : undefined;
    },
    now: () => now,
    build: fb.build,
  });
  return {kv, store, backend, runner, fb, prepared: () => prepared};
}

async function until(f: () => Promise<boolean>, ms = 2_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
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
    const kv = await SharedKV.open();
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
    const kv = await SharedKV.open();
    let open!: () => void;
    const s = await setup({kv, gate: new Promise<void>((r) => (open = r))});
    const {job} = await s.runner.create(now - 2 * H, now - H, 'user1');
    assert.equal(job.status, 'pending');
    // The runner picks it up at once; before that the record was once_<id>.
    await until(async () => (await s.store.get(job.id))?.status === 'in_progress');
    assert.equal(kv.has(`once_${job.id}`), false);
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
    assert.equal(kv.has(JOB_LOCK_KEY), false);
    assert.equal(s.fb.calls[0].metadata.extras?.job_id, job.id);
    assert.equal(s.prepared(), 1);
  });

  test("the preparation's warning (no flush from the scraping node) is stored on the successful job", async () => {
    let warning: string | undefined = 'The scraping node app-1#aaaa did not answer the flush request within 30 s; samples … may be missing.';
    const s = await setup({prepareWarning: () => warning});
    await s.runner.start();
    const {job} = await s.runner.create(now - 2 * H, now - H, 'user1');
    await until(async () => (await s.store.get(job.id))?.status === 'success');
    assert.equal((await s.store.get(job.id))?.warning, warning);
    warning = undefined;
    const {job: next} = await s.runner.create(now - 3 * H, now - H, 'user1');
    await until(async () => (await s.store.get(next.id))?.status === 'success');
    assert.equal('warning' in s.kv.json(FINISHED_JOBS_KEY)[next.id], false, 'no warning: no field');
    await s.runner.stop();
  });

  test('a pending job is stored as upstream scheduler metadata', async () => {
    const kv = await SharedKV.open();
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
    const s = await setup({gate: new Promise<void>((r) => (open = r))});
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

  test('a block found damaged in the file store is reported to the node (its syncer re-checks it)', async () => {
    const kv = await SharedKV.open();
    const store = new DumpJobStore(kv, {now: () => now});
    const damaged: string[] = [];
    const runner = new DumpJobRunner({
      store,
      backend: new LocalBackend(path.join(root, `fs${n++}`)),
      nodeId: 'host1#aaaa',
      metadata: async () => MD,
      now: () => now,
      build: async () => {
        throw new DamagedBlockError('data/01K.../chunks/000001 is damaged in the file store', '01KDAMAGEDBLOCK00000000000');
      },
      onDamagedBlock: (ulid) => damaged.push(ulid),
    });
    const {job} = await runner.create(now - 2 * H, now - H);
    await until(async () => (await store.get(job.id))?.status === 'error');
    assert.match((await store.get(job.id))!.error!, /damaged in the file store/);
    assert.deepEqual(damaged, ['01KDAMAGEDBLOCK00000000000']);
    await runner.stop();
  });

  test('a failing build stores the reason; cancel and delete of a running job', async () => {
    const f = await setup({fail: 'no complete block in the file store overlaps …'});
    const {job} = await f.runner.create(now - 2 * H, now - H);
    await until(async () => (await f.store.get(job.id))?.status === 'error');
    assert.match((await f.store.get(job.id))!.error!, /no complete block/);

    const s = await setup({gate: new Promise<void>(() => {})});
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
    const s = await setup();
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

  test('start-up fails in_progress jobs of dead processes, runs pending ones, leaves live ones (also on the same host)', async () => {
    const kv = await SharedKV.open();
    const store = new DumpJobStore(kv, {now: () => now});
    const mk = (c: string, status: DumpJob['status'], extra: Partial<DumpJob>): DumpJob => ({
      id: c.repeat(26),
      status,
      create_at: now - H,
      min_t: now - 3 * H,
      max_t: now - 2 * H,
      dump_location: '',
      ...extra,
    });
    const alive = (node: string) => kv.kvSetWithOptions(`${NODE_ALIVE_PREFIX}${node}`, Buffer.from('1'), {expireInSeconds: 60});
    // a: upstream's stuck in_progress record (no node); b: a pending job of our earlier
    // process; c: a live job of another node; d: a job of a live node whose record went
    // stale; e: finished; f: a node that crashed (its liveness key expired); g: a live
    // sibling process on the same host (containers can share a hostname).
    await store.put(mk('a', 'in_progress', {}));
    await store.put(mk('b', 'pending', {node: 'host1#old'}));
    await store.put(mk('c', 'in_progress', {node: 'host2#live'}));
    await store.put(mk('d', 'in_progress', {node: 'host3#stuck'}));
    const rec = kv.json(FINISHED_JOBS_KEY);
    rec['d'.repeat(26)].update_at = now - H;
    await kv.kvSet(FINISHED_JOBS_KEY, Buffer.from(JSON.stringify(rec)));
    await store.put(mk('e', 'success', {}));
    await store.put(mk('f', 'in_progress', {node: 'host4#crashed'}));
    await store.put(mk('g', 'in_progress', {node: 'host1#sibling'}));
    await store.put(mk('h', 'in_progress', {node: 'host1#previous'}));
    for (const node of ['host2#live', 'host3#stuck', 'host1#sibling']) await alive(node);
    const s = await setup({kv, nodeId: 'host1#new'});
    const failed = await s.runner.start();
    assert.deepEqual(failed.sort(), ['a', 'd', 'f', 'h'].map((c) => c.repeat(26)));
    await until(async () => (await s.store.get('b'.repeat(26)))?.status === 'success');
    const byId = Object.fromEntries((await s.store.list()).map((j) => [j.id[0], j]));
    assert.equal(byId.a.status, 'error');
    assert.equal(byId.a.error, INTERRUPTED);
    assert.match(byId.d.error!, /node host3#stuck stopped updating this job \(no heartbeat for 3600 s; limit 120 s\)/);
    assert.match(byId.f.error!, /interrupted: node host4#crashed stopped \(no liveness heartbeat for 45 s\); create it again/);
    assert.equal(byId.h.error, INTERRUPTED, 'our own earlier process on this host');
    assert.equal(byId.b.node, 'host1#new', 'the pending job survived the restart and ran here');
    assert.equal(kv.has(`once_${'b'.repeat(26)}`), false);
    assert.equal(byId.c.status, 'in_progress');
    assert.equal(byId.g.status, 'in_progress', 'a live sibling on the same host keeps its job');
    assert.equal(byId.e.status, 'success');
    assert.equal(kv.has(`${NODE_ALIVE_PREFIX}host1#new`), true);
    await s.runner.stop();
    assert.equal(kv.has(`${NODE_ALIVE_PREFIX}host1#new`), false, 'a clean stop removes the liveness key');
  });

  test('stop fails the running job with a reason; pending ones stay for other nodes', async () => {
    const s = await setup({gate: new Promise<void>(() => {})});
    const a = (await s.runner.create(now - 2 * H, now - H)).job;
    const b = (await s.runner.create(now - 3 * H, now - H)).job;
    await until(async () => (await s.store.get(a.id))?.status === 'in_progress');
    await s.runner.stop();
    const ja = (await s.store.get(a.id))!;
    assert.equal(ja.status, 'error');
    assert.match(ja.error!, /plugin was stopped/);
    assert.equal((await s.store.get(b.id))!.status, 'pending');
    assert.deepEqual(await s.backend.list(remoteDumpDir), []);
  });
});

/** A runner of a simulated cluster node: shared KV (with latency) and shared file store, real clock. */
function clusterNode(
  kv: SharedKV,
  backend: LocalBackend,
  nodeId: string,
  o: Partial<DumpJobRunnerOptions> & {buildMs?: number; hang?: boolean} = {},
) {
  const built: string[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const build = async (b: BuildDumpOptions): Promise<DumpResult> => {
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    try {
      built.push(b.outPath.split('/')[3]);
      // A partial file, as a real build has while it streams.
      await backend.write(`${b.outPath}.partial`, Buffer.from('partial'));
      b.onProgress?.(0.1, 'archive');
      await new Promise<void>((resolve, reject) => {
        const stop = () => reject(Object.assign(new Error('aborted'), {name: 'AbortError'}));
        if (b.signal?.aborted) stop();
        b.signal?.addEventListener('abort', stop);
        if (!o.hang) setTimeout(resolve, o.buildMs ?? 20);
      }).catch(async (e: unknown) => {
        await backend.remove(`${b.outPath}.partial`);
        throw e;
      });
      await backend.remove(`${b.outPath}.partial`);
      const bytes = await backend.write(b.outPath, Buffer.from(`dump by ${nodeId}`));
      return {
        path: b.outPath,
        fileName: b.outPath.split('/').pop()!,
        bytes,
        sha256: 'cd'.repeat(32),
        blocks: [],
        dropped: [],
        series: 1,
        samples: 1,
        requestedRange: {from: b.from, to: b.to},
        actualRange: {min: b.from, max: b.to},
        nodes: [nodeId],
        overlapping: false,
        skippedFiles: [],
      };
    } finally {
      inFlight--;
    }
  };
  const runner = new DumpJobRunner({
    store: new DumpJobStore(kv),
    backend,
    nodeId,
    metadata: async () => MD,
    build,
    pollMs: 20,
    heartbeatMs: 20,
    progressEveryMs: 10,
    ...o,
  });
  return {runner, built, maxInFlight: () => maxInFlight};
}

const realNow = () => Date.now();
const dumpDirs = async (backend: LocalBackend): Promise<string[]> => [...new Set((await backend.list(remoteDumpDir)).map((f) => f.path.split('/')[3]))].sort();

describe('cluster: runners of several nodes on one KV', () => {
  test('pending jobs are picked up by any node, each built exactly once, one build per node at a time', async () => {
    const kv = await SharedKV.open(2);
    const backend = new LocalBackend(path.join(root, `cluster${n++}`));
    const nodes = ['n1#a', 'n2#b', 'n3#c'].map((id) => clusterNode(kv.node(), backend, id, {buildMs: 40}));
    for (const nd of nodes) await nd.runner.start();
    const t = realNow();
    const ids: string[] = [];
    for (let i = 0; i < 9; i++) ids.push((await nodes[0].runner.create(t - (i + 2) * H, t - H, 'admin')).job.id);
    const store = new DumpJobStore(kv);
    await until(async () => (await store.list()).every((j) => j.status === 'success'), 20_000);
    const all = nodes.flatMap((nd) => nd.built);
    assert.deepEqual([...all].sort(), [...ids].sort(), 'every job built exactly once');
    for (const nd of nodes) assert.equal(nd.maxInFlight() <= 1, true, 'one build per node at a time');
    assert.ok(nodes[1].built.length + nodes[2].built.length > 0, 'jobs accepted by n1 were built by other nodes');
    for (const j of await store.list()) {
      const builder = nodes.find((nd) => nd.built.includes(j.id))!;
      assert.equal(j.node, (builder.runner as unknown as {opts: {nodeId: string}}).opts.nodeId);
      assert.equal((await backend.list(`${remoteDumpDir}/${j.id}`)).length, 1, 'no partial file left');
    }
    for (const nd of nodes) await nd.runner.stop();
  });

  test('the scraping node builds the jobs; a standby node only after the standby delay', async () => {
    const kv = await SharedKV.open(1);
    const backend = new LocalBackend(path.join(root, `cluster${n++}`));
    let leaderUp = true;
    const leader = clusterNode(kv.node(), backend, 'n1#lead', {buildMs: 10, prefersToBuild: () => leaderUp});
    const standby = clusterNode(kv.node(), backend, 'n2#stby', {buildMs: 10, prefersToBuild: () => false, standbyDelayMs: 400, pollMs: 50});
    await leader.runner.start();
    await standby.runner.start();
    const store = new DumpJobStore(kv);
    const t = realNow();
    // Accepted by the standby node, built by the scraping one.
    const a = (await standby.runner.create(t - 2 * H, t - H, 'admin')).job.id;
    await until(async () => (await store.get(a))?.status === 'success', 5_000);
    assert.deepEqual(leader.built, [a]);
    assert.deepEqual(standby.built, []);
    // The scraping node is gone: the standby builds the job once the delay has passed.
    leaderUp = false;
    await leader.runner.stop();
    const created = Date.now();
    const b = (await standby.runner.create(t - 3 * H, t - H, 'admin')).job.id;
    await until(async () => (await store.get(b))?.status === 'success', 5_000);
    assert.deepEqual(standby.built, [b]);
    assert.ok(Date.now() - created >= 400, 'not before the standby delay');
    await standby.runner.stop();
  });

  test('nodes racing for the same pending jobs: exactly one claims each', async () => {
    const kv = await SharedKV.open(3);
    const backend = new LocalBackend(path.join(root, `cluster${n++}`));
    const nodes = ['r1#a', 'r2#b', 'r3#c'].map((id) => clusterNode(kv.node(), backend, id, {buildMs: 1, pollMs: 3_600_000, heartbeatMs: 1_000, progressEveryMs: 1_000}));
    for (const nd of nodes) await nd.runner.start();
    const store = new DumpJobStore(kv.node(0));
    const t = realNow();
    const ids: string[] = [];
    for (let i = 0; i < 15; i++) {
      const job: DumpJob = {id: newJobId(), status: 'pending', create_at: t - i, min_t: t - (i + 2) * H, max_t: t - H, dump_location: '', requested_min_t: t - (i + 2) * H, requested_max_t: t - H};
      await store.create(job);
      ids.push(job.id);
    }
    // All three look at the same moment, repeatedly.
    for (let round = 0; round < 5; round++) await Promise.all(nodes.map((nd) => nd.runner.poll()));
    await until(async () => (await store.list()).every((j) => j.status === 'success'), 20_000);
    assert.deepEqual(nodes.flatMap((nd) => nd.built).sort(), [...ids].sort());
    for (const nd of nodes) await nd.runner.stop();

    // The claim itself, without runners: 3 stores × 12 concurrent attempts on one record.
    const job: DumpJob = {id: newJobId(), status: 'pending', create_at: t, min_t: 1, max_t: 2, dump_location: ''};
    await store.create(job);
    const stores = [0, 1, 2].map(() => new DumpJobStore(kv.node()));
    const results = await Promise.all(
      Array.from({length: 12}, (_, i) =>
        stores[i % 3].update(job.id, (j) => {
          if (j.status !== 'pending') return false;
          j.status = 'in_progress';
          j.node = `claimer${i}`;
        }),
      ),
    );
    const winners = new Set(results.map((r) => r?.node));
    assert.equal(winners.size, 1, [...winners].join(','));
    assert.equal((await store.get(job.id))?.node, [...winners][0]);
    assert.equal(kv.has(`once_${job.id}`), false, 'moved into the finished map');
  });

  test('a node that dies mid-build: another marks the job failed after the stale limit and removes its files', async () => {
    const kv = await SharedKV.open(1);
    const backend = new LocalBackend(path.join(root, `cluster${n++}`));
    // n1's heartbeat and progress writes stop after the claim: it is "dead".
    const dead = clusterNode(kv.node(), backend, 'n1#dead', {hang: true, heartbeatMs: 3_600_000, progressEveryMs: 3_600_000, pollMs: 3_600_000});
    await dead.runner.start();
    const t = realNow();
    const {job} = await dead.runner.create(t - 2 * H, t - H);
    const store = new DumpJobStore(kv);
    await until(async () => (await backend.list(`${remoteDumpDir}/${job.id}`)).length > 0);
    const live = clusterNode(kv.node(), backend, 'n2#live', {staleMs: 300});
    const started = Date.now();
    await live.runner.start();
    await until(async () => (await store.get(job.id))?.status === 'error', 5_000);
    const failed = (await store.get(job.id))!;
    assert.ok(Date.now() - started >= 200, 'not before the stale limit');
    assert.match(failed.error!, /interrupted: node n1#dead stopped updating this job \(no heartbeat for [\d.]+ s; limit 0.3 s\); create it again/);
    await until(async () => (await dumpDirs(backend)).length === 0);
    assert.deepEqual(live.built, [], 'failed, not re-run');
    await live.runner.stop();
    // The "dead" node comes back (a long pause, not a crash): it must not resurrect the job.
    await dead.runner.stop();
    assert.equal((await store.get(job.id))!.error, failed.error);
    assert.deepEqual(await dumpDirs(backend), []);
  });

  test('a node that crashes (liveness key expired): its running job is failed at the next poll of another node', async () => {
    const kv = await SharedKV.open(1);
    const backend = new LocalBackend(path.join(root, `cluster${n++}`));
    // Its heartbeat is slow enough not to renew the key the test deletes.
    const crashed = clusterNode(kv.node(), backend, 'c1#crash', {hang: true, pollMs: 3_600_000, heartbeatMs: 3_600_000});
    await crashed.runner.start();
    const t = realNow();
    const {job} = await crashed.runner.create(t - 2 * H, t - H);
    await until(async () => (await backend.list(`${remoteDumpDir}/${job.id}`)).length > 0);
    const live = clusterNode(kv.node(), backend, 'c2#live', {pollMs: 3_600_000});
    await live.runner.start();
    assert.deepEqual(await live.runner.recover(), [], 'alive: left alone');
    // What the KV expiry does to a process that died without a clean stop.
    await kv.kvDelete(`${NODE_ALIVE_PREFIX}c1#crash`);
    assert.deepEqual(await live.runner.recover(), [job.id]);
    const failed = (await new DumpJobStore(kv).get(job.id))!;
    assert.match(failed.error!, /interrupted: node c1#crash stopped \(no liveness heartbeat for 1 s\)/);
    assert.deepEqual(await dumpDirs(backend), []);
    await crashed.runner.stop();
    await live.runner.stop();
    assert.equal((await new DumpJobStore(kv).get(job.id))!.error, failed.error, 'not overwritten when the "dead" process wakes up');
    assert.deepEqual(await dumpDirs(backend), []);
  });

  test('cancel and delete from another node while running: the builder stops, no zombie record, no orphan files', async () => {
    const kv = await SharedKV.open(1);
    const backend = new LocalBackend(path.join(root, `cluster${n++}`));
    const builder = clusterNode(kv.node(), backend, 'n1#b', {hang: true, pollMs: 3_600_000});
    const other = clusterNode(kv.node(), backend, 'n2#o', {pollMs: 3_600_000});
    await builder.runner.start();
    await other.runner.start();
    const store = new DumpJobStore(kv);
    const t = realNow();

    const a = (await builder.runner.create(t - 2 * H, t - H)).job;
    await until(async () => (await backend.list(`${remoteDumpDir}/${a.id}`)).length > 0);
    const cancelled = await other.runner.cancel(a.id, 'cancelled by admin2');
    assert.equal(cancelled.status, 'error');
    await until(async () => builder.runner.runningJobId === null && (await dumpDirs(backend)).length === 0);
    assert.equal((await store.get(a.id))!.error, 'cancelled by admin2');

    const b = (await builder.runner.create(t - 3 * H, t - H)).job;
    await until(async () => (await backend.list(`${remoteDumpDir}/${b.id}`)).length > 0);
    await other.runner.delete(b.id);
    assert.equal(await store.get(b.id), null);
    await until(async () => builder.runner.runningJobId === null);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(await store.get(b.id), null, 'no zombie');
    assert.deepEqual(await dumpDirs(backend), [], 'no orphan files');
    assert.deepEqual((await store.list()).map((j) => j.id), [a.id]);
    await builder.runner.stop();
    await other.runner.stop();
  });
});

describe('finished jobs: pruning, dump retention, orphans', () => {
  test('the finished map keeps the newest N and every pending/running job; pruned dumps are deleted', async () => {
    const kv = await SharedKV.open();
    const backend = new LocalBackend(path.join(root, `prune${n++}`));
    let clock = now;
    const nd = clusterNode(kv, backend, 'p1#a', {buildMs: 1, keepFinished: 3, now: () => clock, pollMs: 3_600_000});
    const store = new DumpJobStore(kv);
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) {
      clock += 60_000;
      const {job} = await nd.runner.create(now - (i + 2) * H, now - H);
      await until(async () => (await store.get(job.id))?.status === 'success');
      ids.push(job.id);
    }
    await nd.runner.prune();
    const left = (await store.list()).map((j) => j.id);
    assert.deepEqual(left.sort(), ids.slice(3).sort());
    assert.deepEqual(await dumpDirs(backend), ids.slice(3).sort(), 'dumps of pruned jobs deleted with them');
    assert.equal(Object.keys(kv.json(FINISHED_JOBS_KEY)).length, 3);

    // A running job is never pruned, even with keepFinished 0.
    const hanging = clusterNode(kv, backend, 'p2#b', {hang: true, keepFinished: 0, pollMs: 3_600_000});
    const {job: running} = await hanging.runner.create(now - 30 * H, now - H);
    await until(async () => (await store.get(running.id))?.status === 'in_progress');
    await hanging.runner.prune();
    assert.deepEqual((await store.list()).map((j) => j.id), [running.id]);
    await hanging.runner.stop();
  });

  test('dump retention deleting a dump marks its job expired; download answers 410, delete is OK; running jobs are protected', async () => {
    const kv = await SharedKV.open();
    const rootDir = path.join(root, `retention${n++}`);
    const backend = new LocalBackend(rootDir);
    const nd = clusterNode(kv, backend, 'ret#a', {buildMs: 1, pollMs: 3_600_000});
    const store = new DumpJobStore(kv);
    const t = realNow();
    const old = (await nd.runner.create(t - 3 * H, t - H)).job;
    await until(async () => (await store.get(old.id))?.status === 'success');
    const running = clusterNode(kv, backend, 'ret#b', {hang: true, pollMs: 3_600_000});
    const busy = (await running.runner.create(t - 5 * H, t - H)).job;
    await until(async () => (await backend.list(`${remoteDumpDir}/${busy.id}`)).length > 0);
    // Both dumps look two days old.
    for (const f of await backend.list(remoteDumpDir)) {
      const abs = path.join(rootDir, f.path);
      fs.utimesSync(abs, new Date(t - 48 * H), new Date(t - 48 * H));
    }
    const syncer = new BlockSyncer({
      backend,
      dataDir: fs.mkdtempSync(path.join(root, 'data-')),
      retentionDays: 30,
      periodMinutes: 60,
      dumpRetention: {retentionDays: 1, totalMB: 10240},
      protectDump: (name) => nd.runner.isActive(name) || running.runner.isActive(name),
      onDumpsDeleted: async (deleted) => {
        await nd.runner.markExpired(deleted.map((d) => ({id: d.id, reason: `dump retention: older than 1 days (${d.reason})`})));
      },
    });
    const res = await syncer.cleanupDumps();
    assert.deepEqual(res.deleted.map((d) => d.id), [old.id]);
    assert.ok((await backend.list(`${remoteDumpDir}/${busy.id}`)).length > 0, 'the running job kept its files');
    const expired = (await store.get(old.id))!;
    assert.equal(expired.status, 'success');
    assert.equal(expired.expired, true);
    assert.match(expired.expired_reason!, /dump retention: older than 1 days \(age\)/);

    const router = addJobRoutes(new Router({isAdmin: async () => true}), () => ({runner: nd.runner, backend}));
    const req = (method: string, p: string) => router.handle(new Request(`http://x${p}`, {method, headers: {'Mattermost-User-Id': 'admin'}}));
    const gone = await req('GET', `/jobs/download/${old.id}`);
    assert.equal(gone.status, 410);
    assert.equal(gone.headers.get('content-type'), 'application/json');
    assert.match(((await gone.json()) as {error: string}).error, /the dump of job \w+ was deleted on .* \(dump retention: older than 1 days \(age\)\); create a new dump job/);
    const listed = (await (await req('GET', '/jobs')).json()) as DumpJob[];
    assert.equal(listed.find((j) => j.id === old.id)?.expired, true);

    // A dump removed by hand: the download finds out, records it, answers 410 (never 500).
    const second = (await nd.runner.create(t - 4 * H, t - H)).job;
    await until(async () => (await store.get(second.id))?.status === 'success');
    await backend.removeAll(`${remoteDumpDir}/${second.id}`);
    const vanished = await req('GET', `/jobs/download/${second.id}`);
    assert.equal(vanished.status, 410);
    assert.match(((await vanished.json()) as {error: string}).error, /no longer in the file store/);
    assert.equal((await store.get(second.id))?.expired, true);

    for (const id of [old.id, second.id]) {
      const del = await req('DELETE', `/jobs/delete/${id}`);
      assert.equal(del.status, 200);
      assert.deepEqual(await del.json(), {status: 'OK'});
    }
    assert.equal((await req('GET', `/jobs/download/${old.id}`)).status, 404);
    await running.runner.stop();
    assert.deepEqual(await dumpDirs(backend), []);
  });

  test('dump dirs named like a job without a record are removed after the grace period', async () => {
    const kv = await SharedKV.open();
    const rootDir = path.join(root, `orphans${n++}`);
    const backend = new LocalBackend(rootDir);
    const nd = clusterNode(kv, backend, 'o#a', {buildMs: 1, pollMs: 3_600_000, orphanGraceMs: 60_000});
    const t = realNow();
    const kept = (await nd.runner.create(t - 3 * H, t - H)).job;
    await until(async () => (await new DumpJobStore(kv).get(kept.id))?.status === 'success');
    const oldOrphan = newJobId();
    const youngOrphan = newJobId();
    await backend.write(`${remoteDumpDir}/${oldOrphan}/x.tar.gz`, Buffer.from('x'));
    await backend.write(`${remoteDumpDir}/${youngOrphan}/x.tar.gz`, Buffer.from('x'));
    await backend.write(`${remoteDumpDir}/not-a-job/x.tar.gz`, Buffer.from('x'));
    for (const p of [`${remoteDumpDir}/${oldOrphan}/x.tar.gz`, `${remoteDumpDir}/not-a-job/x.tar.gz`, (await new DumpJobStore(kv).get(kept.id))!.dump_location]) {
      fs.utimesSync(path.join(rootDir, p), new Date(t - 2 * H), new Date(t - 2 * H));
    }
    assert.deepEqual(await nd.runner.sweepOrphans(), [oldOrphan]);
    assert.deepEqual(await dumpDirs(backend), [kept.id, youngOrphan, 'not-a-job'].sort());
  });
});
