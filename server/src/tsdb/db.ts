// The store as the plugin uses it: a head with its WAL, the persisted blocks of one
// data directory, and the upkeep that ties them together — cutting 2 h blocks when
// the head spans 3 h (Prometheus' rule), flushing everything on demand (a dump
// must reach "now"), compaction and retention. The heavy steps are plain functions
// (tasks.ts) that run in a worker thread when a runner is given.
//
// Upkeep steps run one at a time (compaction, retention and block writing must not
// overlap in one data dir); appends and reads go on meanwhile.

import fs from 'node:fs';
import path from 'node:path';

import {type Block, type BlockMeta, openBlock} from './block/mod.ts';
import type {CompactResult} from './compact/mod.ts';
import {Head, type HeadAppender, type HeadStats} from './head/mod.ts';
import {compareStrings} from './labels/mod.ts';
import {type ImportPrometheusWalInput, type ImportPrometheusWalResult, importPrometheusWal, planPrometheusWalImport} from './promwal/mod.ts';
import {blockSource, mergeSources} from './querier/mod.ts';
import {dirBytes, listDataDir, removeLeftovers, type RetentionResult} from './retention/mod.ts';
import type {SeriesSource} from './storage.ts';
import {
  compactDataDir,
  retainDataDir,
  type CompactInput,
  type LogEntry,
  type PackedSeries,
  type RetentionInput,
  type WriteHeadBlockInput,
  writeHeadBlock,
} from './tasks.ts';

export const WAL_DIR = 'mm-wal';
const HOUR = 3_600_000;

export interface DBLogger {
  debug?(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

/** Runs a heavy step somewhere (a worker pool); the default runs it inline. */
export interface TaskRunner {
  writeHeadBlock(input: WriteHeadBlockInput, transfer: ArrayBuffer[]): Promise<{meta: BlockMeta}>;
  compact(input: CompactInput): Promise<{result: CompactResult; logs: LogEntry[]}>;
  retention(input: RetentionInput): Promise<{result: RetentionResult; logs: LogEntry[]}>;
  /** Once, after an upgrade from the Go plugin (tsdb/promwal); inline when absent. */
  importPrometheusWal?(input: ImportPrometheusWalInput): Promise<ImportPrometheusWalResult>;
}

export const inlineRunner: TaskRunner = {
  writeHeadBlock: async (input) => writeHeadBlock(input),
  compact: async (input) => compactDataDir(input),
  retention: async (input) => retainDataDir(input),
  importPrometheusWal: async (input) => importPrometheusWal(input),
};

export interface DBOptions {
  dir: string;
  /** Block range (ms); blocks are cut when the head spans 1.5 of it. Default 2 h. */
  blockRangeMs?: number;
  /** Local retention by time (ms) and size (bytes, blocks + WAL); 0 = none. */
  retentionMs?: number;
  retentionBytes?: number;
  /** Compaction ranges (ms); default tsdb/compact's 2 h → 6 h → 24 h. */
  compactionRanges?: number[];
  logger?: DBLogger;
  runner?: TaskRunner;
  /** Default true; tests may turn it off. */
  fsync?: boolean;
  /** Told after a block was written by a cut or a compaction (e.g. to sync it soon). */
  onBlocksChanged?: () => void;
  /** Of these blocks, the ones time-based retention must keep (e.g. not in the file store yet). */
  retentionKeeps?: (blocks: readonly BlockMeta[]) => readonly string[];
}

export interface DBStats {
  head: HeadStats;
  blocks: Array<{ulid: string; minTime: number; maxTime: number; numSamples: number; numSeries: number; level: number}>;
  blockBytes: number;
  walBytes: number;
  /** Blocks that could not be opened (skipped, never deleted). */
  unreadable: Array<{dir: string; error: string}>;
  lastCut: number | null;
  lastCompaction: number | null;
  lastRetention: number | null;
}

const nopLogger: DBLogger = {info() {}, warn() {}, error() {}};

export class DB {
  private blocksByUlid = new Map<string, Block>();
  private unreadable: Array<{dir: string; error: string}> = [];
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;
  private keptPastRetention = '';
  private prometheusWal: {pending: boolean; minValidTime: number | null} = {pending: false, minValidTime: null};
  private lastCut: number | null = null;
  private lastCompaction: number | null = null;
  private lastRetention: number | null = null;
  private readonly blockRange: number;
  private readonly log: DBLogger;
  private readonly runner: TaskRunner;

  private constructor(
    readonly dir: string,
    readonly head: Head,
    private readonly opts: DBOptions,
  ) {
    this.blockRange = opts.blockRangeMs ?? 2 * HOUR;
    this.log = opts.logger ?? nopLogger;
    this.runner = opts.runner ?? inlineRunner;
  }

  /** Opens (creating if needed) a data dir: removes leftovers, opens blocks, replays the WAL. */
  static open(opts: DBOptions): DB {
    const dir = path.resolve(opts.dir);
    fs.mkdirSync(dir, {recursive: true});
    // promtool tsdb dump (2.x) insists on a wal/ dir; an empty one is what Prometheus writes too.
    fs.mkdirSync(path.join(dir, 'wal'), {recursive: true});
    const log = opts.logger ?? nopLogger;
    for (const d of removeLeftovers(dir)) log.info('tsdb: removed an unfinished block directory', {dir: d});
    const listing = listDataDir(dir);
    const newest = listing.blocks.reduce((m, b) => Math.max(m, b.meta.maxTime), -Infinity);
    const head = Head.open(path.join(dir, WAL_DIR), {
      chunkRange: opts.blockRangeMs ?? 2 * HOUR,
      minValidTime: Number.isFinite(newest) ? newest : undefined,
      logger: {
        debug: (m: string, f?: Record<string, unknown>) => log.debug?.(m, f),
        info: (m: string, f?: Record<string, unknown>) => log.info(m, f),
        warn: (m: string, f?: Record<string, unknown>) => log.warn(m, f),
        error: (m: string, f?: Record<string, unknown>) => log.error(m, f),
      },
    });
    const db = new DB(dir, head, opts);
    try {
      db.prometheusWal = planPrometheusWalImport(dir, Number.isFinite(newest) ? newest : null);
    } catch (err) {
      log.error('tsdb: could not plan the import of the Go plugin\'s WAL; it stays in wal/', {error: (err as Error).message});
    }
    if (db.prometheusWal.pending) log.info('tsdb: found the Go plugin\'s WAL (wal/); its samples become blocks at the next upkeep', {dir});
    db.reloadBlocks();
    return db;
  }

  appender(): HeadAppender {
    return this.head.appender();
  }

  /** Everything: blocks and head, merged and deduplicated. */
  querier(): SeriesSource {
    return mergeSources([this.head, ...[...this.blocksByUlid.values()].map(blockSource)]);
  }

  blocks(): BlockMeta[] {
    return [...this.blocksByUlid.values()].map((b) => b.meta).sort((a, b) => a.minTime - b.minTime || compareStrings(a.ulid, b.ulid));
  }

  /** Changes local retention (settings applied live); 0 = none. */
  setRetention(retentionMs: number, retentionBytes: number): void {
    this.opts.retentionMs = retentionMs;
    this.opts.retentionBytes = retentionBytes;
  }

  /** Regular upkeep: cut full blocks, compact, apply retention. */
  maintain(): Promise<void> {
    return this.serialized(async () => {
      await this.importPrometheusWalOnce();
      await this.cutBlocks(false);
      await this.compactNow();
      await this.retainNow();
    });
  }

  /** Persists the whole head up to its newest sample (for dumps that end "now"). */
  flush(): Promise<void> {
    return this.serialized(async () => {
      await this.importPrometheusWalOnce();
      await this.cutBlocks(true);
    });
  }

  /** Compaction alone (tests, CLI). */
  compact(): Promise<void> {
    return this.serialized(() => this.compactNow());
  }

  stats(): DBStats {
    const blocks = this.blocks();
    let blockBytes = 0;
    for (const b of blocks) {
      try {
        blockBytes += dirBytes(path.join(this.dir, b.ulid));
      } catch {
        // deleted meanwhile
      }
    }
    let walBytes = 0;
    try {
      walBytes = dirBytes(path.join(this.dir, WAL_DIR));
    } catch {
      // no WAL yet
    }
    return {
      head: this.head.stats(),
      blocks: blocks.map((m) => ({
        ulid: m.ulid,
        minTime: m.minTime,
        maxTime: m.maxTime,
        numSamples: m.stats?.numSamples ?? 0,
        numSeries: m.stats?.numSeries ?? 0,
        level: m.compaction.level,
      })),
      blockBytes,
      walBytes,
      unreadable: [...this.unreadable],
      lastCut: this.lastCut,
      lastCompaction: this.lastCompaction,
      lastRetention: this.lastRetention,
    };
  }

  /** Waits for upkeep in progress, then closes the WAL (fsync). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.queue.catch(() => {});
    this.head.close();
    for (const b of this.blocksByUlid.values()) b.close();
    this.blocksByUlid.clear();
  }

  private serialized<T>(fn: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new Error('tsdb closed'));
    const run = this.queue.catch(() => {}).then(fn);
    this.queue = run;
    return run;
  }

  /**
   * Cuts blocks ending on range boundaries, while the head spans
   * more than 1.5 ranges; with `all`, also the rest up to the newest sample.
   */
  private async cutBlocks(all: boolean): Promise<void> {
    for (;;) {
      const minT = this.head.minTime;
      const maxT = this.head.maxTime;
      if (!Number.isFinite(minT) || !Number.isFinite(maxT) || maxT < minT) return;
      const start = Math.floor(minT / this.blockRange) * this.blockRange;
      let end = start + this.blockRange;
      if (!all && maxT - start < this.blockRange * 1.5) return;
      if (all && end > maxT) end = maxT + 1;
      // As Prometheus' head compaction: the block starts at the head's first sample
      // (only the end is aligned), so its range does not claim time before scraping began.
      await this.cut(Math.max(start, minT), end);
      if (all && end > maxT) return;
    }
  }

  private async cut(mint: number, maxt: number): Promise<void> {
    const started = performance.now();
    const {series, symbols, transfer, samples} = await this.pack(mint, maxt);
    if (series.length > 0) {
      const {meta} = await this.runner.writeHeadBlock({dir: this.dir, mint, maxt, symbols, series, fsync: this.opts.fsync}, transfer);
      this.reloadBlocks();
      this.opts.onBlocksChanged?.();
      this.log.info('tsdb: block written', {
        ulid: meta.ulid,
        minTime: new Date(mint).toISOString(),
        maxTime: new Date(maxt).toISOString(),
        series: series.length,
        samples,
        ms: Math.round(performance.now() - started),
      });
    }
    await this.head.truncateWithWal(maxt);
    this.lastCut = Date.now();
  }

  /** Copies the head's [mint, maxt) into columns, yielding to the event loop between batches. */
  private async pack(mint: number, maxt: number): Promise<{series: PackedSeries[]; symbols: string[]; transfer: ArrayBuffer[]; samples: number}> {
    const series: PackedSeries[] = [];
    const symbols = new Set<string>();
    const transfer: ArrayBuffer[] = [];
    let samples = 0;
    let sinceYield = 0;
    for (const s of this.head.select([], mint, maxt - 1)) {
      const ts: number[] = [];
      const his: number[] = [];
      const los: number[] = [];
      for (const x of s.samples) {
        ts.push(x.t);
        his.push(x.hi);
        los.push(x.lo);
      }
      if (ts.length === 0) continue;
      for (const l of s.labels) {
        symbols.add(l.name);
        symbols.add(l.value);
      }
      const packed: PackedSeries = {labels: s.labels.map((l) => ({name: l.name, value: l.value})), t: Float64Array.from(ts), hi: Uint32Array.from(his), lo: Uint32Array.from(los)};
      transfer.push(packed.t.buffer as ArrayBuffer, packed.hi.buffer as ArrayBuffer, packed.lo.buffer as ArrayBuffer);
      series.push(packed);
      samples += ts.length;
      sinceYield += ts.length;
      if (sinceYield > 50_000) {
        sinceYield = 0;
        await new Promise((r) => setImmediate(r));
      }
    }
    return {series, symbols: [...symbols], transfer, samples};
  }

  private async compactNow(): Promise<void> {
    const {result, logs} = await this.runner.compact({dir: this.dir, ranges: this.opts.compactionRanges, fsync: this.opts.fsync});
    this.replay(logs);
    if (result.created.length > 0 || result.deleted.length > 0) this.reloadBlocks();
    if (result.created.length > 0) this.opts.onBlocksChanged?.();
    for (const c of result.created) this.log.info('tsdb: blocks compacted', {ulid: c.ulid, kind: c.kind, parents: c.parents.length, level: c.level});
    this.lastCompaction = Date.now();
  }

  /** The Go plugin's head, left in Prometheus' WAL, into blocks (once; see tsdb/promwal). */
  private async importPrometheusWalOnce(): Promise<void> {
    if (!this.prometheusWal.pending) return;
    const input = {dir: this.dir, minValidTime: this.prometheusWal.minValidTime, blockRange: this.blockRange, fsync: this.opts.fsync};
    this.prometheusWal = {pending: false, minValidTime: null};
    let res: ImportPrometheusWalResult;
    try {
      res = await (this.runner.importPrometheusWal ?? inlineRunner.importPrometheusWal!)(input);
    } catch (err) {
      // Upkeep must go on (the head would grow without cuts); the WAL stays for the next start.
      this.log.error('tsdb: could not import the Go plugin\'s WAL; it stays in wal/ and is tried again at the next start', {error: (err as Error).message});
      this.reloadBlocks();
      return;
    }
    this.reloadBlocks();
    if (res.blocks.length > 0) this.opts.onBlocksChanged?.();
    const fields = {
      blocks: res.blocks.map((b) => b.ulid),
      series: res.series,
      samples: res.samples,
      from: res.blocks.length ? new Date(Math.min(...res.blocks.map((b) => b.minTime))).toISOString() : null,
      to: res.blocks.length ? new Date(Math.max(...res.blocks.map((b) => b.maxTime))).toISOString() : null,
      skipped: res.skipped,
    };
    this.log.info('tsdb: imported the Go plugin\'s WAL into blocks', fields);
    if (res.problems.length > 0) {
      this.log.warn('tsdb: parts of the Go plugin\'s WAL were unreadable and are missing from the import; the WAL is kept for a post-mortem', {
        keptAt: res.keptAt,
        problems: res.problems.slice(0, 5),
      });
    }
  }

  private async retainNow(): Promise<void> {
    const retentionMs = this.opts.retentionMs ?? 0;
    const maxBytes = this.opts.retentionBytes ?? 0;
    if (retentionMs <= 0 && maxBytes <= 0) return;
    let headBytes = 0;
    try {
      headBytes = dirBytes(path.join(this.dir, WAL_DIR));
    } catch {
      // no WAL
    }
    const keep = this.opts.retentionKeeps?.(this.blocks()) ?? [];
    const {result, logs} = await this.runner.retention({dir: this.dir, retentionMs, maxBytes, headBytes, keep, fsync: this.opts.fsync});
    this.replay(logs);
    if (result.deleted.length > 0) this.reloadBlocks();
    this.noteKeptPastRetention(keep, retentionMs);
    for (const d of result.deleted) this.log.info('tsdb: block deleted by retention', {ulid: d.ulid, reason: d.reason});
    this.lastRetention = Date.now();
  }

  /** Says once per change which blocks time retention would have deleted but kept. */
  private noteKeptPastRetention(keep: readonly string[], retentionMs: number): void {
    const metas = this.blocks();
    const newest = metas.reduce((m, b) => Math.max(m, b.maxTime), -Infinity);
    const kept = retentionMs > 0 ? metas.filter((b) => keep.includes(b.ulid) && newest - b.maxTime >= retentionMs).map((b) => b.ulid) : [];
    const key = kept.join(',');
    if (key === this.keptPastRetention) return;
    this.keptPastRetention = key;
    if (kept.length > 0) this.log.warn('tsdb retention: keeping blocks past the local retention until they are in the file store', {blocks: kept});
  }

  private replay(logs: LogEntry[]): void {
    for (const e of logs) this.log[e.level](e.message, e.fields);
  }

  /** Opens new blocks, forgets deleted ones; a block that fails to open is reported, not deleted. */
  private reloadBlocks(): void {
    const listing = listDataDir(this.dir);
    const present = new Set(listing.blocks.map((b) => b.ulid));
    for (const [ulid, block] of this.blocksByUlid) {
      if (present.has(ulid)) continue;
      this.blocksByUlid.delete(ulid);
      // Readers that still iterate it hold its data already in memory or through open files.
      setTimeout(() => block.close(), 60_000).unref();
    }
    const unreadable = [...listing.unreadable];
    for (const b of listing.blocks) {
      if (this.blocksByUlid.has(b.ulid)) continue;
      try {
        this.blocksByUlid.set(b.ulid, openBlock(b.dir));
      } catch (err) {
        unreadable.push({dir: b.dir, error: (err as Error).message});
      }
    }
    for (const u of unreadable) {
      if (!this.unreadable.some((x) => x.dir === u.dir)) this.log.error('tsdb: block skipped', {dir: u.dir, error: u.error});
    }
    this.unreadable = unreadable;
  }
}
