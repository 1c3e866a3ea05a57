// BlockSyncer: copies the TSDB's persisted blocks to the file store and keeps the copy
// verifiably complete (spec §3 and §12 item 11: upstream never retried a partial
// upload, had no checksums and did not write meta.json last).
//
// Per pass: one listing of the local data dir, one listing of the remote data dir, then
// per local block within the retention window (2 blocks at a time, 3 files per block):
//
//   remote absent            → upload: data files, mm-manifest.json, meta.json last
//   complete (ours)          → manifest matches local sizes+sha256 and listed sizes → skip
//   complete (Go plugin)     → meta.json, no manifest, local files present with their sizes → accept as is
//   anything else            → repair: remove meta.json (and manifest) first so the dir reads as
//                              incomplete while we work, re-upload what is missing or wrong,
//                              then the manifest, then meta.json
//
// A block that verified complete is remembered with the signature of its remote listing,
// so steady-state passes cost two listings and no reads. A local block that fails
// verifyBlock is never uploaded. A local block deleted while being uploaded (compaction
// or retention raced us) is aborted and what we wrote is removed; if that removal fails
// the dir has no meta.json, so it is detectable as partial and cleanupRemote deletes it
// after the grace period. Failures are per block: logged once per streak, counted, and
// retried on the next pass.

import fs from 'node:fs';
import path from 'node:path';
import {type FileBackend, remoteDataDir, remoteRoot} from '../filestore/backend.ts';
import {type Problem, verifyBlock} from '../tsdb/block/mod.ts';
import type {BlockOutcome, BlockReport, BlockSyncerOptions, Plan, SyncPassResult, SyncStatus} from './types.ts';
import {type BlockDir, listDataDir} from '../tsdb/retention/mod.ts';
import {
  MANIFEST_FILENAME,
  MANIFEST_VERSION,
  META_FILENAME,
  type LocalFile,
  type Manifest,
  type ManifestFile,
  decodeManifest,
  encodeManifest,
  hashFile,
  hashStream,
  listBlockFiles,
  sha256,
} from './manifest.ts';
import {
  type CleanupDumpsOptions,
  type CleanupResult,
  type DumpDeletion,
  type RemoteBlockDeletion,
  type RemoteDir,
  type RemoteUsage,
  type SyncLogger,
  DAY_MS,
  DEFAULT_PARTIAL_GRACE_MS,
  RemoteMetaCache,
  cleanupDumps,
  cleanupRemoteBlocks,
  errorMessage,
  listGrouped,
  nopLogger,
  readAll,
  remoteUsage,
} from './remote.ts';
import {Limiter, LocalChangedError, uploadBuffer, uploadFile} from './transfer.ts';

const MIN = 60_000;

function remoteSignature(d: RemoteDir): string {
  return [...d.files.entries()]
    .map(([p, f]) => `${p}:${f.size}:${f.modTime}`)
    .sort()
    .join('|');
}

/** The local block was deleted (compaction or retention) after we started writing it. */
class VanishedDuringUpload extends Error {
  override name = 'VanishedDuringUpload';
  constructor(ulid: string, cause: unknown) {
    super(`local block ${ulid} was deleted during its upload`, {cause});
  }
}

function vanished(e: unknown, b: BlockDir): boolean {
  if (e instanceof LocalChangedError) return true;
  return (e as NodeJS.ErrnoException | null)?.code === 'ENOENT' && !fs.existsSync(path.join(b.dir, META_FILENAME));
}

function localSignature(files: LocalFile[], metaBytes: Buffer): string {
  return files.map((f) => `${f.rel}:${f.size}:${f.mtimeMs}`).join('|') + `|meta:${sha256(metaBytes)}`;
}

export class BlockSyncer {
  private readonly backend: FileBackend;
  private readonly log: SyncLogger;
  private readonly remoteDir: string;
  private readonly now: () => number;
  private readonly blockLimiter: Limiter;
  private retentionDays: number;
  private periodMs: number;
  private cleanupMs: number;

  private chain: Promise<unknown> = Promise.resolve();
  private nextPass: Promise<SyncPassResult> | null = null;
  private running = false;
  private abort: AbortController | null = null;
  private started = false;
  private stopped = false;
  private periodicTimer: NodeJS.Timeout | undefined;
  private cleanupTimer: NodeJS.Timeout | undefined;
  private kickTimer: NodeJS.Timeout | undefined;

  private readonly metaCache = new RemoteMetaCache();
  /** ULID → remote listing signature at which the block was verified complete (or accepted). */
  private readonly verifiedRemote = new Map<string, {sig: string; outcome: BlockOutcome}>();
  /** ULID → local file hashes (blocks are immutable; keyed by the listing signature anyway). */
  private readonly localHashes = new Map<string, {sig: string; files: Map<string, ManifestFile>}>();
  /** ULID → problems found by verifyLocal (empty = fine). */
  private readonly localVerified = new Map<string, Problem[]>();
  private readonly failing = new Map<string, {since: number; attempts: number; error: string}>();
  /** Blocks whose remote copy is to be read back and compared with the local one on the next pass. */
  private readonly suspect = new Set<string>();
  private readonly warnedSkipped = new Set<string>();
  private passFailing = false;

  private lastPass: SyncStatus['lastPass'] = null;
  private lastSuccessAt: number | null = null;
  private readonly totals: SyncStatus['totals'] = {passes: 0, failedPasses: 0, uploadedBlocks: 0, repairedBlocks: 0, blockFailures: 0, bytesUploaded: 0};

  constructor(private readonly opts: BlockSyncerOptions) {
    this.backend = opts.backend;
    this.log = opts.logger ?? nopLogger;
    this.remoteDir = opts.remoteDir ?? remoteDataDir;
    this.now = opts.now ?? Date.now;
    this.blockLimiter = new Limiter(opts.blockConcurrency ?? 2);
    new Limiter(opts.fileConcurrency ?? 3); // validates early
    this.retentionDays = opts.retentionDays;
    this.periodMs = opts.periodMinutes * MIN;
    this.cleanupMs = (opts.cleanupPeriodMinutes ?? 0) * MIN;
    if (!(this.periodMs > 0)) throw new RangeError(`sync period must be positive, got ${opts.periodMinutes} min`);
    if (!(this.retentionDays > 0)) throw new RangeError(`retention must be positive, got ${opts.retentionDays} days`);
  }

  /** New settings apply from the next pass / timer. */
  updateSettings(s: {retentionDays?: number; periodMinutes?: number; cleanupPeriodMinutes?: number; dumpRetention?: BlockSyncerOptions['dumpRetention']}): void {
    if (s.retentionDays !== undefined && s.retentionDays > 0) this.retentionDays = s.retentionDays;
    if (s.dumpRetention !== undefined) this.opts.dumpRetention = s.dumpRetention;
    const period = s.periodMinutes !== undefined && s.periodMinutes > 0 ? s.periodMinutes * MIN : this.periodMs;
    const cleanup = s.cleanupPeriodMinutes !== undefined ? s.cleanupPeriodMinutes * MIN : this.cleanupMs;
    const reschedule = period !== this.periodMs || cleanup !== this.cleanupMs;
    this.periodMs = period;
    this.cleanupMs = cleanup;
    if (reschedule && this.started && !this.stopped) {
      this.schedulePeriodic(this.periodMs);
      this.scheduleCleanup();
    }
  }

  // ---- scheduling -------------------------------------------------------------------

  /** A pass now, then every period; periodic cleanup if configured. */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.schedulePeriodic(0);
    this.scheduleCleanup();
  }

  /** "A block was just cut": a pass soon (debounced), coalesced with one already queued. */
  kick(): void {
    if (!this.started || this.stopped) return;
    clearTimeout(this.kickTimer);
    this.kickTimer = setTimeout(() => void this.syncOnce().catch(() => {}), this.opts.kickDelayMs ?? 10_000);
    this.kickTimer.unref?.();
  }

  /** Stops the timers and waits for the running pass (aborting it after stopTimeoutMs). */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.periodicTimer);
    clearTimeout(this.cleanupTimer);
    clearTimeout(this.kickTimer);
    const idle = this.chain.then(
      () => true,
      () => true,
    );
    const wait = (ms: number): Promise<false> =>
      new Promise((resolve) => {
        const t = setTimeout(() => resolve(false), ms);
        void idle.then(() => clearTimeout(t));
      });
    if (await Promise.race([idle, wait(this.opts.stopTimeoutMs ?? 30_000)])) return;
    this.log.warn('sync: stopping: aborting the running pass');
    this.abort?.abort();
    if (!(await Promise.race([idle, wait(5_000)]))) this.log.warn('sync: stopping: the aborted pass did not finish in time');
  }

  private schedulePeriodic(delayMs: number): void {
    clearTimeout(this.periodicTimer);
    this.periodicTimer = setTimeout(() => {
      void this.syncOnce()
        .catch(() => {})
        .finally(() => {
          if (!this.stopped) this.schedulePeriodic(this.periodMs);
        });
    }, delayMs);
    this.periodicTimer.unref?.();
  }

  private scheduleCleanup(): void {
    clearTimeout(this.cleanupTimer);
    if (!(this.cleanupMs > 0)) return;
    this.cleanupTimer = setTimeout(() => {
      void (async () => {
        try {
          await this.cleanupRemote();
          if (this.opts.dumpRetention) await this.cleanupDumps();
        } catch (e) {
          this.log.warn('sync: remote cleanup failed; retrying next period', {error: errorMessage(e)});
        }
        if (!this.stopped) this.scheduleCleanup();
      })();
    }, this.cleanupMs);
    this.cleanupTimer.unref?.();
  }

  /** Runs `fn` after everything queued before it (passes and cleanups never overlap). */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.chain.then(fn, fn);
    this.chain = p.catch(() => {});
    return p;
  }

  // ---- public operations ----------------------------------------------------------------

  /**
   * Of `blocks`, those the file store should hold but is not known to yet: not verified
   * there, not corrupt, inside the remote retention. Local retention keeps them, so a file
   * store that is down for longer than the local retention loses nothing.
   */
  notInFileStore(blocks: readonly {ulid: string; maxTime: number}[]): string[] {
    const cutoff = this.now() - this.retentionDays * DAY_MS;
    return blocks
      .filter((b) => b.maxTime > cutoff && !this.verifiedRemote.has(b.ulid) && !this.localVerified.get(b.ulid)?.length)
      .map((b) => b.ulid);
  }

  /**
   * Someone found these blocks damaged in the file store (a dump's sha256 check): the next
   * pass reads their remote files back and re-uploads what differs from the local copy.
   * Sizes and the manifest alone cannot show a file damaged in place.
   */
  recheck(ulids: readonly string[]): void {
    for (const u of ulids) {
      this.suspect.add(u);
      this.verifiedRemote.delete(u);
    }
    this.kick();
  }

  /**
   * One sync pass. If a pass is running, resolves with the next one (callers asking while
   * a pass is queued share it). Never rejects for per-block problems (see the result);
   * a listing failure is reported in `error`.
   */
  syncOnce(): Promise<SyncPassResult> {
    if (this.nextPass) return this.nextPass;
    const p = this.serial(async () => {
      this.nextPass = null;
      return this.pass();
    });
    this.nextPass = p;
    return p;
  }

  /** Remote block retention (default: the configured RetentionDurationDays) and partial leftovers. */
  cleanupRemote(retentionDays: number = this.retentionDays): Promise<CleanupResult<RemoteBlockDeletion>> {
    return this.serial(async () => {
      const res = await cleanupRemoteBlocks(this.backend, {
        retentionDays,
        partialGraceMs: this.opts.partialGraceMs,
        now: this.now(),
        logger: this.log,
        metaCache: this.metaCache,
        dataDir: this.remoteDir,
      });
      for (const d of res.deleted) this.verifiedRemote.delete(d.ulid);
      // Temp files of uploads cut short by a kill -9 (a local file store) — blocks and dumps.
      try {
        await this.backend.sweepAbandoned?.(remoteRoot, this.opts.partialGraceMs ?? DEFAULT_PARTIAL_GRACE_MS, this.now());
      } catch (e) {
        this.log.warn('sync: could not sweep unfinished uploads', {error: errorMessage(e)});
      }
      return res;
    });
  }

  /** Dump retention with the configured settings (or `opts`). */
  cleanupDumps(opts?: CleanupDumpsOptions): Promise<CleanupResult<DumpDeletion>> {
    const o = opts ?? this.opts.dumpRetention;
    if (!o) return Promise.resolve({deleted: [], errors: []});
    const {protectDump, onDumpsDeleted} = this.opts;
    const protect = protectDump ? (name: string): boolean => protectDump(name) || (o.protect?.(name) ?? false) : o.protect;
    return this.serial(async () => {
      const res = await cleanupDumps(this.backend, {now: this.now(), logger: this.log, ...o, protect});
      if (res.deleted.length > 0 && onDumpsDeleted) {
        try {
          await onDumpsDeleted(res.deleted);
        } catch (e) {
          this.log.warn('sync: could not record deleted dumps on their jobs', {error: errorMessage(e)});
        }
      }
      return res;
    });
  }

  remoteUsage(): Promise<RemoteUsage> {
    return remoteUsage(this.backend, {metaCache: this.metaCache, dataDir: this.remoteDir});
  }

  status(): SyncStatus {
    return {
      running: this.running,
      lastPass: this.lastPass,
      lastSuccessAt: this.lastSuccessAt,
      lastError: this.lastPass?.error ?? (this.failing.size ? [...this.failing.values()][0].error : null),
      failingBlocks: [...this.failing.entries()].map(([ulid, f]) => ({ulid, ...f})),
      corruptBlocks: [...this.localVerified.entries()].filter(([, p]) => p.length > 0).map(([u]) => u),
      totals: {...this.totals},
    };
  }

  // ---- the pass -------------------------------------------------------------------------

  private async pass(): Promise<SyncPassResult> {
    const res: SyncPassResult = {startedAt: this.now(), finishedAt: 0, error: null, blocks: [], uploaded: 0, repaired: 0, failed: 0, corrupt: 0, bytesUploaded: 0};
    this.running = true;
    const abort = (this.abort = new AbortController());
    try {
      let local: BlockDir[];
      let remote: Map<string, RemoteDir>;
      try {
        const listing = listDataDir(this.opts.dataDir);
        local = listing.blocks;
        remote = await listGrouped(this.backend, this.remoteDir);
      } catch (e) {
        res.error = errorMessage(e);
        if (!this.passFailing) this.log.error('sync: listing failed; retrying next pass', {error: res.error, backend: this.backend.describe()});
        else this.log.debug?.('sync: listing still failing', {error: res.error});
        this.passFailing = true;
        return res;
      }
      if (this.passFailing) this.log.info('sync: listing works again');
      this.passFailing = false;
      this.forgetGone(local, remote);

      const cutoff = this.now() - this.retentionDays * DAY_MS;
      res.blocks = await Promise.all(
        local.map(async (b): Promise<BlockReport> => {
          if (b.meta.maxTime <= cutoff) return {ulid: b.ulid, outcome: 'outside-retention'};
          return this.blockLimiter.run(() => this.syncBlockReported(b, remote.get(b.ulid), abort.signal));
        }),
      );
      for (const r of res.blocks) {
        if (r.outcome === 'uploaded') res.uploaded++;
        else if (r.outcome === 'repaired') res.repaired++;
        else if (r.outcome === 'failed') res.failed++;
        else if (r.outcome === 'corrupt') res.corrupt++;
        res.bytesUploaded += r.bytes ?? 0;
      }
      if (res.uploaded || res.repaired || res.failed) {
        this.log.info('sync: pass done', {uploaded: res.uploaded, repaired: res.repaired, failed: res.failed, corrupt: res.corrupt, bytes: res.bytesUploaded});
      }
      return res;
    } finally {
      this.running = false;
      this.abort = null;
      res.finishedAt = this.now();
      this.totals.passes++;
      if (res.error) this.totals.failedPasses++;
      this.totals.uploadedBlocks += res.uploaded;
      this.totals.repairedBlocks += res.repaired;
      this.totals.bytesUploaded += res.bytesUploaded;
      const {blocks: _blocks, ...summary} = res;
      this.lastPass = {...summary, result: res.error ? 'failed' : res.failed ? 'partial' : 'ok'};
      if (!res.error && !res.failed) this.lastSuccessAt = res.finishedAt;
    }
  }

  private forgetGone(local: BlockDir[], remote: Map<string, RemoteDir>): void {
    const localIds = new Set(local.map((b) => b.ulid));
    for (const m of [this.localHashes, this.localVerified, this.failing] as Map<string, unknown>[]) {
      for (const k of m.keys()) if (!localIds.has(k)) m.delete(k);
    }
    for (const k of this.warnedSkipped) if (!localIds.has(k)) this.warnedSkipped.delete(k);
    for (const k of this.verifiedRemote.keys()) if (!remote.has(k)) this.verifiedRemote.delete(k);
    this.metaCache.retain(remote.keys());
  }

  private async syncBlockReported(b: BlockDir, remote: RemoteDir | undefined, signal: AbortSignal): Promise<BlockReport> {
    let report: BlockReport;
    try {
      report = await this.syncBlock(b, remote, signal);
    } catch (e) {
      if (e instanceof VanishedDuringUpload) {
        report = {ulid: b.ulid, outcome: 'vanished', detail: errorMessage(e.cause)};
        await this.discardAborted(b.ulid);
      } else if (vanished(e, b)) {
        // Gone before we wrote anything: the remote copy (if any) is left as it is.
        report = {ulid: b.ulid, outcome: 'vanished', detail: errorMessage(e)};
      } else {
        report = {ulid: b.ulid, outcome: 'failed', error: errorMessage(e)};
      }
    }
    // Checked (and repaired if it had to be): back to the cheap checks. A failed pass keeps it suspect.
    if (report.outcome !== 'failed') this.suspect.delete(b.ulid);
    if (report.outcome === 'failed') {
      this.totals.blockFailures++;
      const f = this.failing.get(b.ulid);
      if (!f) {
        this.failing.set(b.ulid, {since: this.now(), attempts: 1, error: report.error!});
        this.log.warn('sync: block upload failed; the remote copy stays incomplete and is repaired on the next pass', {block: b.ulid, error: report.error});
      } else {
        f.attempts++;
        f.error = report.error!;
        this.log.debug?.('sync: block upload still failing', {block: b.ulid, attempts: f.attempts, error: report.error});
      }
    } else {
      const f = this.failing.get(b.ulid);
      if (f) {
        this.failing.delete(b.ulid);
        this.log.info('sync: block synced after earlier failures', {block: b.ulid, failedAttempts: f.attempts, outcome: report.outcome});
      }
    }
    return report;
  }

  /** The local block vanished mid-upload: remove what we wrote (meta.json never was). */
  private async discardAborted(ulid: string): Promise<void> {
    const prefix = `${this.remoteDir}/${ulid}`;
    this.verifiedRemote.delete(ulid);
    try {
      await this.backend.removeAll(prefix);
      this.log.info('sync: local block was deleted during its upload (compaction or retention); removed the partial remote copy', {block: ulid});
    } catch (e) {
      this.log.warn('sync: local block was deleted during its upload; could not remove the partial remote copy, cleanup will delete it after the grace period', {
        block: ulid,
        error: errorMessage(e),
      });
    }
  }

  private async syncBlock(b: BlockDir, remote: RemoteDir | undefined, signal: AbortSignal): Promise<BlockReport> {
    const known = this.verifiedRemote.get(b.ulid);
    if (remote && known && known.sig === remoteSignature(remote)) return {ulid: b.ulid, outcome: known.outcome};
    const metaBytes = await fs.promises.readFile(path.join(b.dir, META_FILENAME));
    const {files, skipped} = listBlockFiles(b.dir);
    if (skipped.length && !this.warnedSkipped.has(b.ulid)) {
      this.warnedSkipped.add(b.ulid);
      this.log.warn('sync: skipping entries that are not regular files', {block: b.ulid, entries: skipped});
    }
    const plan = await this.assess(b, files, metaBytes, remote, signal);
    if (plan.kind === 'skip') {
      this.verifiedRemote.set(b.ulid, {sig: remoteSignature(remote!), outcome: plan.outcome});
      return {ulid: b.ulid, outcome: plan.outcome, detail: plan.detail};
    }

    let problems = this.localVerified.get(b.ulid);
    if (!problems) {
      problems = await (this.opts.verifyLocal ?? verifyBlock)(b.dir);
      this.localVerified.set(b.ulid, problems);
      if (problems.length) {
        this.log.error('sync: local block fails verification; it is not uploaded', {block: b.ulid, problems: problems.slice(0, 5).map((p) => `${p.file}@${p.offset}: ${p.message}`)});
      }
    }
    if (problems.length) return {ulid: b.ulid, outcome: 'corrupt', detail: problems[0].message};

    if (plan.outcome === 'repaired') this.log.info('sync: repairing incomplete remote block', {block: b.ulid, reason: plan.detail, files: plan.upload.map((f) => f.rel)});
    this.verifiedRemote.delete(b.ulid);
    let written: {files: number; bytes: number};
    try {
      written = await this.execute(b, plan, metaBytes, signal);
    } catch (e) {
      if (vanished(e, b)) throw new VanishedDuringUpload(b.ulid, e);
      throw e;
    }
    return {ulid: b.ulid, outcome: plan.outcome, files: written.files, bytes: written.bytes, detail: plan.detail};
  }

  /** Local sha256 per file (meta.json included), computed once per block and process. */
  private async localManifest(b: BlockDir, files: LocalFile[], metaBytes: Buffer, signal: AbortSignal): Promise<Map<string, ManifestFile>> {
    const sig = localSignature(files, metaBytes);
    const hit = this.localHashes.get(b.ulid);
    if (hit && hit.sig === sig) return hit.files;
    const out = new Map<string, ManifestFile>();
    for (const f of files) {
      const h = await hashFile(f.abs, signal);
      if (h.size !== f.size) throw new LocalChangedError(`local file ${f.abs} changed size`);
      out.set(f.rel, {path: f.rel, ...h});
    }
    out.set(META_FILENAME, {path: META_FILENAME, size: metaBytes.length, sha256: sha256(metaBytes)});
    this.localHashes.set(b.ulid, {sig, files: out});
    return out;
  }

  private async readRemoteManifest(ulid: string, remote: RemoteDir): Promise<Manifest | null> {
    const info = remote.files.get(MANIFEST_FILENAME);
    if (!info) return null;
    const m = decodeManifest((await readAll(this.backend, info.path)).toString('utf8'));
    if (m.ulid.toUpperCase() !== ulid.toUpperCase()) throw new Error(`manifest names block ${m.ulid}`);
    return m;
  }

  /** Reads remote files back and returns the paths whose sha256 differs from `want`. */
  private async remoteMismatches(ulid: string, want: Map<string, ManifestFile>, paths: string[]): Promise<string[]> {
    const bad: string[] = [];
    for (const rel of paths) {
      const h = await hashStream((await this.backend.read(`${this.remoteDir}/${ulid}/${rel}`)) as AsyncIterable<Buffer>);
      const w = want.get(rel)!;
      if (h.size !== w.size || h.sha256 !== w.sha256) bad.push(rel);
    }
    return bad;
  }

  private async assess(b: BlockDir, files: LocalFile[], metaBytes: Buffer, remote: RemoteDir | undefined, signal: AbortSignal): Promise<Plan> {
    const plan: Plan = {kind: 'upload', outcome: 'repaired', removeFirst: [], removeExtra: [], upload: files, keep: [], writeManifest: true};
    if (!remote || remote.files.size === 0) return {...plan, outcome: 'uploaded'};
    const prefix = `${this.remoteDir}/${b.ulid}`;
    const hasMeta = remote.files.has(META_FILENAME);
    const hasManifest = remote.files.has(MANIFEST_FILENAME);
    const localRels = new Set(files.map((f) => f.rel));
    plan.removeExtra = [...remote.files.keys()].filter((p) => p.startsWith('chunks/') && !localRels.has(p)).map((p) => `${prefix}/${p}`);
    const extraNote = plan.removeExtra.length ? `; unexpected remote files ${plan.removeExtra.map((p) => p.slice(prefix.length + 1)).join(', ')}` : '';

    let manifest: Manifest | null = null;
    let manifestProblem = '';
    try {
      manifest = await this.readRemoteManifest(b.ulid, remote);
    } catch (e) {
      manifestProblem = `unreadable manifest: ${errorMessage(e)}`;
    }
    // Files whose remote copy is known good: listed with the manifest's size, and the manifest agrees with local sha256.
    const bad: string[] = [];
    let localHashes: Map<string, ManifestFile> | null = null;
    if (manifest) {
      localHashes = await this.localManifest(b, files, metaBytes, signal);
      const m = new Map(manifest.files.map((f) => [f.path, f]));
      for (const [rel, want] of localHashes) {
        const got = m.get(rel);
        const listed = remote.files.get(rel);
        if (rel === META_FILENAME) {
          if (!got || got.sha256 !== want.sha256 || got.size !== want.size) bad.push(rel);
          continue;
        }
        if (!got || got.sha256 !== want.sha256 || got.size !== want.size || !listed || listed.size !== want.size) bad.push(rel);
      }
      for (const rel of m.keys()) if (!localHashes.has(rel)) bad.push(rel);
      if (hasMeta && remote.files.get(META_FILENAME)!.size !== metaBytes.length) bad.push(META_FILENAME);
    }

    if (hasMeta && manifest) {
      if ((this.opts.verifyRemote === 'sha256' || this.suspect.has(b.ulid)) && bad.length === 0) {
        bad.push(...(await this.remoteMismatches(b.ulid, localHashes!, [...localHashes!.keys()])));
      }
      if (bad.length === 0 && plan.removeExtra.length === 0) return {...plan, kind: 'skip', outcome: 'complete'};
      const badSet = new Set(bad);
      return {
        ...plan,
        detail: `remote copy differs from the manifest or the local block: ${bad.join(', ') || 'none'}${extraNote}`,
        removeFirst: [`${prefix}/${META_FILENAME}`, `${prefix}/${MANIFEST_FILENAME}`],
        upload: files.filter((f) => badSet.has(f.rel)),
        keep: files.filter((f) => !badSet.has(f.rel)).map((f) => localHashes!.get(f.rel)!),
      };
    }

    if (hasMeta && !manifest && !manifestProblem) {
      // Go plugin's block (or ours before manifests): accept it when every local file is there with its size.
      const missing = files.filter((f) => remote.files.get(f.rel)?.size !== f.size).map((f) => f.rel);
      if (remote.files.get(META_FILENAME)!.size !== metaBytes.length) missing.push(META_FILENAME);
      if (missing.length === 0 && (this.opts.verifyRemote === 'sha256' || this.suspect.has(b.ulid))) {
        const hashes = await this.localManifest(b, files, metaBytes, signal);
        missing.push(...(await this.remoteMismatches(b.ulid, hashes, [...hashes.keys()])));
      }
      if (missing.length === 0 && plan.removeExtra.length === 0) return {...plan, kind: 'skip', outcome: 'accepted', detail: 'no manifest (uploaded by the Go plugin)'};
      const missingSet = new Set(missing);
      return {
        ...plan,
        detail: `block without manifest is missing or has wrong files: ${missing.join(', ') || 'none'}${extraNote}`,
        removeFirst: [`${prefix}/${META_FILENAME}`],
        upload: files.filter((f) => missingSet.has(f.rel)),
        keep: [], // filled in execute() from local hashes
      };
    }

    if (!hasMeta && manifest) {
      // Interrupted after the manifest (or during a repair): keep what the manifest vouches for.
      const badSet = new Set(bad);
      badSet.delete(META_FILENAME);
      return {
        ...plan,
        writeManifest: badSet.size > 0 || bad.includes(META_FILENAME) || plan.removeExtra.length > 0,
        detail: `no meta.json${badSet.size ? `; bad files ${[...badSet].join(', ')}` : ''}${extraNote}`,
        removeFirst: badSet.size || bad.includes(META_FILENAME) ? [`${prefix}/${MANIFEST_FILENAME}`] : [],
        upload: files.filter((f) => badSet.has(f.rel)),
        keep: files.filter((f) => !badSet.has(f.rel)).map((f) => localHashes!.get(f.rel)!),
      };
    }

    // No usable manifest: nothing on the remote side can be trusted; upload everything again.
    return {
      ...plan,
      detail: `${hasMeta ? '' : 'no meta.json; '}${manifestProblem || 'no manifest'}${extraNote}`,
      removeFirst: [...(hasMeta ? [`${prefix}/${META_FILENAME}`] : []), ...(hasManifest ? [`${prefix}/${MANIFEST_FILENAME}`] : [])],
    };
  }

  private async execute(b: BlockDir, plan: Plan, metaBytes: Buffer, signal: AbortSignal): Promise<{files: number; bytes: number}> {
    const prefix = `${this.remoteDir}/${b.ulid}`;
    const timeoutMs = this.opts.fileTimeoutMs ?? 15 * MIN;
    for (const p of plan.removeFirst) await this.backend.remove(p); // meta.json first: the dir reads as incomplete from here on
    for (const p of plan.removeExtra) await this.backend.remove(p);

    const entries = new Map<string, ManifestFile>(plan.keep.map((k) => [k.path, k]));
    const files = new Limiter(this.opts.fileConcurrency ?? 3);
    let bytes = 0;
    // Upload all, even when one fails, so that a retry has less to do; then report the first failure.
    const results = await Promise.allSettled(
      plan.upload.map((f) =>
        files.run(async () => {
          if (signal.aborted) throw new Error('sync stopped');
          const h = await uploadFile(this.backend, f.abs, `${prefix}/${f.rel}`, f.size, {timeoutMs, signal});
          entries.set(f.rel, {path: f.rel, ...h});
          bytes += h.size;
        }),
      ),
    );
    const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failure) {
      const changed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected' && r.reason instanceof LocalChangedError);
      throw (changed ?? failure).reason;
    }

    // Files kept without a known hash (accepted Go-plugin block being completed): hash locally.
    const localFiles = listBlockFiles(b.dir).files;
    for (const f of localFiles) {
      if (!entries.has(f.rel)) {
        const h = await hashFile(f.abs, signal);
        entries.set(f.rel, {path: f.rel, ...h});
      }
    }

    // Post-upload check: the store holds what we sent.
    const listed = new Map((await this.backend.list(prefix)).map((f) => [f.path.slice(prefix.length + 1), f.size]));
    for (const e of entries.values()) {
      if (listed.get(e.path) !== e.size) throw new Error(`after upload, remote ${e.path} has ${listed.get(e.path) ?? 'no'} bytes, expected ${e.size}`);
    }
    if (this.opts.verifyUploads === 'sha256') {
      const bad = await this.remoteMismatches(b.ulid, entries, plan.upload.map((f) => f.rel));
      if (bad.length) throw new Error(`after upload, remote content differs for ${bad.join(', ')}`);
    }

    // The local block must still exist: if compaction deleted it meanwhile, do not publish.
    try {
      await fs.promises.stat(path.join(b.dir, META_FILENAME));
    } catch (e) {
      throw new LocalChangedError(`local block ${b.ulid} was deleted during its upload`, {cause: e});
    }
    entries.set(META_FILENAME, {path: META_FILENAME, size: metaBytes.length, sha256: sha256(metaBytes)});
    const manifestObj: Manifest = {version: MANIFEST_VERSION, ulid: b.ulid, files: [...entries.values()]};
    const manifest = Buffer.from(encodeManifest(manifestObj));
    if (plan.writeManifest) await uploadBuffer(this.backend, `${prefix}/${MANIFEST_FILENAME}`, manifest, {timeoutMs, signal});
    await uploadBuffer(this.backend, `${prefix}/${META_FILENAME}`, metaBytes, {timeoutMs, signal});
    // Remember the published listing: the next pass then needs no reads unless something changes it.
    try {
      const after = (await listGrouped(this.backend, this.remoteDir, b.ulid)).get(b.ulid);
      const names = after ? [...after.files.keys()].sort().join('|') : '';
      if (after && names === [...entries.keys(), MANIFEST_FILENAME].sort().join('|')) {
        this.verifiedRemote.set(b.ulid, {sig: remoteSignature(after), outcome: 'complete'});
      }
    } catch {
      // the next pass checks the block the slow way
    }
    this.localHashes.set(b.ulid, {sig: localSignature(localFiles, metaBytes), files: entries});
    return {files: plan.upload.length + (plan.writeManifest ? 2 : 1), bytes: bytes + (plan.writeManifest ? manifest.length : 0) + metaBytes.length};
  }
}
