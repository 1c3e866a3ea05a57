// Dump jobs: records in the plugin KV store, readable by (and read from) the Go plugin,
// and a runner per plugin process; the runners of a cluster share the work.
//
// KV layout (upstream's, spec §4.1):
//   once_<id>                                  {"Key": id, "RunAt": RFC3339, "Props": DumpJob} while pending
//   mattermost-plugin-metrics_finished_jobs    {"<id>": DumpJob, …} for every job that started
// A job is listed from both, the finished map winning (as upstream's GetAllJobs). Our
// records keep upstream's JSON fields (id, status, create_at, min_t, max_t, dump_location)
// and add ours (progress, error, requested_*/actual_*, size, sha256, nodes, created_by,
// file_name, node, update_at, expired*); the Go plugin ignores unknown fields.
//
// Cluster: every write is a compare-and-set (KVSetWithOptions {atomic, oldValue}) of the
// value just read, retried on conflict, so concurrent writers on several nodes never lose
// each other's changes; read-modify-writes of the finished map also hold upstream's
// cluster mutex key (a Go plugin of the same cluster during an upgrade respects it). A job
// leaves `pending` only through a compare-and-set of its once_<id> value, so exactly one
// node claims it. Any node's runner picks up pending jobs (the accepting node at once,
// the others on their poll, every 15 s); each runner builds one dump at a time, so the
// cluster builds at most as many dumps at once as it has nodes (the Support Packet's own
// dump is not a job and not counted). Every 15 s (heartbeat) a runner refreshes its
// liveness key `dump_node_<nodeId>` (KV expiry 45 s, deleted on a clean stop) and touches
// its running job's record. A node that finds an in_progress job of another node whose
// liveness key is gone, or whose record was not touched for 2 min (`staleMs`), marks it
// failed with the reason and removes its partial files (it does not re-run it: the admin
// decides). Pending jobs are never failed: they wait for a node, across restarts.
//
// Fixes over upstream (§12 #18): ranges are validated, identical pending/running requests
// are deduplicated (cluster-wide), the error is stored on the job, running jobs can be
// cancelled, a deleted running job does not come back, jobs of a dead process never stay
// in_progress, pending jobs survive restarts, and the finished map is capped
// (`keepFinished`, the dumps of pruned jobs are deleted with them).

import {randomBytes} from 'node:crypto';

import {type FileBackend, remoteDumpDir} from '../filestore/backend.ts';
import {type SyncLogger, errorMessage, listGrouped} from '../sync/remote.ts';
import {type BuildDumpOptions, DamagedBlockError, type DumpMetadata, type DumpPhase, type DumpPrepare, type DumpResult, buildDump, dumpFileName} from './builder.ts';

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
  /** A successful dump that may lack something, e.g. the scraping node's newest samples (why, for the admin). */
  warning?: string;
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
  /** The dump file was deleted by dump retention (or vanished): the job stays `success`, the download answers 410. */
  expired?: boolean;
  expired_at?: number;
  expired_reason?: string;
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
/** Finished jobs kept in the finished map (pending and running ones are never pruned). */
export const DEFAULT_KEEP_FINISHED = 100;
export const DEFAULT_HEARTBEAT_MS = 15_000;
/** An in_progress job of another node untouched for this long belongs to a dead node. */
export const DEFAULT_STALE_MS = 120_000;
/** How often an idle runner looks for pending jobs of the cluster and for stale ones. */
export const DEFAULT_POLL_MS = 15_000;
/** A standby node leaves a pending job this long to the scraping node. */
export const DEFAULT_STANDBY_DELAY_MS = 60_000;
/** Dump dirs named like a job id without a record, older than this, are removed. */
export const DEFAULT_ORPHAN_GRACE_MS = 3_600_000;
/** Each runner's liveness key: `dump_node_<nodeId>`, refreshed every heartbeat, expiring after 3 heartbeats. */
export const NODE_ALIVE_PREFIX = 'dump_node_';
/** Key of the lock around the cluster-wide dedupe of identical requests. */
export const CREATE_LOCK_KEY = 'mutex_com.mattermost.mattermost-plugin-metrics_dump_create';

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

const onceValue = (job: DumpJob): Buffer => enc({Key: job.id, RunAt: new Date(job.create_at).toISOString(), Props: job});

function parseOnce(raw: Buffer, id: string): DumpJob | null {
  try {
    const md = JSON.parse(raw.toString('utf8')) as {Key?: string; Props?: unknown};
    const job = normalize(md.Props);
    return job ? {...job, id: job.id || String(md.Key ?? id)} : null;
  } catch {
    return null;
  }
}

function parseFinished(raw: Buffer | undefined): Record<string, DumpJob> {
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

export const isActive = (j: DumpJob): boolean => j.status === 'pending' || j.status === 'in_progress';

/** Compare-and-set retries before giving up (each conflict means another writer made progress). */
const CAS_ATTEMPTS = 50;

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

  /** Every job: pending ones from once_<id>, overlaid by the finished map; newest first. */
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

  /** Stores a new pending job in once_<id> (insert only). */
  async create(job: DumpJob): Promise<void> {
    job.update_at = this.now();
    if (!(await this.kv.kvSetWithOptions(ONCE_PREFIX + job.id, onceValue(job), {atomic: true, oldValue: null}))) {
      throw new Error(`dump job ${job.id} exists already`);
    }
  }

  /** Writes a record as is where upstream keeps it (imports and tests; jobs change through update()). */
  async put(job: DumpJob): Promise<void> {
    job.update_at = this.now();
    if (job.status === 'pending') {
      await this.kv.kvSet(ONCE_PREFIX + job.id, onceValue(job));
      return;
    }
    await this.mutateFinished((m) => {
      m[job.id] = job;
      return true;
    });
    await this.kv.kvDelete(ONCE_PREFIX + job.id);
  }

  /**
   * Applies `edit` to the current record atomically (compare-and-set, retried on
   * conflict, so `edit` may run more than once, each time on a fresh copy); returns the
   * record as written, the unchanged record when `edit` returns false, or null when there
   * is no such job (nothing is written). A record leaving `pending` moves from once_<id>
   * to the finished map; the compare-and-set on once_<id> makes one writer win.
   */
  async update(id: string, edit: (job: DumpJob) => boolean | void): Promise<DumpJob | null> {
    const once = ONCE_PREFIX + id;
    for (let attempt = 0; attempt < CAS_ATTEMPTS; attempt++) {
      let inMap = false;
      let result: DumpJob | null = null;
      await this.mutateFinished((m) => {
        const cur = m[id];
        inMap = cur !== undefined;
        if (!cur) return false;
        const next = {...cur};
        if (edit(next) === false) {
          result = cur;
          return false;
        }
        next.update_at = this.now();
        m[id] = next;
        result = next;
        return true;
      });
      if (inMap) return result;
      const raw = await this.kv.kvGet(once);
      if (!raw || raw.length === 0) {
        // Moved into the map since we looked there, or gone.
        if (id in (await this.readFinished())) continue;
        return null;
      }
      const cur = parseOnce(raw, id);
      if (!cur) return null;
      const next = {...cur};
      if (edit(next) === false) return cur;
      next.update_at = this.now();
      if (!(await this.kv.kvSetWithOptions(once, onceValue(next), {atomic: true, oldValue: raw}))) continue;
      if (next.status === 'pending') return next;
      let placed = false;
      await this.mutateFinished((m) => {
        placed = !(id in m);
        if (placed) m[id] = next;
        return placed;
      });
      await this.kv.kvDelete(once);
      // Another writer moved it first: apply the edit to the map's record.
      if (placed) return next;
    }
    throw new Error(`dump job ${id}: too many concurrent updates, try again`);
  }

  async remove(id: string): Promise<void> {
    await this.mutateFinished((m) => {
      if (!(id in m)) return false;
      delete m[id];
      return true;
    });
    await this.kv.kvDelete(ONCE_PREFIX + id);
  }

  /** Says this node is alive for `ttlSeconds` (KV expiry). */
  async setAlive(nodeId: string, ttlSeconds: number): Promise<void> {
    await this.kv.kvSetWithOptions(NODE_ALIVE_PREFIX + nodeId, Buffer.from(String(this.now())), {expireInSeconds: Math.max(1, Math.ceil(ttlSeconds))});
  }

  async isAlive(nodeId: string): Promise<boolean> {
    const v = await this.kv.kvGet(NODE_ALIVE_PREFIX + nodeId);
    return v !== undefined && v.length > 0;
  }

  async clearAlive(nodeId: string): Promise<void> {
    await this.kv.kvDelete(NODE_ALIVE_PREFIX + nodeId);
  }

  /** Runs `fn` after every earlier serial() call of this store (this process only). */
  serial<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.chain.then(fn, fn);
    this.chain = p.catch(() => {});
    return p;
  }

  /** Runs `fn` holding a cluster mutex (a KV key with a 15 s expiry). */
  async withLock<T>(key: string, fn: () => Promise<T>): Promise<T> {
    await this.lock(key);
    try {
      return await fn();
    } finally {
      await this.kv.kvDelete(key).catch(() => {});
    }
  }

  /**
   * Read-modify-write of the finished map under upstream's mutex, written with a
   * compare-and-set of the value read (retried): safe even if the mutex expired.
   * `edit` returns false to write nothing; it may run more than once.
   */
  async mutateFinished(edit: (m: Record<string, DumpJob>) => boolean): Promise<void> {
    await this.withLock(JOB_LOCK_KEY, async () => {
      for (let attempt = 0; attempt < CAS_ATTEMPTS; attempt++) {
        const raw = await this.kv.kvGet(FINISHED_JOBS_KEY);
        const m = parseFinished(raw);
        if (!edit(m)) return;
        const old = raw && raw.length > 0 ? raw : null;
        if (await this.kv.kvSetWithOptions(FINISHED_JOBS_KEY, enc(m), {atomic: true, oldValue: old})) return;
      }
      throw new Error('the dump job list is being changed by too many writers at once, try again');
    });
  }

  private async readOnce(id: string): Promise<DumpJob | null> {
    const raw = await this.kv.kvGet(ONCE_PREFIX + id);
    if (!raw || raw.length === 0) return null;
    return parseOnce(raw, id);
  }

  private async readFinished(): Promise<Record<string, DumpJob>> {
    return parseFinished(await this.kv.kvGet(FINISHED_JOBS_KEY));
  }

  private async lock(key: string): Promise<void> {
    const deadline = Date.now() + (this.opts.lockTimeoutMs ?? 20_000);
    let wait = 5;
    while (!(await this.kv.kvSetWithOptions(key, Buffer.from([1]), {atomic: true, oldValue: null, expireInSeconds: 15}))) {
      if (Date.now() > deadline) throw new Error('timed out waiting for the dump job lock');
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
  /**
   * Before each build: flush the local store and sync (db.flush(), syncer.syncOnce()); on a
   * standby node also ask the scraping node to flush. Its warnings are stored on the job.
   */
  prepare?: DumpPrepare;
  logger?: SyncLogger;
  maxSpanMs?: number;
  /** Progress is written to KV at most this often (default 1 s). */
  progressEveryMs?: number;
  /** The running job's record is touched this often (default 15 s). */
  heartbeatMs?: number;
  /** An in_progress record of another node not touched for this long belongs to a dead node (default 2 min). */
  staleMs?: number;
  /** Pending jobs of the cluster and stale ones are looked for this often (default 15 s). */
  pollMs?: number;
  /** Finished jobs kept (default 100); older ones are removed with their dumps. */
  keepFinished?: number;
  /**
   * Whether this node holds the freshest data (it scrapes: its head has the samples not yet
   * in any block). When given and false, this node leaves a pending job to the scraping
   * node for `standbyDelayMs` — a dump ending "now" needs that node's flush — and only
   * builds it after that (the scraping node is busy or gone).
   */
  prefersToBuild?: () => boolean;
  /** A build found this block damaged in the file store (e.g. to have the syncer check and repair it). */
  onDamagedBlock?: (ulid: string) => void;
  /** How long a standby node leaves a pending job to the scraping node (default 60 s). */
  standbyDelayMs?: number;
  /** Dump dirs named like a job without a record are removed after this long (default 1 h). */
  orphanGraceMs?: number;
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

const jobDir = (id: string): string => `${remoteDumpDir}/${id}`;

/** Builds dump jobs of the cluster, one at a time on this node. */
export class DumpJobRunner {
  private running: Running | null = null;
  private heartbeat: NodeJS.Timeout | undefined;
  private poller: NodeJS.Timeout | undefined;
  private stopped = false;
  private pumping: Promise<void> | null = null;
  private pumpAgain = false;
  /** Ids of pending/in_progress jobs seen at the last listing (dump retention must not delete their files). */
  private active = new Set<string>();
  private lastOrphanSweep = 0;

  constructor(private readonly opts: DumpJobRunnerOptions) {}

  private now(): number {
    return (this.opts.now ?? Date.now)();
  }

  private get host(): string {
    return this.opts.nodeId.split('#')[0];
  }

  private get staleMs(): number {
    return this.opts.staleMs ?? DEFAULT_STALE_MS;
  }

  private get heartbeatMs(): number {
    return this.opts.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
  }

  /** Three missed heartbeats and the node counts as gone. */
  private get aliveTtlSeconds(): number {
    return Math.max(1, Math.ceil((3 * this.heartbeatMs) / 1000));
  }

  /** The job being built here, if any. */
  get runningJobId(): string | null {
    return this.running?.id ?? null;
  }

  /** True for a job that is pending or running anywhere (as of the last listing) — its dir must stay. */
  isActive(id: string): boolean {
    return this.running?.id === id || this.active.has(id);
  }

  /**
   * Fails the jobs of dead processes, prunes, starts the heartbeat and the poll, and picks
   * up pending jobs. Returns the ids it failed.
   */
  async start(): Promise<string[]> {
    await this.opts.store.setAlive(this.opts.nodeId, this.aliveTtlSeconds);
    const failed = await this.recover();
    await this.prune().catch((e: unknown) => this.opts.logger?.warn('could not prune finished dump jobs', {error: errorMessage(e)}));
    this.heartbeat = setInterval(() => {
      void this.opts.store.setAlive(this.opts.nodeId, this.aliveTtlSeconds).catch(() => {});
      void this.touchRunning().catch(() => {});
    }, this.heartbeatMs);
    this.heartbeat.unref();
    this.poller = setInterval(() => void this.poll(), this.opts.pollMs ?? DEFAULT_POLL_MS);
    this.poller.unref();
    this.pump();
    return failed;
  }

  /** One round of the poll: stale jobs, pending jobs, orphan dirs. */
  async poll(): Promise<void> {
    if (this.stopped) return;
    try {
      await this.recover();
      this.pump();
      if (this.now() - this.lastOrphanSweep > Math.min(10 * 60_000, this.opts.orphanGraceMs ?? DEFAULT_ORPHAN_GRACE_MS)) {
        this.lastOrphanSweep = this.now();
        await this.sweepOrphans();
      }
    } catch (e) {
      this.opts.logger?.warn('dump jobs: poll failed', {error: errorMessage(e)});
    }
  }

  /**
   * Fails in_progress jobs whose node is gone: its liveness key expired (or it stopped),
   * its record was not touched for `staleMs`, or upstream's records (no node). Pending
   * jobs stay pending: some node runs them.
   */
  async recover(): Promise<string[]> {
    const failed: string[] = [];
    const jobs = await this.opts.store.list();
    this.active = new Set(jobs.filter(isActive).map((j) => j.id));
    for (const job of jobs) {
      if (job.status !== 'in_progress' || job.node === this.opts.nodeId) continue;
      const reason = await this.deadReason(job);
      if (!reason) continue;
      const updated = await this.opts.store.update(job.id, (j) => {
        if (j.status !== 'in_progress' || j.node !== job.node) return false;
        j.status = 'error';
        j.error = reason;
        j.progress = undefined;
        j.finish_at = this.now();
      });
      if (updated?.status === 'error' && updated.error === reason) {
        failed.push(job.id);
        this.active.delete(job.id);
        this.opts.logger?.warn('dump job of a dead process marked failed', {job: job.id, node: job.node ?? '', reason});
        await this.opts.backend.removeAll(jobDir(job.id)).catch(() => {});
      }
    }
    return failed;
  }

  private async deadReason(j: DumpJob): Promise<string | null> {
    if (!j.node) return INTERRUPTED;
    const secs = (ms: number): string => (ms / 1000).toFixed(ms < 10_000 ? 1 : 0);
    if (!(await this.opts.store.isAlive(j.node))) {
      if (j.node.split('#')[0] === this.host) return INTERRUPTED;
      return `interrupted: node ${j.node} stopped (no liveness heartbeat for ${this.aliveTtlSeconds} s); create it again`;
    }
    const last = j.update_at ?? j.create_at;
    if (last < this.now() - this.staleMs) {
      return `interrupted: node ${j.node} stopped updating this job (no heartbeat for ${secs(this.now() - last)} s; limit ${secs(this.staleMs)} s); create it again`;
    }
    return null;
  }

  /** Aborts the running job (failed with a reason); pending jobs stay for other nodes or the next start. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.heartbeat);
    clearInterval(this.poller);
    if (this.running) {
      this.running.cancelReason = 'interrupted: the plugin was stopped';
      this.running.abort.abort();
    }
    await this.pumping;
    await this.opts.store.clearAlive(this.opts.nodeId).catch(() => {});
  }

  list(): Promise<DumpJob[]> {
    return this.opts.store.list();
  }

  get(id: string): Promise<DumpJob | null> {
    return this.opts.store.get(id);
  }

  /** Validates, deduplicates (same requested range pending or running anywhere → that job) and queues. */
  async create(minT: unknown, maxT: unknown, createdBy = ''): Promise<{job: DumpJob; existing: boolean}> {
    const {min, max} = validateRange(minT, maxT, this.now(), this.opts.maxSpanMs);
    if (this.stopped) throw new Error('the plugin is stopping');
    const {store} = this.opts;
    const out = await store.serial(() =>
      store.withLock(CREATE_LOCK_KEY, async () => {
        const same = (await store.list()).find((j) => isActive(j) && (j.requested_min_t ?? j.min_t) === min && (j.requested_max_t ?? j.max_t) === max);
        if (same) return {job: same, existing: true};
        const job: DumpJob = {
          id: newJobId(),
          status: 'pending',
          create_at: this.now(),
          min_t: min,
          max_t: max,
          dump_location: '',
          progress: 0,
          requested_min_t: min,
          requested_max_t: max,
          created_by: createdBy,
        };
        await store.create(job);
        return {job, existing: false};
      }),
    );
    if (!out.existing) {
      this.active.add(out.job.id);
      this.pump();
    }
    return out;
  }

  /** Cancels a pending or running job (status error, reason stored), here or on another node. */
  async cancel(id: string, reason = 'cancelled'): Promise<DumpJob> {
    const job = await this.opts.store.update(id, (j) => {
      if (!isActive(j)) return false;
      j.status = 'error';
      j.error = reason;
      j.progress = undefined;
      j.finish_at = this.now();
    });
    if (!job) throw new JobNotFoundError(`no dump job ${id}`);
    // Running here: stop now and wait for its files to go. Elsewhere: that node sees the
    // record change at its next progress write or heartbeat and stops.
    if (this.running?.id === id) {
      this.running.cancelReason = reason;
      this.running.abort.abort();
      await this.running.done;
    }
    return job;
  }

  /** Cancels if needed, removes the dump from the file store and the record. A missing file is fine. */
  async delete(id: string): Promise<void> {
    const job = await this.opts.store.get(id);
    if (!job) throw new JobNotFoundError(`no dump job ${id}`);
    if (isActive(job)) await this.cancel(id, 'deleted').catch(() => {});
    await this.removeFiles(job);
    await this.opts.store.remove(id);
    this.active.delete(id);
  }

  async deleteAll(): Promise<number> {
    const jobs = await this.opts.store.list();
    for (const j of jobs) await this.delete(j.id).catch((e: unknown) => (e instanceof JobNotFoundError ? undefined : Promise.reject(e)));
    await this.opts.backend.removeAll(remoteDumpDir);
    return jobs.length;
  }

  /**
   * Keeps the newest `keepFinished` finished jobs (by finish, else creation time); older
   * ones go with their dumps. Pending and running jobs are never pruned. Returns the ids.
   */
  async prune(): Promise<string[]> {
    const keep = this.opts.keepFinished ?? DEFAULT_KEEP_FINISHED;
    let pruned: DumpJob[] = [];
    await this.opts.store.mutateFinished((m) => {
      const finished = Object.values(m)
        .filter((j) => !isActive(j))
        .sort((a, b) => (b.finish_at ?? b.create_at) - (a.finish_at ?? a.create_at) || (a.id < b.id ? -1 : 1));
      pruned = finished.slice(keep);
      for (const j of pruned) delete m[j.id];
      return pruned.length > 0;
    });
    for (const j of pruned) {
      await this.removeFiles(j).catch((e: unknown) =>
        this.opts.logger?.warn('could not remove the dump of a pruned job; dump retention will', {job: j.id, error: errorMessage(e)}),
      );
    }
    if (pruned.length > 0) this.opts.logger?.info('pruned old dump jobs', {count: pruned.length, keep});
    return pruned.map((j) => j.id);
  }

  /**
   * Dump retention deleted these dumps (dir names = job ids): their jobs stay `success`
   * with `expired` set, so the list shows it and the download answers 410.
   */
  async markExpired(deleted: ReadonlyArray<{id: string; reason: string}>): Promise<string[]> {
    const byId = new Map(deleted.map((d) => [d.id, d.reason]));
    const marked: string[] = [];
    await this.opts.store.mutateFinished((m) => {
      marked.length = 0;
      for (const [id, reason] of byId) {
        const j = m[id];
        if (!j || j.status !== 'success' || j.expired) continue;
        m[id] = {...j, expired: true, expired_at: this.now(), expired_reason: reason, update_at: this.now()};
        marked.push(id);
      }
      return marked.length > 0;
    });
    return marked;
  }

  /** Removes dump dirs named like a job id that have no record and are older than the grace period. */
  async sweepOrphans(): Promise<string[]> {
    const grace = this.opts.orphanGraceMs ?? DEFAULT_ORPHAN_GRACE_MS;
    const dirs = await listGrouped(this.opts.backend, remoteDumpDir);
    if (dirs.size === 0) return [];
    const known = new Set((await this.opts.store.list()).map((j) => j.id));
    const removed: string[] = [];
    for (const d of dirs.values()) {
      if (!isValidJobId(d.name) || known.has(d.name) || this.isActive(d.name) || this.now() - d.newest < grace) continue;
      await this.opts.backend.removeAll(jobDir(d.name));
      removed.push(d.name);
      this.opts.logger?.info('removed a dump without a job record', {dir: d.name, bytes: d.bytes});
    }
    return removed;
  }

  private async removeFiles(job: DumpJob): Promise<void> {
    if (/^[A-Za-z0-9]+$/.test(job.id)) await this.opts.backend.removeAll(jobDir(job.id));
    // Upstream's guard (#30): only ever below the plugin's directory.
    const loc = job.dump_location;
    if (loc.startsWith(`${remoteDumpDir}/`) && !loc.includes('..')) await this.opts.backend.remove(loc);
  }

  /** Heartbeat of the running job; stops it when the record was cancelled, deleted or taken over. */
  private async touchRunning(): Promise<void> {
    const r = this.running;
    if (!r) return;
    const job = await this.opts.store.update(r.id, (j) => j.status === 'in_progress' && j.node === this.opts.nodeId);
    if (this.running !== r) return;
    if (!job || job.status !== 'in_progress' || job.node !== this.opts.nodeId) {
      r.cancelReason ??= job?.error ?? 'deleted';
      r.abort.abort();
    }
  }

  /** Claims the oldest pending job of the cluster, or returns null. */
  private async claimNext(): Promise<DumpJob | null> {
    const jobs = await this.opts.store.list();
    this.active = new Set(jobs.filter(isActive).map((j) => j.id));
    let pending = jobs.filter((j) => j.status === 'pending').sort((a, b) => a.create_at - b.create_at || (a.id < b.id ? -1 : 1));
    if (this.opts.prefersToBuild && !this.opts.prefersToBuild()) {
      const waitMs = this.opts.standbyDelayMs ?? DEFAULT_STANDBY_DELAY_MS;
      pending = pending.filter((j) => this.now() - j.create_at >= waitMs);
    }
    for (const p of pending) {
      if (this.stopped) return null;
      const claimed = await this.opts.store.update(p.id, (j) => {
        if (j.status !== 'pending') return false;
        j.status = 'in_progress';
        j.node = this.opts.nodeId;
        j.progress = 0;
      });
      if (claimed?.status === 'in_progress' && claimed.node === this.opts.nodeId) return claimed;
    }
    return null;
  }

  /** Looks for pending jobs now (e.g. this node just started scraping). */
  wake(): void {
    this.pump();
  }

  private pump(): void {
    if (this.stopped) return;
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    this.pumping = (async () => {
      do {
        this.pumpAgain = false;
        while (!this.stopped) {
          let job: DumpJob | null;
          try {
            job = await this.claimNext();
          } catch (e) {
            this.opts.logger?.warn('dump jobs: could not look for pending jobs', {error: errorMessage(e)});
            break;
          }
          if (!job) break;
          const abort = new AbortController();
          let resolve!: () => void;
          const done = new Promise<void>((r) => (resolve = r));
          this.running = {id: job.id, abort, done};
          // stop() came while we were claiming: fail it with the reason rather than build.
          if (this.stopped) {
            this.running.cancelReason = 'interrupted: the plugin was stopped';
            abort.abort();
          }
          try {
            await this.run(this.running, job);
          } catch (e) {
            this.opts.logger?.error('dump job failed unexpectedly', {job: job.id, error: errorMessage(e)});
          } finally {
            this.running = null;
            resolve();
          }
          await this.prune().catch((e: unknown) => this.opts.logger?.warn('could not prune finished dump jobs', {error: errorMessage(e)}));
        }
      } while (this.pumpAgain && !this.stopped);
    })().finally(() => {
      this.pumping = null;
    });
  }

  private async fail(id: string, reason: string): Promise<void> {
    await this.opts.store.update(id, (j) => {
      if (!isActive(j)) return false;
      j.status = 'error';
      j.error = reason;
      j.progress = undefined;
      j.finish_at = this.now();
    });
  }

  private async run(r: Running, started: DumpJob): Promise<void> {
    const {store, backend} = this.opts;
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
      writing = writing
        .then(async () => {
          const j = await store.update(r.id, (job) => {
            if (job.status !== 'in_progress' || job.node !== this.opts.nodeId) return false;
            job.progress = Math.round(fraction * 1000) / 1000;
            job.phase = phase;
          });
          // Deleted, cancelled or failed by another node: stop.
          if (!j || j.status !== 'in_progress' || j.node !== this.opts.nodeId) {
            r.cancelReason ??= j?.error ?? 'deleted';
            r.abort.abort();
          }
        })
        .catch(() => {});
    };
    try {
      const metadata = await this.opts.metadata();
      const fileName = dumpFileName(metadata.siteURL || metadata.siteName, from, to);
      const outPath = `${jobDir(r.id)}/${fileName}`;
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
      if (r.abort.signal.aborted) throw new Error(r.cancelReason ?? 'cancelled');
      const done = await store.update(r.id, (j) => {
        if (j.status !== 'in_progress' || j.node !== this.opts.nodeId) return false;
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
        j.warning = res.warnings && res.warnings.length > 0 ? res.warnings.join(' ') : undefined;
      });
      // Deleted, cancelled or taken over while building: no zombie dump.
      if (!done || done.status !== 'success' || done.node !== this.opts.nodeId) await backend.removeAll(jobDir(r.id));
      else this.opts.logger?.info('dump job finished', {job: r.id, bytes: res.bytes, file: res.fileName, ...(done.warning ? {warning: done.warning} : {})});
    } catch (e) {
      await writing;
      const aborted = r.abort.signal.aborted;
      const reason = aborted ? (r.cancelReason ?? 'cancelled') : errorMessage(e) || String(e);
      if (!aborted) this.opts.logger?.warn('dump job failed', {job: r.id, error: reason});
      if (e instanceof DamagedBlockError) this.opts.onDamagedBlock?.(e.ulid);
      await this.fail(r.id, reason).catch(() => {});
      await backend.removeAll(jobDir(r.id)).catch(() => {});
    }
  }
}
