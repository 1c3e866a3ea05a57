// Dump jobs: records in the plugin KV store, readable by (and read from) the Go plugin,
// and a runner that builds them one at a time on this node.
//
// KV layout (upstream's, spec §4.1):
//   once_<id>                                  {"Key": id, "RunAt": RFC3339, "Props": DumpJob} while pending
//   mattermost-plugin-metrics_finished_jobs    {"<id>": DumpJob, …} for every job that started
// A job is listed from both, the finished map winning (as upstream's GetAllJobs). Our
// records keep upstream's JSON fields (id, status, create_at, min_t, max_t, dump_location)
// and add ours (progress, error, requested_*/actual_*, size, sha256, nodes, created_by,
// file_name, node, update_at); the Go plugin ignores unknown fields. Read-modify-writes
// of the finished map hold upstream's cluster mutex key.
//
// Fixes over upstream (§12 #18): ranges are validated, identical pending/running requests
// are deduplicated, the error is stored on the job, running jobs can be cancelled, a
// deleted running job does not come back, and jobs left pending/in progress by a dead
// process are marked failed at start-up instead of staying stuck.

import {randomBytes} from 'node:crypto';

import {type FileBackend, remoteDumpDir} from '../filestore/backend.ts';
import type {SyncLogger} from '../sync/remote.ts';
import {type BuildDumpOptions, type DumpMetadata, type DumpPhase, type DumpResult, buildDump, dumpFileName} from './builder.ts';

export type DumpJobStatus = 'pending' | 'in_progress' | 'success' | 'error';

export interface DumpJob {
  // Upstream's fields.
  id: string;
  status: DumpJobStatus;
  create_at: number;
  /** The requested range until the job succeeds, then the actual range (as upstream). */
  min_t: number;
  max_t: number;
  dump_location: string;
  // Ours.
  progress?: number;
  phase?: DumpPhase;
  error?: string;
  requested_min_t?: number;
  requested_max_t?: number;
  actual_min_t?: number;
  actual_max_t?: number;
  size?: number;
  sha256?: string;
  nodes?: string[];
  created_by?: string;
  file_name?: string;
  /** The process that runs (or ran) the job. */
  node?: string;
  /** Last write of the record (heartbeat while pending or running). */
  update_at?: number;
  finish_at?: number;
}

/** The subset of PluginAPI the store uses. */
export interface JobKV {
  kvGet(key: string): Promise<Buffer | undefined>;
  kvSet(key: string, value: Uint8Array | null): Promise<void>;
  kvSetWithOptions(key: string, value: Uint8Array | null, options: {atomic?: boolean; oldValue?: Uint8Array | null; expireInSeconds?: number}): Promise<boolean>;
  kvList(page: number, perPage: number): Promise<string[]>;
  kvDelete(key: string): Promise<void>;
}

export const FINISHED_JOBS_KEY = 'mattermost-plugin-metrics_finished_jobs';
export const ONCE_PREFIX = 'once_';
/** Upstream's mutex name: manifest id + JobLockKey, no separator. */
export const JOB_LOCK_KEY = 'mutex_com.mattermost.mattermost-plugin-metricsmattermost-plugin-metrics_job_lock';
export const DEFAULT_MAX_SPAN_MS = 31 * 24 * 3_600_000;
export const INTERRUPTED = 'interrupted by a restart';

const ID_ALPHABET = 'ybndrfg8ejkmcpqxot1uwisza345h769';

/** A Mattermost-style id (model.NewId): 26 chars of [a-z0-9]. */
export function newJobId(): string {
  const bytes = randomBytes(17);
  let bits = 0;
  let acc = 0;
  let out = '';
  for (const b of bytes) {
    acc = (acc << 8) | b;
    bits += 8;
    while (bits >= 5 && out.length < 26) {
      out += ID_ALPHABET[(acc >>> (bits - 5)) & 31];
      bits -= 5;
    }
    acc &= (1 << bits) - 1;
  }
  return out;
}

export function isValidJobId(id: string): boolean {
  return /^[a-z0-9]{26}$/.test(id);
}

export class JobValidationError extends Error {
  override name = 'JobValidationError';
}

export class JobNotFoundError extends Error {
  override name = 'JobNotFoundError';
}

/** Go's time.Time{}.UnixMilli(): what upstream stored for "no data" (year 0001). */
export const GO_ZERO_TIME_MS = -62135596800000;

/** Checks a requested range; throws JobValidationError with a message for the admin. */
export function validateRange(minT: unknown, maxT: unknown, now: number, maxSpanMs = DEFAULT_MAX_SPAN_MS): {min: number; max: number} {
  for (const [name, v] of [
    ['min_t', minT],
    ['max_t', maxT],
  ] as const) {
    if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw new JobValidationError(`${name} must be an integer number of milliseconds since the epoch`);
  }
  const min = minT as number;
  const max = maxT as number;
  if (min <= 0) throw new JobValidationError(`min_t ${min} is not a valid time (before 1970; year 0001 is Go's zero time)`);
  if (min >= max) throw new JobValidationError(`min_t (${iso(min)}) must be before max_t (${iso(max)})`);
  if (max > now + 60_000) throw new JobValidationError(`max_t (${iso(max)}) is in the future (now is ${iso(now)})`);
  if (max - min > maxSpanMs) {
    throw new JobValidationError(`the range spans ${((max - min) / 86_400_000).toFixed(1)} days; at most ${Math.floor(maxSpanMs / 86_400_000)} days per dump`);
  }
  return {min, max};
}

function iso(ms: number): string {
  const d = new Date(ms);
  return Number.isNaN(d.getTime()) ? String(ms) : d.toISOString();
}

const enc = (v: unknown): Buffer => Buffer.from(JSON.stringify(v));

function normalize(raw: unknown): DumpJob | null {
  if (!raw || typeof raw !== 'object') return null;
  const j = raw as Record<string, unknown>;
  if (typeof j.id !== 'string' || !j.id) return null;
  const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
  return {
    ...(j as Partial<DumpJob>),
    id: j.id,
    status: (typeof j.status === 'string' ? j.status : 'error') as DumpJobStatus,
    create_at: num(j.create_at),
    min_t: num(j.min_t),
    max_t: num(j.max_t),
    dump_location: typeof j.dump_location === 'string' ? j.dump_location : '',
  };
}

/** The job records in the plugin KV store (upstream's keys and JSON). */
export class DumpJobStore {
  private chain: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly kv: JobKV,
    private readonly opts: {lockTimeoutMs?: number; now?: () => number} = {},
  ) {}

  private now(): number {
    return (this.opts.now ?? Date.now)();
  }

  /** Every job: pending ones from once_<id>, overlaid by the finished map. */
  async list(): Promise<DumpJob[]> {
    const jobs = new Map<string, DumpJob>();
    for (let page = 0; ; page++) {
      const keys = await this.kv.kvList(page, 1000);
      for (const key of keys) {
        if (!key.startsWith(ONCE_PREFIX)) continue;
        const job = await this.readOnce(key.slice(ONCE_PREFIX.length));
        if (job) jobs.set(job.id, job);
      }
      if (keys.length < 1000) break;
    }
    for (const [id, job] of Object.entries(await this.readFinished())) jobs.set(id, job);
    return [...jobs.values()].sort((a, b) => b.create_at - a.create_at || (a.id < b.id ? -1 : 1));
  }

  async get(id: string): Promise<DumpJob | null> {
    return (await this.readFinished())[id] ?? (await this.readOnce(id));
  }

  /** Writes a job where upstream keeps it: pending in once_<id>, any other status in the finished map. */
  async put(job: DumpJob): Promise<void> {
    job.update_at = this.now();
    if (job.status === 'pending') {
      await this.kv.kvSet(ONCE_PREFIX + job.id, enc({Key: job.id, RunAt: new Date(job.create_at).toISOString(), Props: job}));
      return;
    }
    await this.withFinished((m) => {
      m[job.id] = job;
      return true;
    });
    await this.kv.kvDelete(ONCE_PREFIX + job.id);
  }

  /**
   * Applies `edit` to the current record; returns the updated job, or null when the record
   * is gone (deleted meanwhile: nothing is written). `edit` returning false writes nothing.
   */
  async update(id: string, edit: (job: DumpJob) => boolean | void): Promise<DumpJob | null> {
    return this.serial(async () => {
      const job = await this.get(id);
      if (!job) return null;
      if (edit(job) === false) return job;
      await this.put(job);
      return job;
    });
  }

  remove(id: string): Promise<void> {
    return this.serial(async () => {
      await this.withFinished((m) => {
        if (!(id in m)) return false;
        delete m[id];
        return true;
      });
      await this.kv.kvDelete(ONCE_PREFIX + id);
    });
  }

  /** Runs `fn` after every earlier serial() call of this store. */
  serial<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.chain.then(fn, fn);
    this.chain = p.catch(() => {});
    return p;
  }

  private async readOnce(id: string): Promise<DumpJob | null> {
    const raw = await this.kv.kvGet(ONCE_PREFIX + id);
    if (!raw || raw.length === 0) return null;
    try {
      const md = JSON.parse(raw.toString('utf8')) as {Key?: string; Props?: unknown};
      const job = normalize(md.Props);
      return job ? {...job, id: job.id || String(md.Key ?? id)} : null;
    } catch {
      return null;
    }
  }

  private async readFinished(): Promise<Record<string, DumpJob>> {
    const raw = await this.kv.kvGet(FINISHED_JOBS_KEY);
    if (!raw || raw.length === 0) return {};
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw.toString('utf8'));
    } catch {
      return {};
    }
    const out: Record<string, DumpJob> = {};
    for (const [id, v] of Object.entries((parsed ?? {}) as Record<string, unknown>)) {
      const job = normalize(v);
      if (job) out[id] = job;
    }
    return out;
  }

  /** Read-modify-write of the finished map under upstream's cluster mutex. */
  private async withFinished(edit: (m: Record<string, DumpJob>) => boolean): Promise<void> {
    await this.lock();
    try {
      const m = await this.readFinished();
      if (edit(m)) await this.kv.kvSet(FINISHED_JOBS_KEY, enc(m));
    } finally {
      await this.kv.kvDelete(JOB_LOCK_KEY).catch(() => {});
    }
  }

  private async lock(): Promise<void> {
    const deadline = this.now() + (this.opts.lockTimeoutMs ?? 20_000);
    let wait = 5;
    while (!(await this.kv.kvSetWithOptions(JOB_LOCK_KEY, Buffer.from([1]), {atomic: true, oldValue: null, expireInSeconds: 15}))) {
      if (this.now() > deadline) throw new Error('timed out waiting for the dump job lock');
      await new Promise((r) => setTimeout(r, wait));
      wait = Math.min(wait * 2, 200);
    }
  }
}

export interface DumpJobRunnerOptions {
  store: DumpJobStore;
  backend: FileBackend;
  /** This process (e.g. `<hostname>#<random>`): recorded on the jobs it runs. */
  nodeId: string;
  /** Metadata for the archive (server version, site, licence). */
  metadata: () => Promise<DumpMetadata>;
  /** Before each build: flush the local store and sync (db.flush(), syncer.syncOnce()). */
  prepare?: (signal?: AbortSignal) => Promise<void>;
  logger?: SyncLogger;
  maxSpanMs?: number;
  /** Progress is written to KV at most this often (default 1 s). */
  progressEveryMs?: number;
  /** Pending/running records of this node are touched this often (default 30 s). */
  heartbeatMs?: number;
  /** A pending/in-progress record of another host not touched for this long belongs to a dead process (default 5 min). */
  staleMs?: number;
  now?: () => number;
  /** Injectable for tests. */
  build?: (opts: BuildDumpOptions) => Promise<DumpResult>;
}

interface Running {
  id: string;
  abort: AbortController;
  done: Promise<void>;
  cancelReason?: string;
}

/** Builds dump jobs one at a time on this node. */
export class DumpJobRunner {
  private readonly queue: string[] = [];
  private running: Running | null = null;
  private heartbeat: NodeJS.Timeout | undefined;
  private stopped = false;
  private pumping: Promise<void> | null = null;

  constructor(private readonly opts: DumpJobRunnerOptions) {}

  private now(): number {
    return (this.opts.now ?? Date.now)();
  }

  private get host(): string {
    return this.opts.nodeId.split('#')[0];
  }

  /** Marks jobs of dead processes failed; starts the heartbeat. Returns the ids it failed. */
  async start(): Promise<string[]> {
    const failed = await this.recover();
    const every = this.opts.heartbeatMs ?? 30_000;
    this.heartbeat = setInterval(() => void this.touchMine().catch(() => {}), every);
    this.heartbeat.unref();
    return failed;
  }

  /** Fails pending/in-progress jobs whose process is gone (this host's earlier processes, upstream's records, stale ones). */
  async recover(): Promise<string[]> {
    const stale = this.opts.staleMs ?? 5 * 60_000;
    const failed: string[] = [];
    for (const job of await this.opts.store.list()) {
      if (job.status !== 'pending' && job.status !== 'in_progress') continue;
      if (job.node === this.opts.nodeId) continue;
      const dead = !job.node || job.node.split('#')[0] === this.host || (job.update_at ?? job.create_at) < this.now() - stale;
      if (!dead) continue;
      const updated = await this.opts.store.update(job.id, (j) => {
        if (j.status !== 'pending' && j.status !== 'in_progress') return false;
        j.status = 'error';
        j.error = INTERRUPTED;
        j.finish_at = this.now();
      });
      if (updated?.error === INTERRUPTED) {
        failed.push(job.id);
        this.opts.logger?.warn('dump job interrupted by a restart marked failed', {job: job.id});
      }
    }
    return failed;
  }

  /** Aborts the running job and fails the queued ones (the plugin stops). */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.heartbeat);
    const queued = this.queue.splice(0);
    if (this.running) {
      this.running.cancelReason = 'interrupted: the plugin was stopped';
      this.running.abort.abort();
    }
    await this.pumping;
    for (const id of queued) await this.fail(id, 'interrupted: the plugin was stopped').catch(() => {});
  }

  list(): Promise<DumpJob[]> {
    return this.opts.store.list();
  }

  get(id: string): Promise<DumpJob | null> {
    return this.opts.store.get(id);
  }

  /** Validates, deduplicates (same requested range pending or running → that job) and queues. */
  async create(minT: unknown, maxT: unknown, createdBy = ''): Promise<{job: DumpJob; existing: boolean}> {
    const {min, max} = validateRange(minT, maxT, this.now(), this.opts.maxSpanMs);
    if (this.stopped) throw new Error('the plugin is stopping');
    const out = await this.opts.store.serial(async () => {
      const same = (await this.opts.store.list()).find(
        (j) => (j.status === 'pending' || j.status === 'in_progress') && (j.requested_min_t ?? j.min_t) === min && (j.requested_max_t ?? j.max_t) === max,
      );
      if (same) return {job: same, existing: true};
      const now = this.now();
      const job: DumpJob = {
        id: newJobId(),
        status: 'pending',
        create_at: now,
        min_t: min,
        max_t: max,
        dump_location: '',
        progress: 0,
        requested_min_t: min,
        requested_max_t: max,
        created_by: createdBy,
        node: this.opts.nodeId,
      };
      await this.opts.store.put(job);
      return {job, existing: false};
    });
    if (!out.existing) {
      this.queue.push(out.job.id);
      this.pump();
    }
    return out;
  }

  /** Cancels a pending or running job (status error, reason stored). Returns the job. */
  async cancel(id: string, reason = 'cancelled'): Promise<DumpJob> {
    const q = this.queue.indexOf(id);
    if (q >= 0) this.queue.splice(q, 1);
    if (this.running?.id === id) {
      this.running.cancelReason = reason;
      this.running.abort.abort();
      await this.running.done;
    }
    // Pending or running elsewhere: the owner sees the record change and stops.
    const job = await this.opts.store.update(id, (j) => {
      if (j.status !== 'pending' && j.status !== 'in_progress') return false;
      j.status = 'error';
      j.error = reason;
      j.finish_at = this.now();
    });
    if (!job) throw new JobNotFoundError(`no dump job ${id}`);
    return job;
  }

  /** Cancels if needed, removes the dump from the file store and the record. */
  async delete(id: string): Promise<void> {
    const job = await this.opts.store.get(id);
    if (!job) throw new JobNotFoundError(`no dump job ${id}`);
    if (job.status === 'pending' || job.status === 'in_progress') await this.cancel(id, 'deleted').catch(() => {});
    await this.removeFiles(job);
    await this.opts.store.remove(id);
  }

  async deleteAll(): Promise<number> {
    const jobs = await this.opts.store.list();
    for (const j of jobs) await this.delete(j.id).catch((e: unknown) => (e instanceof JobNotFoundError ? undefined : Promise.reject(e)));
    await this.opts.backend.removeAll(remoteDumpDir);
    return jobs.length;
  }

  private async removeFiles(job: DumpJob): Promise<void> {
    if (/^[A-Za-z0-9]+$/.test(job.id)) await this.opts.backend.removeAll(`${remoteDumpDir}/${job.id}`);
    // Upstream's guard (#30): only ever below the plugin's directory.
    const loc = job.dump_location;
    if (loc.startsWith(`${remoteDumpDir}/`) && !loc.includes('..')) await this.opts.backend.remove(loc);
  }

  private async touchMine(): Promise<void> {
    const mine = [...this.queue, ...(this.running ? [this.running.id] : [])];
    for (const id of mine) {
      const job = await this.opts.store.update(id, (j) => j.status === 'pending' || j.status === 'in_progress');
      if (!job && this.running?.id === id) this.running.abort.abort();
    }
  }

  private pump(): void {
    if (this.pumping || this.stopped) return;
    this.pumping = (async () => {
      while (!this.stopped && this.queue.length > 0) {
        const id = this.queue.shift()!;
        const abort = new AbortController();
        let resolve!: () => void;
        const done = new Promise<void>((r) => (resolve = r));
        this.running = {id, abort, done};
        try {
          await this.run(this.running);
        } catch (e) {
          this.opts.logger?.error('dump job failed unexpectedly', {job: id, error: (e as Error).message});
        } finally {
          this.running = null;
          resolve();
        }
      }
    })().finally(() => {
      this.pumping = null;
    });
  }

  private async fail(id: string, reason: string): Promise<void> {
    await this.opts.store.update(id, (j) => {
      if (j.status === 'success' || j.status === 'error') return false;
      j.status = 'error';
      j.error = reason;
      j.progress = undefined;
      j.finish_at = this.now();
    });
  }

  private async run(r: Running): Promise<void> {
    const {store, backend} = this.opts;
    const started = await store.update(r.id, (j) => {
      if (j.status !== 'pending') return false;
      j.status = 'in_progress';
      j.node = this.opts.nodeId;
      j.progress = 0;
    });
    if (!started || started.status !== 'in_progress') return; // deleted or cancelled meanwhile
    const from = started.requested_min_t ?? started.min_t;
    const to = started.requested_max_t ?? started.max_t;
    let lastWrite = 0;
    let writing: Promise<unknown> = Promise.resolve();
    const every = this.opts.progressEveryMs ?? 1000;
    let lastPhase: DumpPhase | undefined;
    const onProgress = (fraction: number, phase: DumpPhase): void => {
      const t = this.now();
      if (t - lastWrite < every && phase === lastPhase) return;
      lastWrite = t;
      lastPhase = phase;
      writing = writing.then(async () => {
        const j = await store.update(r.id, (job) => {
          if (job.status !== 'in_progress') return false;
          job.progress = Math.round(fraction * 1000) / 1000;
          job.phase = phase;
        });
        // Deleted or cancelled by another node: stop.
        if (!j || j.status !== 'in_progress') r.abort.abort();
      }).catch(() => {});
    };
    try {
      const metadata = await this.opts.metadata();
      const fileName = dumpFileName(metadata.siteURL || metadata.siteName, from, to);
      const outPath = `${remoteDumpDir}/${r.id}/${fileName}`;
      const build = this.opts.build ?? buildDump;
      const res = await build({
        backend,
        from,
        to,
        outPath,
        metadata: {...metadata, createdBy: started.created_by || metadata.createdBy, extras: {...metadata.extras, job_id: r.id}},
        signal: r.abort.signal,
        onProgress,
        prepare: this.opts.prepare,
        logger: this.opts.logger,
        now: this.opts.now,
      });
      await writing;
      const done = await store.update(r.id, (j) => {
        if (j.status !== 'in_progress') return false;
        Object.assign(j, {
          status: 'success',
          dump_location: res.path,
          file_name: res.fileName,
          min_t: res.actualRange.min,
          max_t: res.actualRange.max,
          actual_min_t: res.actualRange.min,
          actual_max_t: res.actualRange.max,
          size: res.bytes,
          sha256: res.sha256,
          nodes: res.nodes,
          progress: 1,
          phase: 'done',
          finish_at: this.now(),
        } satisfies Partial<DumpJob>);
        j.error = undefined;
      });
      // Deleted (or cancelled elsewhere) while building: no zombie dump.
      if (!done || done.status !== 'success') await backend.removeAll(`${remoteDumpDir}/${r.id}`);
      else this.opts.logger?.info('dump job finished', {job: r.id, bytes: res.bytes, file: res.fileName});
    } catch (e) {
      await writing;
      const aborted = r.abort.signal.aborted;
      const reason = aborted ? (r.cancelReason ?? 'cancelled') : (e as Error).message || String(e);
      if (!aborted) this.opts.logger?.warn('dump job failed', {job: r.id, error: reason});
      await this.fail(r.id, reason);
      await backend.removeAll(`${remoteDumpDir}/${r.id}`).catch(() => {});
    }
  }
}
