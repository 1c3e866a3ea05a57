// Retention: which blocks to delete by age and by size (Prometheus tsdb/db.go
// BeyondTimeRetention / BeyondSizeRetention), and doing it crash-safely.
//
// Blocks are ordered newest first by maxTime.
//  - time: a block is deleted when newest.maxTime − block.maxTime ≥ retention; it and
//    every older block go. The newest block is never deleted by time.
//  - size: starting from the head/WAL bytes the caller passes, block sizes are added
//    newest first; the first block that takes the total above maxBytes, and every older
//    one, is deleted. So the oldest blocks go until total ≤ maxBytes (the newest block too
//    if the head alone exceeds the limit, as in Prometheus).
// Unreadable block dirs are neither counted nor deleted (they are reported).

import {type DataDirListing, deleteBlockDir, dirBytes, listDataDir, removeLeftovers} from './dirs.ts';

export interface Logger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
}

export interface RetentionBlock {
  ulid: string;
  /** Inclusive (ms). */
  minTime: number;
  /** Exclusive (ms), as in meta.json. */
  maxTime: number;
  bytes: number;
}

export interface RetentionOptions {
  /** Keep this much time (ms) below the newest block's maxTime; 0/undefined = no time limit. */
  retentionMs?: number;
  /** Limit for blocks + head bytes; 0/undefined = no size limit. */
  maxBytes?: number;
  /** Bytes of the head (WAL, head chunks), counted against maxBytes. */
  headBytes?: number;
  /**
   * Blocks the time limit must not delete (not in the file store yet: deleting them would
   * lose their data for good). The size limit still applies: the disk comes first.
   */
  keep?: readonly string[];
}

export type RetentionReason = 'time' | 'size';

export interface RetentionDecision extends RetentionBlock {
  reason: RetentionReason;
}

/** Pure: the blocks to delete, oldest first, and why (time wins when both apply). */
export function planRetention(blocks: readonly RetentionBlock[], opts: RetentionOptions): RetentionDecision[] {
  const sorted = [...blocks].sort((a, b) => b.maxTime - a.maxTime || (a.ulid < b.ulid ? 1 : -1));
  const reasons = new Map<string, RetentionReason>();
  const retention = opts.retentionMs ?? 0;
  if (retention > 0 && sorted.length > 0) {
    const newest = sorted[0].maxTime;
    const i = sorted.findIndex((b, idx) => idx > 0 && newest - b.maxTime >= retention);
    const keep = new Set(opts.keep ?? []);
    if (i > 0) for (const b of sorted.slice(i)) if (!keep.has(b.ulid)) reasons.set(b.ulid, 'time');
  }
  const maxBytes = opts.maxBytes ?? 0;
  if (maxBytes > 0) {
    let total = opts.headBytes ?? 0;
    const i = sorted.findIndex((b) => (total += b.bytes) > maxBytes);
    if (i >= 0) for (const b of sorted.slice(i)) if (!reasons.has(b.ulid)) reasons.set(b.ulid, 'size');
  }
  // Oldest first: the order they are deleted in, so an interrupted run has removed the oldest.
  return sorted
    .filter((b) => reasons.has(b.ulid))
    .map((b) => ({...b, reason: reasons.get(b.ulid)!}))
    .reverse();
}

export interface DataDirStats {
  blocks: number;
  /** Bytes of readable blocks (the head is not included). */
  bytes: number;
  /** Oldest minTime over blocks (ms), null without blocks. */
  minTime: number | null;
  /** Newest maxTime over blocks (exclusive, ms), null without blocks. */
  maxTime: number | null;
  unreadable: number;
  leftovers: number;
}

function measured(listing: DataDirListing): RetentionBlock[] {
  return listing.blocks.map((b) => ({ulid: b.ulid, minTime: b.meta.minTime, maxTime: b.meta.maxTime, bytes: dirBytes(b.dir)}));
}

export function dataDirStats(dataDir: string): DataDirStats {
  const listing = listDataDir(dataDir);
  const blocks = measured(listing);
  return {
    blocks: blocks.length,
    bytes: blocks.reduce((n, b) => n + b.bytes, 0),
    minTime: blocks.length ? Math.min(...blocks.map((b) => b.minTime)) : null,
    maxTime: blocks.length ? Math.max(...blocks.map((b) => b.maxTime)) : null,
    unreadable: listing.unreadable.length,
    leftovers: listing.leftovers.length,
  };
}

export interface ApplyRetentionOptions extends RetentionOptions {
  /** Remove leftover tmp dirs first (default true; see removeLeftovers for when that is safe). */
  removeLeftovers?: boolean;
  fsync?: boolean;
  logger?: Logger;
  /** Test hook: called after each block's rename to .tmp-for-deletion; throwing simulates a crash. */
  afterRename?: (ulid: string) => void;
}

export interface RetentionResult {
  deleted: RetentionDecision[];
  leftoversRemoved: string[];
  unreadable: {dir: string; error: string}[];
  stats: DataDirStats;
}

/** Applies retention to `dataDir`. Synchronous; keep it serialised with compaction and block cutting. */
export function applyRetention(dataDir: string, opts: ApplyRetentionOptions = {}): RetentionResult {
  const leftoversRemoved = (opts.removeLeftovers ?? true) ? removeLeftovers(dataDir) : [];
  for (const d of leftoversRemoved) opts.logger?.info('tsdb retention: removed leftover', {dir: d});
  const listing = listDataDir(dataDir);
  for (const u of listing.unreadable) opts.logger?.warn('tsdb retention: unreadable block dir left alone', {...u});
  const deleted = planRetention(measured(listing), opts);
  const keep = new Set(opts.keep ?? []);
  for (const d of deleted) {
    deleteBlockDir(dataDir, d.ulid, {fsync: opts.fsync, afterRename: opts.afterRename && (() => opts.afterRename!(d.ulid))});
    if (keep.has(d.ulid)) opts.logger?.warn('tsdb retention: the size limit deleted a block that had not reached the file store', {...d});
    else opts.logger?.info('tsdb retention: deleted block', {...d});
  }
  return {deleted, leftoversRemoved, unreadable: listing.unreadable, stats: dataDirStats(dataDir)};
}
