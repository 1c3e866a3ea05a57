// Planning, as Prometheus' LeveledCompactor (tsdb/compact.go) does it, as pure functions
// over meta.json contents:
//
// 1. Overlapping blocks first (vertical compaction): sorted by minTime, the first run of
//    blocks whose time ranges overlap (two scrapers' blocks, a re-synced block) is
//    merged into one, whatever their sizes.
// 2. Otherwise level up: ignoring the newest block (by minTime; it may still be backed up
//    or be followed by a block of the same range), for each range after the first, blocks
//    are grouped by epoch-aligned windows of that range; the first group of ≥ 2 blocks
//    that spans the whole window, or lies entirely before the newest remaining block
//    (so no block of the same size can still join it), is merged.
//
// Ranges. Prometheus uses 2h × 3^k (2h, 6h, 18h, 54h, … capped at 10 % of retention, at
// most 31 d). We default to 2h → 6h → 24h: a day is the unit support asks for in dumps,
// so one UTC day is one block with one index (one index and one set of symbols instead
// of 12), blocks never straddle midnight UTC, and 24h = 4 × 6h keeps the windows nested.
// Each range must be a multiple of the previous one (checked), so a window of one range
// never cuts a block of the previous range in two.

import type {BlockDesc, BlockMeta} from '../block/mod.ts';

const HOUR = 3_600_000;

/** 2h → 6h → 24h (see the file comment). */
export const DEFAULT_RANGES: readonly number[] = Object.freeze([2 * HOUR, 6 * HOUR, 24 * HOUR]);

/** Prometheus' defaults for comparison: ExponentialBlockRanges(2h, 10, 3) before the cap. */
export const PROMETHEUS_RANGES: readonly number[] = Object.freeze([2, 6, 18, 54, 162].map((h) => h * HOUR));

export interface PlanOptions {
  /** Block ranges in ms, ascending; the first is the head's block range. Default DEFAULT_RANGES. */
  ranges?: readonly number[];
  /** Leave the newest block out of level-up compaction, as Prometheus does. Default true. */
  excludeNewest?: boolean;
}

export type CompactionKind = 'overlap' | 'level';

export interface CompactionGroup {
  kind: CompactionKind;
  /** The parents, sorted by minTime. */
  blocks: BlockMeta[];
  /** For 'level': the range (ms) of the window they fill. */
  range?: number;
}

/** Throws on ranges that are not positive, ascending, integer multiples of each other. */
export function checkRanges(ranges: readonly number[]): void {
  if (ranges.length === 0) throw new RangeError('compaction ranges: at least one range');
  for (let i = 0; i < ranges.length; i++) {
    const r = ranges[i];
    if (!Number.isSafeInteger(r) || r <= 0) throw new RangeError(`compaction ranges: ${r} is not a positive integer`);
    if (i > 0 && (r <= ranges[i - 1] || r % ranges[i - 1] !== 0)) {
      throw new RangeError(`compaction ranges: ${r} is not a larger multiple of ${ranges[i - 1]}`);
    }
  }
}

function byMinTime(a: BlockMeta, b: BlockMeta): number {
  return a.minTime - b.minTime || (a.ulid < b.ulid ? -1 : a.ulid > b.ulid ? 1 : 0);
}

/** The next group to compact, or null. Blocks marked failed or deletable are ignored. */
export function plan(metas: readonly BlockMeta[], opts: PlanOptions = {}): CompactionGroup | null {
  const ranges = opts.ranges ?? DEFAULT_RANGES;
  checkRanges(ranges);
  const ms = metas.filter((m) => !m.compaction.failed && !m.compaction.deletable).sort(byMinTime);
  const overlapping = selectOverlapping(ms);
  if (overlapping.length > 0) return {kind: 'overlap', blocks: overlapping};
  const candidates = (opts.excludeNewest ?? true) ? ms.slice(0, -1) : ms;
  if (candidates.length === 0) return null;
  // As Prometheus' selectDirs: the newest *candidate* (the newest block is already left
  // out). Taking the newest block instead re-merges the growing window every time a block
  // is cut: [0,4) → [0,6) → [0,8) → … ≈ 6× the data rewritten per day instead of 2×.
  const highTime = candidates[candidates.length - 1].minTime;
  for (const range of ranges.slice(1)) {
    for (const group of splitByRange(candidates, range)) {
      const mint = group[0].minTime;
      const maxt = group[group.length - 1].maxTime;
      if (group.length > 1 && (maxt - mint === range || maxt <= highTime)) return {kind: 'level', blocks: group, range};
    }
  }
  return null;
}

/** The first run of mutually overlapping blocks (input sorted by minTime). */
export function selectOverlapping(ms: readonly BlockMeta[]): BlockMeta[] {
  const out: BlockMeta[] = [];
  if (ms.length < 2) return out;
  let globalMaxt = ms[0].maxTime;
  for (let i = 1; i < ms.length; i++) {
    if (ms[i].minTime < globalMaxt) {
      if (out.length === 0) out.push(ms[i - 1]);
      out.push(ms[i]);
    } else if (out.length > 0) {
      break;
    }
    globalMaxt = Math.max(globalMaxt, ms[i].maxTime);
  }
  return out;
}

/** Groups blocks (sorted by minTime) into epoch-aligned windows of `range`; blocks wider than their window are skipped. */
export function splitByRange(ms: readonly BlockMeta[], range: number): BlockMeta[][] {
  const out: BlockMeta[][] = [];
  for (let i = 0; i < ms.length; ) {
    const t0 = Math.floor(ms[i].minTime / range) * range;
    if (ms[i].maxTime > t0 + range) {
      i++;
      continue;
    }
    const group: BlockMeta[] = [];
    for (; i < ms.length && ms[i].maxTime <= t0 + range; i++) group.push(ms[i]);
    out.push(group);
  }
  return out;
}

/** meta.json of the block compacted from `parents` (Prometheus' CompactBlockMetas); stats are filled by the writer. */
export function compactedMeta(ulid: string, parents: readonly BlockMeta[]): BlockMeta {
  if (parents.length === 0) throw new Error('compactedMeta: no parents');
  const sources = new Set<string>();
  let level = 0;
  for (const p of parents) {
    level = Math.max(level, p.compaction.level);
    for (const s of p.compaction.sources?.length ? p.compaction.sources : [p.ulid]) sources.add(s);
  }
  const desc: BlockDesc[] = parents.map((p) => ({ulid: p.ulid, minTime: p.minTime, maxTime: p.maxTime}));
  return {
    ulid,
    minTime: Math.min(...parents.map((p) => p.minTime)),
    maxTime: Math.max(...parents.map((p) => p.maxTime)),
    stats: {},
    compaction: {level: level + 1, sources: [...sources].sort(), parents: desc},
    version: 1,
  };
}

export interface Superseded {
  ulid: string;
  /** The block that holds all of its data. */
  by: string;
}

/**
 * Blocks whose data another block already holds: listed in its compaction.parents, or
 * whose sources are a subset of its sources (a proper subset, or equal with a smaller
 * ULID). This is how a run after a crash between "new block complete" and "parents
 * deleted" finds the parents (Prometheus uses parents only). The superseding block chosen
 * is the one with the most sources, i.e. the newest compaction.
 */
export function findSuperseded(metas: readonly BlockMeta[]): Superseded[] {
  const srcs = new Map(metas.map((m) => [m.ulid, new Set(m.compaction.sources?.length ? m.compaction.sources : [m.ulid])]));
  const out: Superseded[] = [];
  for (const x of metas) {
    const xs = srcs.get(x.ulid)!;
    let best: BlockMeta | null = null;
    for (const y of metas) {
      if (y === x || y.ulid === x.ulid) continue;
      const ys = srcs.get(y.ulid)!;
      const listed = y.compaction.parents?.some((p) => p.ulid === x.ulid) ?? false;
      let covers = listed;
      if (!covers && [...xs].every((s) => ys.has(s))) covers = ys.size > xs.size || y.ulid > x.ulid;
      if (covers && (best === null || srcs.get(best.ulid)!.size < ys.size)) best = y;
    }
    if (best) out.push({ulid: x.ulid, by: best.ulid});
  }
  return out;
}
