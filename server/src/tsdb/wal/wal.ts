// The write-ahead log: segment files in one directory, a background fsync policy,
// replay with repair on open, checkpoint + truncation after a block is persisted.
// Format and guarantees: ./README.md.

import fs from 'node:fs';
import path from 'node:path';
import {Encbuf} from '../encoding/encoding.ts';
import {
  type RefChunk,
  type RefSeries,
  RecordType,
  SampleColumns,
  decodeChunks,
  decodeMinValidTime,
  decodeSamples,
  decodeSeries,
  encodeChunks,
  encodeMinValidTime,
  encodeSeries,
} from './record.ts';
import {SEGMENT_HEADER_LEN, parseSegmentName, scanSegment, segmentHeader, segmentName} from './segment.ts';

/** Structurally compatible with the plugin's Logger (bridge/mattermost/log.ts). */
export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

export const nopLogger: Logger = {debug() {}, info() {}, warn() {}, error() {}};

/**
 * 'interval' (default): commits write() to the page cache; a background fsync runs at most
 * every fsyncIntervalMs after a write. 'always': fsync inside every commit (blocks).
 * 'never': only on rotation/close (the OS flushes ~30 s).
 */
export type FsyncPolicy = 'interval' | 'always' | 'never';

export interface WalOptions {
  /** Rotate to a new segment before a write would pass this size. Default 64 MiB. */
  segmentSize?: number;
  fsync?: FsyncPolicy;
  /** Default 1000 ms. */
  fsyncIntervalMs?: number;
  logger?: Logger;
}

/** What replay hands to its consumer, in log order. */
export interface ReplayVisitor {
  series(s: RefSeries[]): void;
  /** Columns are reused: copy what you keep. */
  samples(c: SampleColumns): void;
  minValidTime(t: number): void;
  chunks(c: RefChunk[]): void;
}

export interface ReplayStats {
  checkpoint: number | null;
  segments: number;
  records: number;
  bytes: number;
  /** Torn tails truncated (interrupted writes). */
  tornTails: number;
  /** Corrupt segments (data after the damage dropped). */
  corruptions: number;
  droppedBytes: number;
  droppedSegments: number;
  ms: number;
}

/** One series with its in-memory chunks, as the checkpoint needs it (head.checkpointSeries()). */
export interface CheckpointSeries {
  ref: number;
  labels: RefSeries['labels'];
  /** XOR chunks in time order (the head chunk last), read at the time of iteration. */
  chunks(): Iterable<Uint8Array>;
}

export interface TruncateResult {
  checkpoint: number;
  series: number;
  chunks: number;
  bytes: number;
  deletedSegments: number;
  ms: number;
}

/** WAL misuse or I/O failure while writing (data on disk is unaffected). */
export class WalError extends Error {
  override readonly name = 'WalError';
}

const CHECKPOINT_RE = /^checkpoint\.(\d{8})$/;
const VALID_TYPES = new Set<number>([RecordType.Series, RecordType.Samples, RecordType.MinValidTime, RecordType.Chunks]);
const validType = (t: number): boolean => VALID_TYPES.has(t);

function fsyncDir(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

function fsyncAsync(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fs.fsync(fd, (err) => (err ? reject(err) : resolve())));
}

function writeFully(fd: number, b: Uint8Array): void {
  let off = 0;
  while (off < b.length) off += fs.writeSync(fd, b, off, b.length - off);
}

interface DirListing {
  segments: number[];
  checkpoint: number | null;
}

function listDir(dir: string, logger: Logger): DirListing {
  const segments: number[] = [];
  let checkpoint: number | null = null;
  for (const name of fs.readdirSync(dir)) {
    const seg = parseSegmentName(name);
    if (seg !== null) {
      segments.push(seg);
      continue;
    }
    const m = CHECKPOINT_RE.exec(name);
    if (m) {
      const n = Number(m[1]);
      if (checkpoint === null || n > checkpoint) checkpoint = n;
      continue;
    }
    if (name.startsWith('checkpoint.') && name.endsWith('.tmp')) {
      logger.info('wal: removing unfinished checkpoint', {dir: name});
      fs.rmSync(path.join(dir, name), {recursive: true, force: true});
    }
  }
  segments.sort((a, b) => a - b);
  return {segments, checkpoint};
}

export class Wal {
  readonly dir: string;
  private readonly segmentSize: number;
  private readonly policy: FsyncPolicy;
  private readonly intervalMs: number;
  private readonly logger: Logger;

  private fd = -1;
  private seg = 0;
  private segBytes = 0;
  private closed = false;
  private truncating = false;

  // Background fsync state: at most one fsync chain in flight.
  private dirty = false;
  private dirDirty = false;
  private syncing = false;
  private syncTimer: NodeJS.Timeout | null = null;
  private lastSyncStart = 0;
  /** Segments rotated out, waiting for their final fsync + close. */
  private retired: number[] = [];
  /** Wall-clock ms when data written before it was last known durable (for tests/metrics). */
  lastSyncedAt = 0;
  /** Background fsync failures (logged). */
  syncErrors = 0;
  /** Bytes written since open. */
  bytesWritten = 0;

  private constructor(dir: string, opts: WalOptions) {
    this.dir = dir;
    this.segmentSize = opts.segmentSize ?? 64 * 1024 * 1024;
    this.policy = opts.fsync ?? 'interval';
    this.intervalMs = opts.fsyncIntervalMs ?? 1000;
    this.logger = opts.logger ?? nopLogger;
    if (!(this.segmentSize >= 1024)) throw new WalError('segmentSize must be at least 1 KiB');
  }

  /**
   * Opens (creating if needed) the WAL in `dir`, replays checkpoint and segments into
   * `visitor`, repairs a torn or corrupt tail (truncating to the last good record and
   * deleting later segments; logged, never thrown), then starts a fresh segment.
   */
  static open(dir: string, visitor: ReplayVisitor | null, opts: WalOptions = {}): {wal: Wal; stats: ReplayStats} {
    const wal = new Wal(dir, opts);
    fs.mkdirSync(dir, {recursive: true});
    const stats = wal.replay(visitor);
    wal.startSegment(stats.segments === 0 && stats.checkpoint === null ? 0 : wal.seg + 1);
    return {wal, stats};
  }

  private replay(visitor: ReplayVisitor | null): ReplayStats {
    const t0 = performance.now();
    const log = this.logger;
    const {segments, checkpoint} = listDir(this.dir, log);
    const stats: ReplayStats = {
      checkpoint,
      segments: 0,
      records: 0,
      bytes: 0,
      tornTails: 0,
      corruptions: 0,
      droppedBytes: 0,
      droppedSegments: 0,
      ms: 0,
    };
    const cols = new SampleColumns();
    const seriesBuf: RefSeries[] = [];
    const chunkBuf: RefChunk[] = [];
    const visit = (type: number, payload: Uint8Array): void => {
      if (visitor === null) return;
      switch (type) {
        case RecordType.Series:
          seriesBuf.length = 0;
          visitor.series(decodeSeries(payload, seriesBuf));
          break;
        case RecordType.Samples:
          visitor.samples(decodeSamples(payload, cols));
          break;
        case RecordType.MinValidTime:
          visitor.minValidTime(decodeMinValidTime(payload));
          break;
        case RecordType.Chunks:
          chunkBuf.length = 0;
          visitor.chunks(decodeChunks(payload, chunkBuf));
          break;
      }
    };

    // 1. The checkpoint (written completely and renamed into place, so it is whole;
    //    damage here is real corruption: keep what decodes, report).
    if (checkpoint !== null) {
      const cdir = path.join(this.dir, `checkpoint.${segmentName(checkpoint)}`);
      for (const name of fs.readdirSync(cdir).filter((n) => parseSegmentName(n) !== null).sort()) {
        const buf = fs.readFileSync(path.join(cdir, name));
        const r = scanSegment(buf, visit, validType);
        stats.records += r.records;
        stats.bytes += r.goodEnd;
        if (r.problem) {
          stats.corruptions++;
          stats.droppedBytes += buf.length - r.goodEnd;
          log.error('wal: corrupt checkpoint, data after the damage is lost', {
            file: path.join(cdir, name),
            offset: r.problem.offset,
            reason: r.problem.message,
          });
        }
      }
      // Segments the checkpoint covers may survive a crash during truncation.
      for (const s of segments.filter((s) => s <= checkpoint)) fs.rmSync(path.join(this.dir, segmentName(s)), {force: true});
    }

    // 2. Segments after the checkpoint, in order; they must be contiguous.
    const live = segments.filter((s) => checkpoint === null || s > checkpoint);
    this.seg = checkpoint ?? 0;
    for (let i = 0; i < live.length; i++) {
      const s = live[i];
      const file = path.join(this.dir, segmentName(s));
      if (i > 0 && s !== live[i - 1] + 1) {
        log.error('wal: gap in segment numbers, later segments dropped', {after: live[i - 1], next: s});
        stats.corruptions++;
        this.dropSegments(live.slice(i), stats);
        break;
      }
      const buf = fs.readFileSync(file);
      const r = scanSegment(buf, visit, validType);
      stats.segments++;
      stats.records += r.records;
      stats.bytes += r.goodEnd;
      this.seg = s;
      if (r.problem === null) continue;
      const last = i === live.length - 1;
      const fields = {file, offset: r.problem.offset, reason: r.problem.message, droppedBytes: buf.length - r.goodEnd};
      if (last && r.problem.torn) {
        stats.tornTails++;
        log.warn('wal: torn tail truncated at the last good record', fields);
      } else {
        stats.corruptions++;
        log.error('wal: corrupt segment, truncated at the last good record; later segments dropped', {
          ...fields,
          droppedSegments: live.length - i - 1,
        });
      }
      stats.droppedBytes += buf.length - r.goodEnd;
      if (r.goodEnd < SEGMENT_HEADER_LEN) {
        fs.rmSync(file, {force: true});
        this.seg = s - 1;
      } else {
        fs.truncateSync(file, r.goodEnd);
        const fd = fs.openSync(file, 'r+');
        fs.fsyncSync(fd);
        fs.closeSync(fd);
      }
      this.dropSegments(live.slice(i + 1), stats);
      fsyncDir(this.dir);
      break;
    }
    stats.ms = performance.now() - t0;
    return stats;
  }

  private dropSegments(segs: number[], stats: ReplayStats): void {
    for (const s of segs) {
      const f = path.join(this.dir, segmentName(s));
      stats.droppedBytes += fs.statSync(f).size;
      stats.droppedSegments++;
      fs.rmSync(f, {force: true});
    }
  }

  private startSegment(index: number): void {
    const file = path.join(this.dir, segmentName(index));
    const fd = fs.openSync(file, 'wx', 0o644);
    try {
      writeFully(fd, segmentHeader());
    } catch (e) {
      // Disk full: leave no half-made segment behind (the next try reuses its name) and no
      // descriptor holding its space.
      fs.closeSync(fd);
      fs.rmSync(file, {force: true});
      throw new WalError(`wal: could not start segment ${segmentName(index)}: ${(e as Error).message}`, {cause: e});
    }
    if (this.fd >= 0) this.retired.push(this.fd);
    this.fd = fd;
    this.seg = index;
    this.segBytes = SEGMENT_HEADER_LEN;
    this.dirDirty = true;
    this.dirty = true;
    if (this.policy === 'always') this.syncNow();
    else this.scheduleSync();
  }

  /** Current (last) segment index. */
  get segment(): number {
    return this.seg;
  }

  /**
   * Appends framed records (one commit's batch) to the current segment with a single
   * write. Rotates first when the batch would pass the segment size; a batch never spans
   * segments. Returns when the bytes are in the page cache (or on disk with 'always').
   */
  log(bufs: readonly Uint8Array[]): void {
    if (this.closed) throw new WalError('wal is closed');
    let n = 0;
    for (const b of bufs) n += b.length;
    if (n === 0) return;
    if (this.segBytes + n > this.segmentSize && this.segBytes > SEGMENT_HEADER_LEN) this.startSegment(this.seg + 1);
    let done = 0;
    // writev: one syscall for the whole batch in the common case. Positioned, so that a
    // failed batch can be cut off and the next one written where it began.
    let parts = bufs.filter((b) => b.length > 0);
    try {
      while (done < n) {
        const w = fs.writevSync(this.fd, parts as Uint8Array[], this.segBytes + done);
        done += w;
        if (done < n) {
          // Partial write: continue with the remainder.
          let skip = w;
          const rest: Uint8Array[] = [];
          for (const b of parts) {
            if (skip >= b.length) {
              skip -= b.length;
              continue;
            }
            rest.push(skip > 0 ? b.subarray(skip) : b);
            skip = 0;
          }
          parts = rest;
        }
      }
    } catch (e) {
      // Disk full (or I/O error) part-way: a torn record left in the middle of the segment
      // would end replay there once later batches follow it. Cut it off; the batch fails
      // as a whole and the caller does not apply it.
      if (done > 0) {
        try {
          fs.ftruncateSync(this.fd, this.segBytes);
        } catch (t) {
          this.logger.error('wal: could not cut off a failed write', {error: (t as Error).message});
        }
      }
      throw new WalError(`wal: write failed: ${(e as Error).message}`, {cause: e});
    }
    this.segBytes += n;
    this.bytesWritten += n;
    this.dirty = true;
    if (this.policy === 'always') this.syncNow();
    else if (this.policy === 'interval') this.scheduleSync();
  }

  /** fsync everything written so far (blocking). */
  syncNow(): void {
    if (this.syncTimer) {
      clearTimeout(this.syncTimer);
      this.syncTimer = null;
    }
    const start = Date.now();
    // A segment is closed even when its fsync fails: it is off the list either way.
    for (const fd of this.retired.splice(0)) {
      try {
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
    }
    if (this.fd >= 0) fs.fsyncSync(this.fd);
    if (this.dirDirty) fsyncDir(this.dir);
    this.dirDirty = false;
    this.dirty = false;
    this.lastSyncedAt = start;
  }

  private scheduleSync(): void {
    if (this.syncTimer !== null || this.syncing || this.closed) return;
    const wait = Math.max(0, this.lastSyncStart + this.intervalMs - Date.now());
    this.syncTimer = setTimeout(() => {
      this.syncTimer = null;
      void this.backgroundSync();
    }, wait);
    this.syncTimer.unref();
  }

  /** One fsync chain on the libuv thread pool: retired segments, the current one, the dir. */
  private async backgroundSync(): Promise<void> {
    if (this.closed || this.syncing) return;
    this.syncing = true;
    const start = Date.now();
    this.lastSyncStart = start;
    this.dirty = false;
    const dirDirty = this.dirDirty;
    this.dirDirty = false;
    try {
      for (const fd of this.retired.splice(0)) {
        try {
          await fsyncAsync(fd);
        } finally {
          fs.closeSync(fd);
        }
      }
      if (this.fd >= 0) await fsyncAsync(this.fd);
      if (dirDirty) {
        const dfd = fs.openSync(this.dir, 'r');
        try {
          await fsyncAsync(dfd);
        } finally {
          fs.closeSync(dfd);
        }
      }
      this.lastSyncedAt = start;
    } catch (e) {
      if (!this.closed) {
        this.syncErrors++;
        this.dirty = true;
        this.dirDirty ||= dirDirty;
        this.logger.error('wal: background fsync failed', {error: e instanceof Error ? e.message : String(e)});
      }
    } finally {
      this.syncing = false;
    }
    if (this.dirty && !this.closed && this.policy === 'interval') this.scheduleSync();
  }

  /**
   * After a block holding everything before `mint` is persisted and the head truncated:
   * rotate, write `checkpoint.N` (a min-valid-time record, the series records of `live`
   * and their in-memory chunks) for all segments ≤ N, then delete those segments and
   * older checkpoints. Crash-safe: the checkpoint is built in `checkpoint.N.tmp`,
   * fsynced and renamed before anything is deleted. Yields to the event loop every
   * `sliceSeries` series so commits keep flowing; data committed meanwhile lands in the
   * new segment (and possibly in the checkpoint too — replay drops such duplicates).
   */
  async truncate(mint: number, live: Iterable<CheckpointSeries>, sliceSeries = 2000): Promise<TruncateResult> {
    if (this.closed) throw new WalError('wal is closed');
    if (this.truncating) throw new WalError('wal truncation already running');
    this.truncating = true;
    const t0 = performance.now();
    try {
      const upTo = this.seg;
      this.startSegment(upTo + 1);
      const name = `checkpoint.${segmentName(upTo)}`;
      const tmp = path.join(this.dir, `${name}.tmp`);
      fs.rmSync(tmp, {recursive: true, force: true});
      fs.mkdirSync(tmp);
      const fd = fs.openSync(path.join(tmp, segmentName(0)), 'w', 0o644);
      let bytes = 0;
      let nSeries = 0;
      let nChunks = 0;
      try {
        const e = new Encbuf(1 << 20);
        e.putBytes(segmentHeader());
        encodeMinValidTime(e, mint);
        const batch: CheckpointSeries[] = [];
        const flush = (): void => {
          if (batch.length === 0) return;
          encodeSeries(e, batch);
          const chunks: RefChunk[] = [];
          for (const s of batch) for (const data of s.chunks()) chunks.push({ref: s.ref, data});
          nChunks += chunks.length;
          for (let i = 0; i < chunks.length; i += 1000) encodeChunks(e, chunks.slice(i, i + 1000));
          nSeries += batch.length;
          batch.length = 0;
          writeFully(fd, e.get());
          bytes += e.length;
          e.reset();
        };
        let inSlice = 0;
        for (const s of live) {
          batch.push(s);
          if (batch.length >= 500) flush();
          if (++inSlice >= sliceSeries) {
            inSlice = 0;
            flush();
            await new Promise<void>((r) => setImmediate(r));
            if (this.closed) throw new WalError('wal closed during truncation');
          }
        }
        flush();
        await fsyncAsync(fd);
      } finally {
        fs.closeSync(fd);
      }
      fsyncDir(tmp);
      const final = path.join(this.dir, name);
      fs.rmSync(final, {recursive: true, force: true});
      fs.renameSync(tmp, final);
      fsyncDir(this.dir);
      // Only now is it safe to delete what the checkpoint replaces.
      let deleted = 0;
      for (const entry of fs.readdirSync(this.dir)) {
        const s = parseSegmentName(entry);
        const m = CHECKPOINT_RE.exec(entry);
        if ((s !== null && s <= upTo) || (m && Number(m[1]) < upTo)) {
          fs.rmSync(path.join(this.dir, entry), {recursive: true, force: true});
          if (s !== null) deleted++;
        }
      }
      fsyncDir(this.dir);
      const res = {checkpoint: upTo, series: nSeries, chunks: nChunks, bytes, deletedSegments: deleted, ms: performance.now() - t0};
      this.logger.info('wal: truncated', {...res});
      return res;
    } finally {
      this.truncating = false;
    }
  }

  /** fsyncs and closes. Safe to call twice. */
  close(): void {
    if (this.closed) return;
    if (this.syncTimer) clearTimeout(this.syncTimer);
    this.syncTimer = null;
    try {
      this.syncNow();
    } finally {
      this.closed = true;
      if (this.fd >= 0) fs.closeSync(this.fd);
      this.fd = -1;
    }
  }
}
