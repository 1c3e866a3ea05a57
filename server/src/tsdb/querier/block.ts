// blockSource: a persisted block seen as a SeriesSource. Series are decoded one at a
// time while the caller iterates; chunks are decoded only when a series' samples are
// iterated, and only those overlapping [mint, maxt].

import {type Block, type ReadSample, chunkSamples, decodeChunkColumns, finishChunkColumns} from '../block/mod.ts';
import {STALE_NAN_HI, STALE_NAN_LO, XOR_HI, XOR_LO} from '../chunkenc/mod.ts';
import type {ChunkMeta} from '../index/mod.ts';
import {compareStrings} from '../labels/mod.ts';
import type {Matcher, SeriesData, SeriesSource} from '../storage.ts';
import type {ColumnarSamples, SampleColumns} from './columns.ts';
import {type CompiledMatcher, compileMatchers, matchesAll} from './matchers.ts';

interface Interval {
  minTime: number;
  maxTime: number;
}

/** Adapts an open block. The block must stay open while results are iterated. */
export function blockSource(block: Block): SeriesSource {
  return new BlockSource(block);
}

class BlockSource implements SeriesSource {
  readonly minTime: number;
  readonly maxTime: number;
  private readonly block: Block;
  /** series ref → deleted intervals (inclusive), from the tombstones file. */
  private readonly deleted = new Map<number, Interval[]>();

  constructor(block: Block) {
    this.block = block;
    this.minTime = block.meta.minTime;
    this.maxTime = block.meta.maxTime - 1; // meta.json maxTime is exclusive
    for (const t of block.tombstones) {
      const list = this.deleted.get(t.seriesRef) ?? [];
      list.push({minTime: t.minTime, maxTime: t.maxTime});
      this.deleted.set(t.seriesRef, list);
    }
  }

  /** Candidate refs, ascending: intersection of the postings of matchers that reject "". */
  private candidates(ms: readonly CompiledMatcher[]): number[] {
    const index = this.block.index;
    let refs: number[] | null = null;
    for (const c of ms) {
      if (c.matchesEmpty) continue; // may match series without the label: no postings to narrow by
      const values = c.m.type === '=' ? [c.m.value] : index.labelValues(c.m.name).filter(c.test);
      let set: number[];
      if (values.length === 1) set = index.postings(c.m.name, values[0]);
      else {
        const u = new Set<number>();
        for (const v of values) for (const r of index.postings(c.m.name, v)) u.add(r);
        set = [...u].sort((a, b) => a - b);
      }
      if (refs === null) refs = set;
      else {
        const s = new Set(set);
        refs = refs.filter((r) => s.has(r));
      }
      if (refs.length === 0) return refs;
    }
    return refs ?? index.allPostings();
  }

  *select(matchers: readonly Matcher[], mint: number, maxt: number): IterableIterator<SeriesData> {
    if (mint > maxt || maxt < this.minTime || mint > this.maxTime) return;
    const ms = compileMatchers(matchers);
    const index = this.block.index;
    // Series refs are offsets in the series section, which is written in label order.
    for (const ref of this.candidates(ms)) {
      const s = index.series(ref);
      if (!matchesAll(s.labels, ms)) continue;
      const chunks = s.chunks.filter((c) => c.maxTime >= mint && c.minTime <= maxt);
      if (chunks.length === 0) continue;
      const deleted = this.deleted.get(ref);
      if (deleted && chunks.every((c) => deleted.some((d) => d.minTime <= c.minTime && c.maxTime <= d.maxTime))) continue;
      yield {labels: s.labels, samples: new ChunkSamples(this.block, chunks, mint, maxt, deleted)};
    }
  }

  labelNames(matchers?: readonly Matcher[]): string[] {
    if (!matchers || matchers.length === 0) return this.block.index.labelNames();
    const names = new Set<string>();
    for (const s of this.select(matchers, this.minTime, this.maxTime)) for (const l of s.labels) names.add(l.name);
    return [...names].sort(compareStrings);
  }

  labelValues(name: string, matchers?: readonly Matcher[]): string[] {
    if (!matchers || matchers.length === 0) return this.block.index.labelValues(name);
    const values = new Set<string>();
    for (const s of this.select(matchers, this.minTime, this.maxTime)) {
      for (const l of s.labels) if (l.name === name) values.add(l.value);
    }
    return [...values].sort(compareStrings);
  }
}

/** Re-iterable view of a series' samples in [mint, maxt]; decodes chunk by chunk. */
class ChunkSamples implements ColumnarSamples {
  readonly lowerBound: number;
  readonly upperBound: number;

  constructor(
    private readonly block: Block,
    private readonly chunks: readonly ChunkMeta[],
    private readonly mint: number,
    private readonly maxt: number,
    private readonly deleted: readonly Interval[] | undefined,
  ) {
    // Each chunk's samples lie within its index meta (the decoder checks the first and
    // last sample against it, and timestamps only increase within a chunk).
    let lo = Infinity;
    let hi = -Infinity;
    for (const c of chunks) {
      if (c.minTime < lo) lo = c.minTime;
      if (c.maxTime > hi) hi = c.maxTime;
    }
    this.lowerBound = Math.max(mint, lo);
    this.upperBound = Math.min(maxt, hi);
  }

  *[Symbol.iterator](): Iterator<ReadSample> {
    const {mint, maxt, deleted} = this;
    let lastT = -Infinity;
    for (const c of this.chunks) {
      for (const s of chunkSamples(this.block.chunks, c)) {
        if (s.t < mint) continue;
        if (s.t > maxt) return;
        // Chunks of one series never overlap in blocks we or Prometheus ≥ 2.x compaction
        // write; should one do, keep the stream strictly increasing (the earlier chunk wins).
        if (s.t <= lastT) continue;
        if (deleted && deleted.some((d) => d.minTime <= s.t && s.t <= d.maxTime)) continue;
        lastT = s.t;
        yield s;
      }
    }
  }

  /** The iterator's samples, decoded straight into `out` (same filtering, same errors). */
  appendTo(out: SampleColumns, keepStale: boolean): void {
    const {mint, maxt, deleted} = this;
    let lastT = -Infinity;
    for (const c of this.chunks) {
      // Decoded in place after the samples held, then filtered by moving kept ones down.
      const base = out.length;
      const n = decodeChunkColumns(this.block.chunks, c, out, base);
      const {t, v, words} = out;
      const err = out.err;
      const decodedLastT = n > 0 ? t[base + n - 1] : 0;
      const end = base + n;
      let j = base;
      if (n > 0 && t[base] >= mint && t[base] > lastT && decodedLastT <= maxt && deleted === undefined) {
        // The usual case, the whole chunk kept (timestamps within a decoded chunk strictly increase).
        for (let i = base; i < end; i++) {
          if (words[2 * i + XOR_HI] === STALE_NAN_HI && words[2 * i + XOR_LO] === STALE_NAN_LO) {
            if (!keepStale) continue;
            (out.staleAt ??= []).push(j);
          }
          if (j !== i) {
            t[j] = t[i];
            v[j] = v[i];
          }
          j++;
        }
        lastT = decodedLastT;
        out.length = j;
        finishChunkColumns(this.block.chunks, c, err, n, decodedLastT);
        continue;
      }
      for (let i = base; i < end; i++) {
        const ti = t[i];
        if (ti < mint) continue;
        if (ti > maxt) {
          out.length = j;
          return;
        }
        if (ti <= lastT) continue;
        if (deleted && deleted.some((x) => x.minTime <= ti && ti <= x.maxTime)) continue;
        lastT = ti;
        if (words[2 * i + XOR_HI] === STALE_NAN_HI && words[2 * i + XOR_LO] === STALE_NAN_LO) {
          if (!keepStale) continue;
          (out.staleAt ??= []).push(j);
        }
        if (j !== i) {
          t[j] = ti;
          v[j] = v[i];
        }
        j++;
      }
      out.length = j;
      finishChunkColumns(this.block.chunks, c, err, n, decodedLastT);
    }
  }
}
