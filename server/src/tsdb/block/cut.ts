// Chunk cutting: how many samples go into one chunk (spec §6). Mirrors the Prometheus
// head appender (tsdb/head_append.go appendPreprocessor, computeChunkEndTime) so that
// the same input yields the same chunk boundaries as Prometheus/promtool.

/** 'v2.42': integer computeChunkEndTime (Prometheus ≤ 2.46, promtool 2.42).
 *  'v3': float computeChunkEndTime (≥ 2.47 / 3.x) plus the ≥ 3.12 ~1 KiB chunk size cap. */
export type CuttingRule = 'v2.42' | 'v3';

export interface CutOptions {
  /** Head chunk range in ms: chunks never cross multiples of it. Prometheus server: 2h;
   *  promtool create-blocks-from: 2 × block duration (4h). */
  chunkRange: number;
  /** Target samples per chunk (Prometheus DefaultSamplesPerChunk = 120). */
  samplesPerChunk: number;
  rule: CuttingRule;
}

export const DEFAULT_CHUNK_RANGE = 2 * 60 * 60 * 1000;
export const DEFAULT_SAMPLES_PER_CHUNK = 120;
/** ≥ 3.12: cut when the chunk's byte size exceeds this before appending. */
export const MAX_BYTES_PER_XOR_CHUNK = 1024 - 19;

/** Go's rangeForTimestamp: end of the chunkRange-aligned window containing t (int64 division truncates toward 0). */
export function rangeForTimestamp(t: number, width: number): number {
  return Math.trunc(t / width) * width + width;
}

export function computeChunkEndTime(start: number, cur: number, max: number, rule: CuttingRule): number {
  if (rule === 'v2.42') {
    const n = Math.trunc((max - start) / ((cur - start + 1) * 4));
    return n <= 1 ? max : start + Math.trunc((max - start) / n);
  }
  const n = (max - start) / ((cur - start + 1) * 4);
  return n <= 1 ? max : Math.trunc(start + (max - start) / Math.floor(n));
}

/**
 * Stateful per-series cutter. Call shouldCut(t, n, bytes) before appending sample t to
 * the current chunk holding n samples (bytes = its current encoded size); when it
 * returns true (or n === 0) call startChunk(t) and append t to a fresh chunk.
 */
export class ChunkCutter {
  // Doubles from the start (ms timestamps): no field layout change on the first sample.
  private nextAt = -Infinity;
  private minT = -Infinity;
  private maxT = -Infinity;

  constructor(private readonly opts: CutOptions) {}

  startChunk(t: number): void {
    this.nextAt = rangeForTimestamp(t, this.opts.chunkRange);
    this.minT = t;
    this.maxT = t;
  }

  shouldCut(t: number, n: number, bytes: number): boolean {
    const o = this.opts;
    if (n === 0) return true;
    if (n === o.samplesPerChunk >> 2) this.nextAt = computeChunkEndTime(this.minT, this.maxT, this.nextAt, o.rule);
    if (t >= this.nextAt || n >= o.samplesPerChunk * 2) return true;
    if (o.rule === 'v3' && bytes > MAX_BYTES_PER_XOR_CHUNK) return true;
    return false;
  }

  /** Record that t was appended to the current chunk. */
  appended(t: number): void {
    this.maxT = t;
  }
}
