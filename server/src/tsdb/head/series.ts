// One in-memory series: closed chunks as encoded XOR bytes plus one open (head) chunk
// appender, cut like Prometheus' head (block/cut.ts, spec §6).

import {XORAppender, XORIterator} from '../chunkenc/mod.ts';
import {ChunkCutter, type CutOptions, type ReadSample} from '../block/mod.ts';
import type {Label} from '../labels/mod.ts';

/** A closed chunk: XOR bytes and its first/last timestamps. */
export interface HeadChunk {
  readonly minT: number;
  readonly maxT: number;
  readonly data: Uint8Array;
}

export class MemSeries {
  /** Stable for the life of the process (replay may re-key a series to the newest ref seen in the WAL). */
  ref: number;
  readonly labels: readonly Label[];
  readonly hash: number;
  closed: HeadChunk[] = [];
  /** Open chunk; null when the series holds no open chunk. */
  app: XORAppender | null = null;
  cutter: ChunkCutter | null = null;
  // Timestamps and value bits (here and pT/pHi/pLo) start as non-integers on purpose: V8
  // then lays them out as doubles from construction. Starting at 0 (a small integer) made the first real
  // timestamp or value bits change the field representation, and V8 then migrated every
  // series object one by one inside the first commit of a new target (≈2× its time).
  /** First timestamp of the open chunk (meaningful while it holds samples). */
  headMinT = -Infinity;
  /** Last committed sample (time and value bits); -Infinity before the first. */
  lastT = -Infinity;
  /** Value bits of the last committed sample (read only once lastT is a real time). */
  lastHi = NaN;
  lastLo = NaN;
  /** Head generation of the last append/creation (garbage collection, see Head.truncate). */
  touchGen = 0;
  /** A series record for this ref is in the WAL. */
  logged = false;
  /** Id of the appender whose batch holds a series record for this ref (0: none). */
  logPending = 0;
  /** Removed by truncate. */
  dropped = false;
  // Staging state of the appender that touched it last (validation within a batch).
  pOwner = 0;
  pT = -Infinity;
  pHi = NaN;
  pLo = NaN;

  constructor(ref: number, labels: readonly Label[], hash: number) {
    this.ref = ref;
    this.labels = labels;
    this.hash = hash;
  }

  /**
   * Appends a sample known to be newer than lastT. Returns the number of chunks closed (0/1).
   */
  append(t: number, hi: number, lo: number, cut: CutOptions): number {
    this.prepareOpenChunk(cut);
    const app = this.app!;
    const cutter = this.cutter!;
    let closedOne = 0;
    const n = app.numSamples();
    if (n === 0 || cutter.shouldCut(t, n, cut.rule === 'v3' ? app.byteLength() : 0)) {
      if (n > 0) {
        this.closed.push({minT: this.headMinT, maxT: this.lastT, data: app.bytes().slice()});
        app.reset();
        closedOne = 1;
      }
      cutter.startChunk(t);
      this.headMinT = t;
    }
    app.appendBits(t, hi, lo);
    cutter.appended(t);
    this.lastT = t;
    this.lastHi = hi;
    this.lastLo = lo;
    return closedOne;
  }

  /**
   * Makes the (empty) open chunk if there is none, so that staging a new series' first
   * sample, not the commit applying it, pays for the allocation.
   */
  prepareOpenChunk(cut: CutOptions): void {
    if (this.app === null || this.cutter === null) {
      this.app = new XORAppender();
      this.cutter = new ChunkCutter(cut);
    }
  }

  /** Samples held in memory. */
  numSamples(): number {
    let n = this.app === null ? 0 : this.app.numSamples();
    for (const c of this.closed) n += (c.data[0] << 8) | c.data[1];
    return n;
  }

  numChunks(): number {
    return this.closed.length + (this.app !== null && this.app.numSamples() > 0 ? 1 : 0);
  }

  /** First timestamp held, or Infinity. */
  minTime(): number {
    if (this.closed.length > 0) return this.closed[0].minT;
    return this.app !== null && this.app.numSamples() > 0 ? this.headMinT : Infinity;
  }

  /** Last timestamp held, or -Infinity. */
  maxTime(): number {
    if (this.app !== null && this.app.numSamples() > 0) return this.lastT;
    return this.closed.length > 0 ? this.closed[this.closed.length - 1].maxT : -Infinity;
  }

  /** A copy of the chunk list (the open chunk copied) for lazy readers. */
  snapshotChunks(): HeadChunk[] {
    const out = this.closed.slice();
    if (this.app !== null && this.app.numSamples() > 0) out.push({minT: this.headMinT, maxT: this.lastT, data: this.app.bytes().slice()});
    return out;
  }

  /** Chunk bytes in time order; the open chunk as a view (valid until the next append). */
  *chunkBytes(): IterableIterator<Uint8Array> {
    for (const c of this.closed) yield c.data;
    if (this.app !== null && this.app.numSamples() > 0) yield this.app.bytes();
  }

  /** Drops closed chunks ending before mint, and the open chunk if it does. Returns [chunks, samples] dropped. */
  truncateBefore(mint: number): [number, number] {
    let i = 0;
    let samples = 0;
    while (i < this.closed.length && this.closed[i].maxT < mint) {
      const d = this.closed[i].data;
      samples += (d[0] << 8) | d[1];
      i++;
    }
    if (i > 0) this.closed.splice(0, i);
    let chunks = i;
    if (this.app !== null && this.lastT < mint) {
      const n = this.app.numSamples();
      if (n > 0) {
        chunks++;
        samples += n;
      }
      this.app = null;
      this.cutter = null;
    }
    return [chunks, samples];
  }
}

/** Samples of chunks within [mint, maxt] (inclusive). */
export function* chunkRangeSamples(chunks: readonly HeadChunk[], mint: number, maxt: number): IterableIterator<ReadSample> {
  for (const c of chunks) {
    if (c.maxT < mint || c.minT > maxt) continue;
    const it = new XORIterator(c.data);
    while (it.next()) {
      const t = it.t;
      if (t < mint) continue;
      if (t > maxt) return;
      yield {t, v: it.v, stale: it.isStale(), hi: it.hi, lo: it.lo};
    }
    if (it.err !== null) throw new Error(`head chunk decode: ${it.err}`);
  }
}
