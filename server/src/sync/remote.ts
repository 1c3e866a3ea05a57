// The remote side of the file store: block dirs under data/, dumps under dump/, what they
// hold, what retention deletes, and how much space they use.

import {type BlockMeta, decodeMeta, isULID, ulidTime} from '../tsdb/block/mod.ts';
import {type FileBackend, type FileInfo, FileNotFoundError, remoteDataDir, remoteDumpDir} from '../filestore/backend.ts';
import {META_FILENAME} from './manifest.ts';

export const DAY_MS = 86_400_000;
/** A remote block dir without a readable meta.json younger than this may still be uploading. */
export const DEFAULT_PARTIAL_GRACE_MS = DAY_MS;

export interface SyncLogger {
  debug?(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

export const nopLogger: SyncLogger = {info() {}, warn() {}, error() {}};

export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export async function readAll(backend: FileBackend, p: string): Promise<Buffer> {
  const s = await backend.read(p);
  const parts: Buffer[] = [];
  for await (const c of s as AsyncIterable<Buffer | string>) parts.push(typeof c === 'string' ? Buffer.from(c) : c);
  return Buffer.concat(parts);
}

/** One remote dir under data/ (or dump/): its files keyed by path relative to the dir. */
export interface RemoteDir {
  name: string;
  files: Map<string, FileInfo>;
  bytes: number;
  /** Newest modTime of its files (ms). */
  newest: number;
}

/** Lists every file under `root` (or only under `root/only`) once and groups them by first path component. */
export async function listGrouped(backend: FileBackend, root: string, only?: string): Promise<Map<string, RemoteDir>> {
  const prefix = `${root}/`;
  const out = new Map<string, RemoteDir>();
  for (const f of await backend.list(only ? `${root}/${only}` : root)) {
    if (!f.path.startsWith(prefix)) continue;
    const rest = f.path.slice(prefix.length);
    const slash = rest.indexOf('/');
    if (slash <= 0 || slash === rest.length - 1) continue; // a file directly under root, or a dir marker
    const name = rest.slice(0, slash);
    let d = out.get(name);
    if (!d) out.set(name, (d = {name, files: new Map(), bytes: 0, newest: 0}));
    d.files.set(rest.slice(slash + 1), f);
    d.bytes += f.size;
    d.newest = Math.max(d.newest, f.modTime);
  }
  return out;
}

/** A remote meta.json that was read but is not a valid v1 meta.json of its dir's block. */
export class RemoteMetaError extends Error {
  override name = 'RemoteMetaError';
}

/** Remote meta.json contents by ULID; blocks are immutable so entries stay valid while meta.json's size and time do. */
export class RemoteMetaCache {
  private readonly entries = new Map<string, {sig: string; meta: BlockMeta}>();

  async get(backend: FileBackend, dataDir: string, dir: RemoteDir): Promise<BlockMeta> {
    const info = dir.files.get(META_FILENAME);
    if (!info) throw new FileNotFoundError(`${dataDir}/${dir.name}/${META_FILENAME}`);
    const sig = `${info.size}:${info.modTime}`;
    const hit = this.entries.get(dir.name);
    if (hit && hit.sig === sig) return hit.meta;
    const text = (await readAll(backend, info.path)).toString('utf8');
    let meta: BlockMeta;
    try {
      meta = decodeMeta(text, info.path);
    } catch (e) {
      throw new RemoteMetaError(`${info.path}: ${errorMessage(e)}`, {cause: e});
    }
    if (meta.ulid.toUpperCase() !== dir.name.toUpperCase()) throw new RemoteMetaError(`${info.path} names block ${meta.ulid}`);
    this.entries.set(dir.name, {sig, meta});
    return meta;
  }

  forget(ulid: string): void {
    this.entries.delete(ulid);
  }

  /** Drops entries of blocks no longer listed. */
  retain(names: Iterable<string>): void {
    const keep = new Set(names);
    for (const k of this.entries.keys()) if (!keep.has(k)) this.entries.delete(k);
  }
}

export type RemoteDeletionReason = 'retention' | 'partial';

export interface RemoteBlockDeletion {
  ulid: string;
  reason: RemoteDeletionReason;
  bytes: number;
  /** meta.json maxTime (exclusive, ms) for 'retention'. */
  maxTime?: number;
  /** For 'partial': why the dir is not a complete block. */
  detail?: string;
}

export interface CleanupResult<D> {
  deleted: D[];
  errors: Array<{name: string; error: string}>;
}

export interface CleanupRemoteOptions {
  retentionDays: number;
  /** Default 1 day. Age of a partial dir = max(ULID time, newest file's modTime). */
  partialGraceMs?: number;
  now?: number;
  logger?: SyncLogger;
  metaCache?: RemoteMetaCache;
  dataDir?: string;
}

/**
 * Deletes remote blocks whose meta.json maxTime is older than now − retentionDays, and
 * ULID-named dirs without a readable meta.json (partial uploads) once they are older
 * than the grace period. Names that are not ULIDs are never touched. A listing failure
 * rejects; a failure on one block is reported and the rest go on.
 */
export async function cleanupRemoteBlocks(backend: FileBackend, opts: CleanupRemoteOptions): Promise<CleanupResult<RemoteBlockDeletion>> {
  const log = opts.logger ?? nopLogger;
  const dataDir = opts.dataDir ?? remoteDataDir;
  const now = opts.now ?? Date.now();
  const cutoff = now - opts.retentionDays * DAY_MS;
  const grace = opts.partialGraceMs ?? DEFAULT_PARTIAL_GRACE_MS;
  const cache = opts.metaCache ?? new RemoteMetaCache();
  const out: CleanupResult<RemoteBlockDeletion> = {deleted: [], errors: []};
  const dirs = await listGrouped(backend, dataDir);
  for (const d of [...dirs.values()].sort((a, b) => (a.name < b.name ? -1 : 1))) {
    if (!isULID(d.name)) continue;
    let del: RemoteBlockDeletion | null = null;
    try {
      const meta = await cache.get(backend, dataDir, d);
      if (meta.maxTime < cutoff) del = {ulid: d.name, reason: 'retention', bytes: d.bytes, maxTime: meta.maxTime};
    } catch (e) {
      if (!(e instanceof FileNotFoundError) && !(e instanceof RemoteMetaError)) {
        // Could not read it (backend trouble): do not guess.
        out.errors.push({name: d.name, error: errorMessage(e)});
        continue;
      }
      const age = Math.max(ulidTime(d.name), d.newest);
      if (now - age > grace) {
        del = {ulid: d.name, reason: 'partial', bytes: d.bytes, detail: e instanceof FileNotFoundError ? 'no meta.json' : `unreadable meta.json: ${errorMessage(e)}`};
      } else {
        log.debug?.('sync: remote block without readable meta.json is within its grace period, kept', {block: d.name, error: errorMessage(e)});
      }
    }
    if (!del) continue;
    try {
      // meta.json first: an interrupted deletion leaves a dir that is visibly partial.
      await backend.remove(`${dataDir}/${d.name}/${META_FILENAME}`);
      await backend.removeAll(`${dataDir}/${d.name}`);
      cache.forget(d.name);
      out.deleted.push(del);
      if (del.reason === 'retention') {
        log.info('sync: deleted remote block past retention', {block: d.name, maxTime: new Date(del.maxTime!).toISOString(), retentionDays: opts.retentionDays, bytes: d.bytes});
      } else {
        log.warn('sync: deleted a partial remote block left over by an interrupted upload', {block: d.name, detail: del.detail, bytes: d.bytes});
      }
    } catch (e) {
      out.errors.push({name: d.name, error: errorMessage(e)});
      log.warn('sync: could not delete remote block', {block: d.name, reason: del.reason, error: errorMessage(e)});
    }
  }
  return out;
}

export type DumpDeletionReason = 'age' | 'size';

export interface DumpDeletion {
  id: string;
  reason: DumpDeletionReason;
  bytes: number;
  /** Newest modTime of the dump's files (ms). */
  modTime: number;
}

export interface CleanupDumpsOptions {
  /** Delete dumps older than this (by their newest file's modTime); 0 = no age limit. */
  retentionDays: number;
  /** Keep at most this much in total, deleting oldest first; 0 = no size limit. */
  totalMB: number;
  /** Dumps that must stay (e.g. being written, or referenced by a running job); they still count towards the total. */
  protect?: (id: string) => boolean;
  now?: number;
  logger?: SyncLogger;
  dumpDir?: string;
}

/**
 * Dump retention (upstream keeps dumps forever): by age, then by total size, oldest
 * first. Returns what was deleted and why, so the dump-jobs code can update its records.
 */
export async function cleanupDumps(backend: FileBackend, opts: CleanupDumpsOptions): Promise<CleanupResult<DumpDeletion> & {keptBytes: number; kept: number}> {
  const log = opts.logger ?? nopLogger;
  const dumpDir = opts.dumpDir ?? remoteDumpDir;
  const now = opts.now ?? Date.now();
  const out = {deleted: [] as DumpDeletion[], errors: [] as Array<{name: string; error: string}>, keptBytes: 0, kept: 0};
  const dumps = [...(await listGrouped(backend, dumpDir)).values()].sort((a, b) => b.newest - a.newest || (a.name < b.name ? 1 : -1)); // newest first
  const plan: DumpDeletion[] = [];
  const keep: typeof dumps = [];
  for (const d of dumps) {
    const protectedDump = opts.protect?.(d.name) ?? false;
    if (!protectedDump && opts.retentionDays > 0 && now - d.newest > opts.retentionDays * DAY_MS) plan.push({id: d.name, reason: 'age', bytes: d.bytes, modTime: d.newest});
    else keep.push(d);
  }
  if (opts.totalMB > 0) {
    const limit = opts.totalMB * 1024 * 1024;
    let total = keep.reduce((s, d) => s + d.bytes, 0);
    for (let i = keep.length - 1; i >= 0 && total > limit; i--) {
      const d = keep[i];
      if (opts.protect?.(d.name)) continue;
      plan.push({id: d.name, reason: 'size', bytes: d.bytes, modTime: d.newest});
      total -= d.bytes;
      keep.splice(i, 1);
    }
  }
  plan.sort((a, b) => a.modTime - b.modTime);
  for (const p of plan) {
    try {
      await backend.removeAll(`${dumpDir}/${p.id}`);
      out.deleted.push(p);
      log.info('sync: deleted dump', {dump: p.id, reason: p.reason, bytes: p.bytes, modTime: new Date(p.modTime).toISOString()});
    } catch (e) {
      out.errors.push({name: p.id, error: errorMessage(e)});
      keep.push(dumps.find((d) => d.name === p.id)!);
      log.warn('sync: could not delete dump', {dump: p.id, reason: p.reason, error: errorMessage(e)});
    }
  }
  out.kept = keep.length;
  out.keptBytes = keep.reduce((s, d) => s + d.bytes, 0);
  return out;
}

export interface RemoteUsage {
  /** Complete blocks (readable meta.json). */
  blocks: number;
  /** Block dirs without a readable meta.json (uploads in progress or leftovers). */
  partialBlocks: number;
  /** Bytes of every block dir, partial ones included. */
  bytes: number;
  /** Oldest minTime / newest maxTime (exclusive) over complete blocks, ms; null without blocks. */
  oldest: number | null;
  newest: number | null;
  dumps: number;
  dumpBytes: number;
}

/** Space used in the file store. One listing each for data/ and dump/, plus a GET per meta.json not in `cache`. */
export async function remoteUsage(backend: FileBackend, opts: {metaCache?: RemoteMetaCache; dataDir?: string; dumpDir?: string} = {}): Promise<RemoteUsage> {
  const dataDir = opts.dataDir ?? remoteDataDir;
  const cache = opts.metaCache ?? new RemoteMetaCache();
  const u: RemoteUsage = {blocks: 0, partialBlocks: 0, bytes: 0, oldest: null, newest: null, dumps: 0, dumpBytes: 0};
  const [blocks, dumps] = await Promise.all([listGrouped(backend, dataDir), listGrouped(backend, opts.dumpDir ?? remoteDumpDir)]);
  for (const d of blocks.values()) {
    if (!isULID(d.name)) continue;
    u.bytes += d.bytes;
    try {
      const m = await cache.get(backend, dataDir, d);
      u.blocks++;
      u.oldest = u.oldest === null ? m.minTime : Math.min(u.oldest, m.minTime);
      u.newest = u.newest === null ? m.maxTime : Math.max(u.newest, m.maxTime);
    } catch (e) {
      if (!(e instanceof FileNotFoundError) && !(e instanceof RemoteMetaError)) throw e;
      u.partialBlocks++;
    }
  }
  for (const d of dumps.values()) {
    u.dumps++;
    u.dumpBytes += d.bytes;
  }
  return u;
}
