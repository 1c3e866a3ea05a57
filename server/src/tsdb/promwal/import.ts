// Upgrading from the Go plugin: its data dir is a Prometheus TSDB whose newest ~3 h live
// only in Prometheus' WAL (`wal/`: the Go plugin closed its DB without cutting the head).
// This turns that WAL into ordinary blocks in the same data dir, once, then retires it.
//
// Samples older than the newest block's maxTime are already in blocks (Prometheus drops
// them on replay too); duplicates (same series, same timestamp) keep the first, as
// Prometheus' append does. One block per `blockRange`-aligned window. Only after every
// block is in place is `wal/` renamed away and deleted, with `chunks_head/` and
// `chunk_snapshot.*` (derived from the WAL). A WAL with unreadable parts is kept aside as
// `mm-go-wal-unreadable/` for a post-mortem instead of being deleted.

import fs from 'node:fs';
import path from 'node:path';
import {type BlockMeta, type Sample, writeSortedBlock} from '../block/mod.ts';
import {type Label, compareLabels, labelsKey, toLabels} from '../labels/mod.ts';
import {type WalProblem, hasPrometheusWal, readPrometheusWal} from './reader.ts';

export const PROMETHEUS_WAL_DIR = 'wal';
const RETIRING = 'mm-go-wal-imported';
/** Remembers the first sight of the WAL: blocks cut afterwards must not raise minValidTime. */
const PLAN_FILE = 'mm-go-wal-import.json';
const KEPT_UNREADABLE = 'mm-go-wal-unreadable';

export interface ImportPrometheusWalInput {
  /** The data dir (holds `wal/`). */
  dir: string;
  /** Samples before this are in blocks already (the newest block's maxTime); null: none. */
  minValidTime: number | null;
  blockRange: number;
  fsync?: boolean;
}

export interface ImportPrometheusWalResult {
  /** False when there was nothing to import. */
  imported: boolean;
  blocks: BlockMeta[];
  series: number;
  samples: number;
  skipped: {beforeBlocks: number; duplicates: number; unknownSeries: number; otherRecords: Record<string, number>};
  problems: WalProblem[];
  /** Where the WAL was kept because parts of it were unreadable. */
  keptAt?: string;
}

/** One series' samples, in growable columns. */
class Columns {
  n = 0;
  t = new Float64Array(16);
  hi = new Uint32Array(16);
  lo = new Uint32Array(16);

  push(t: number, hi: number, lo: number): void {
    if (this.n === this.t.length) {
      const grow = <A extends Float64Array | Uint32Array>(a: A): A => {
        const b = new (a.constructor as new (n: number) => A)(a.length * 2);
        b.set(a);
        return b;
      };
      this.t = grow(this.t);
      this.hi = grow(this.hi);
      this.lo = grow(this.lo);
    }
    this.t[this.n] = t;
    this.hi[this.n] = hi;
    this.lo[this.n] = lo;
    this.n++;
  }

  /** Sample indexes in time order, first of equal timestamps only; returns the duplicates dropped. */
  order(): {idx: Uint32Array; dropped: number} {
    const all = new Uint32Array(this.n);
    let sorted = true;
    for (let i = 0; i < this.n; i++) {
      all[i] = i;
      if (i > 0 && this.t[i] < this.t[i - 1]) sorted = false;
    }
    // Stable, so the first of equal timestamps stays first.
    const idx = sorted ? all : Uint32Array.from([...all].sort((a, b) => this.t[a] - this.t[b] || a - b));
    let w = 0;
    for (let r = 0; r < idx.length; r++) if (w === 0 || this.t[idx[r]] !== this.t[idx[w - 1]]) idx[w++] = idx[r];
    return {idx: idx.subarray(0, w), dropped: idx.length - w};
  }
}

/**
 * Whether `dir` holds a Prometheus WAL to import, and the minValidTime to import it with:
 * the newest block's maxTime when the WAL was first seen (kept in a file, so that blocks
 * this store cuts before the import succeeds do not hide the WAL's samples). Removes what
 * a finished import left. Call before this store writes any block.
 */
export function planPrometheusWalImport(dir: string, newestBlockMaxTime: number | null): {pending: boolean; minValidTime: number | null} {
  fs.rmSync(path.join(dir, RETIRING), {recursive: true, force: true});
  const plan = path.join(dir, PLAN_FILE);
  if (!hasPrometheusWal(path.join(dir, PROMETHEUS_WAL_DIR))) {
    fs.rmSync(plan, {force: true});
    return {pending: false, minValidTime: null};
  }
  try {
    const v = (JSON.parse(fs.readFileSync(plan, 'utf8')) as {minValidTime?: unknown}).minValidTime;
    if (v === null || typeof v === 'number') return {pending: true, minValidTime: v};
  } catch {
    // first sight (or an unreadable plan: written again below)
  }
  fs.writeFileSync(plan, JSON.stringify({minValidTime: newestBlockMaxTime}) + '\n');
  return {pending: true, minValidTime: newestBlockMaxTime};
}

export function importPrometheusWal(input: ImportPrometheusWalInput): ImportPrometheusWalResult {
  const walDir = path.join(input.dir, PROMETHEUS_WAL_DIR);
  const result: ImportPrometheusWalResult = {
    imported: false,
    blocks: [],
    series: 0,
    samples: 0,
    skipped: {beforeBlocks: 0, duplicates: 0, unknownSeries: 0, otherRecords: {}},
    problems: [],
  };
  // A previous import finished its blocks but not the clean-up.
  fs.rmSync(path.join(input.dir, RETIRING), {recursive: true, force: true});
  if (!hasPrometheusWal(walDir)) return result;

  const series: Array<{labels: Label[]; cols: Columns}> = [];
  const byKey = new Map<string, number>();
  // Prometheus' refs count up from 1: a table, with a map for the unusual ones.
  let refTable = new Int32Array(1 << 16).fill(-1);
  const refMap = new Map<number, number>();
  const seriesOf = (ref: number): number | undefined => {
    if (ref < refTable.length) {
      const i = refTable[ref];
      return i < 0 ? undefined : i;
    }
    return refMap.get(ref);
  };
  const minValid = input.minValidTime ?? -Infinity;
  const stats = readPrometheusWal(walDir, {
    series(ref, raw) {
      const labels = toLabels(raw);
      const key = labelsKey(labels);
      let i = byKey.get(key);
      if (i === undefined) {
        i = series.length;
        series.push({labels, cols: new Columns()});
        byKey.set(key, i);
      }
      if (ref < 1 << 24) {
        if (ref >= refTable.length) {
          const grown = new Int32Array(Math.max(refTable.length * 2, ref + 1)).fill(-1);
          grown.set(refTable);
          refTable = grown;
        }
        refTable[ref] = i;
      } else {
        refMap.set(ref, i);
      }
    },
    sample(ref, t, hi, lo) {
      const i = seriesOf(ref);
      if (i === undefined) result.skipped.unknownSeries++;
      else if (t < minValid) result.skipped.beforeBlocks++;
      else series[i].cols.push(t, hi, lo);
    },
    other(type) {
      const name = OTHER_RECORDS[type] ?? `type ${type}`;
      result.skipped.otherRecords[name] = (result.skipped.otherRecords[name] ?? 0) + 1;
    },
  });
  result.problems = stats.problems;

  // Per window, per series: [start, end) in the series' time-ordered indexes.
  const windows = new Map<number, Array<{s: number; from: number; to: number}>>();
  const orders: Uint32Array[] = [];
  for (let s = 0; s < series.length; s++) {
    const {idx, dropped} = series[s].cols.order();
    orders.push(idx);
    result.skipped.duplicates += dropped;
    const t = series[s].cols.t;
    let from = 0;
    while (from < idx.length) {
      const w = Math.floor(t[idx[from]] / input.blockRange);
      let to = from + 1;
      while (to < idx.length && Math.floor(t[idx[to]] / input.blockRange) === w) to++;
      let list = windows.get(w);
      if (!list) windows.set(w, (list = []));
      list.push({s, from, to});
      from = to;
    }
  }
  // Index order for writeSortedBlock (every window's parts keep it).
  const rank = new Int32Array(series.length);
  series
    .map((_, i) => i)
    .sort((a, b) => compareLabels(series[a].labels, series[b].labels))
    .forEach((s, r) => (rank[s] = r));
  for (const w of [...windows.keys()].sort((a, b) => a - b)) {
    const parts = windows.get(w)!.sort((a, b) => rank[a.s] - rank[b.s]);
    const symbols = new Set<string>();
    for (const p of parts) for (const l of series[p.s].labels) symbols.add(l.name).add(l.value);
    let minTime = Infinity;
    let maxTime = -Infinity;
    for (const p of parts) {
      const {t} = series[p.s].cols;
      const idx = orders[p.s];
      minTime = Math.min(minTime, t[idx[p.from]]);
      maxTime = Math.max(maxTime, t[idx[p.to - 1]]);
      result.samples += p.to - p.from;
    }
    // The writer uses each sample before asking for the next: one object serves them all.
    const sample: Sample = {t: 0, v: 0, hi: 0, lo: 0};
    const inputs = parts.map((p) => {
      const {t, hi, lo} = series[p.s].cols;
      const idx = orders[p.s];
      return {
        labels: series[p.s].labels,
        *samples(): IterableIterator<Sample> {
          for (let k = p.from; k < p.to; k++) {
            sample.t = t[idx[k]];
            sample.hi = hi[idx[k]];
            sample.lo = lo[idx[k]];
            yield sample;
          }
        },
      };
    });
    const written = writeSortedBlock(input.dir, symbols, inputs.map((x) => ({labels: x.labels, samples: x.samples()})), {minTime, maxTime: maxTime + 1, fsync: input.fsync});
    result.blocks.push(written.meta);
  }
  result.series = series.filter((s) => s.cols.n > 0).length;
  result.imported = true;

  // Every block is in place: retire the WAL (a crash before the rename imports it again;
  // the duplicate blocks are merged by compaction, sample for sample).
  if (result.problems.length > 0) {
    const kept = path.join(input.dir, KEPT_UNREADABLE);
    fs.rmSync(kept, {recursive: true, force: true});
    fs.renameSync(walDir, kept);
    result.keptAt = kept;
  } else {
    fs.renameSync(walDir, path.join(input.dir, RETIRING));
  }
  fs.mkdirSync(walDir, {recursive: true});
  fs.rmSync(path.join(input.dir, RETIRING), {recursive: true, force: true});
  fs.rmSync(path.join(input.dir, 'chunks_head'), {recursive: true, force: true});
  for (const e of fs.readdirSync(input.dir)) if (e.startsWith('chunk_snapshot.')) fs.rmSync(path.join(input.dir, e), {recursive: true, force: true});
  fs.rmSync(path.join(input.dir, PLAN_FILE), {force: true});
  return result;
}

const OTHER_RECORDS: Record<number, string> = {
  3: 'tombstones',
  4: 'exemplars',
  5: 'mmap markers',
  6: 'metadata',
  7: 'native histograms',
  8: 'float histograms',
};
