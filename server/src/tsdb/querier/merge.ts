// mergeSources: one SeriesSource over the head and any number of blocks, overlapping
// or not. Series with identical label sets become one time-ordered stream; samples with
// the same timestamp collapse to one (Prometheus' rule for overlapping blocks).
//
// Conflicts (same series, same timestamp, different value bits) resolve by VALUE, not by
// source: a real sample beats a stale marker, then the larger raw IEEE-754 bit pattern
// (hi, then lo, unsigned) wins. The rule is commutative and associative, so the result
// does not depend on the order of sources, on which blocks were compacted together first,
// or on whether a compaction's parents and child are both still on disk. (Prometheus
// picks whichever iterator its heap yields first, which depends on block order.)

import type {ReadSample} from '../block/mod.ts';
import {compareLabels, compareStrings} from '../labels/mod.ts';
import type {Matcher, SeriesData, SeriesSource} from '../storage.ts';
import {type ColumnarSamples, type SampleColumns, appendIterated, isColumnar} from './columns.ts';

/** True if `a` wins over `b` at the same timestamp (see the file comment). */
export function preferSample(a: ReadSample, b: ReadSample): boolean {
  if (a.stale !== b.stale) return !a.stale;
  const ah = a.hi >>> 0;
  const bh = b.hi >>> 0;
  if (ah !== bh) return ah > bh;
  return a.lo >>> 0 > b.lo >>> 0;
}

export function mergeSources(sources: readonly SeriesSource[]): SeriesSource {
  return new MergedSource(sources);
}

class MergedSource implements SeriesSource {
  readonly minTime: number;
  readonly maxTime: number;
  private readonly sources: readonly SeriesSource[];

  constructor(sources: readonly SeriesSource[]) {
    // A merge of merges (local store + file-store blocks) is one merge of all their
    // sources: the same result (the dedupe does not depend on grouping), and blocks
    // keep their bounds, so disjoint ones are still chained.
    this.sources = sources.flatMap((s) => (s instanceof MergedSource ? s.sources : [s]));
    this.minTime = Math.min(Infinity, ...sources.map((s) => s.minTime));
    this.maxTime = Math.max(-Infinity, ...sources.map((s) => s.maxTime));
  }

  select(matchers: readonly Matcher[], mint: number, maxt: number): Iterable<SeriesData> {
    const live = this.sources.filter((s) => s.minTime <= maxt && s.maxTime >= mint && s.minTime <= s.maxTime);
    if (live.length === 1) return live[0].select(matchers, mint, maxt);
    return mergeSeriesSets(live.map((s) => s.select(matchers, mint, maxt)));
  }

  labelNames(matchers?: readonly Matcher[]): string[] {
    return unionSorted(this.sources.map((s) => s.labelNames(matchers)));
  }

  labelValues(name: string, matchers?: readonly Matcher[]): string[] {
    return unionSorted(this.sources.map((s) => s.labelValues(name, matchers)));
  }
}

function unionSorted(lists: string[][]): string[] {
  const set = new Set<string>();
  for (const l of lists) for (const x of l) set.add(x);
  return [...set].sort(compareStrings);
}

interface Cursor {
  it: Iterator<SeriesData>;
  cur: SeriesData;
  /** Position among the sources: ties between equal label sets keep source order. */
  idx: number;
}

function cursorLess(a: Cursor, b: Cursor): boolean {
  const c = compareLabels(a.cur.labels, b.cur.labels);
  return c < 0 || (c === 0 && a.idx < b.idx);
}

/** A binary min-heap of cursors ordered by label set. */
class CursorHeap {
  readonly h: Cursor[] = [];

  push(c: Cursor): void {
    const h = this.h;
    h.push(c);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!cursorLess(h[i], h[p])) break;
      [h[i], h[p]] = [h[p], h[i]];
      i = p;
    }
  }

  pop(): Cursor | undefined {
    const h = this.h;
    const top = h[0];
    const last = h.pop();
    if (h.length > 0 && last !== undefined) {
      h[0] = last;
      this.siftDown(0);
    }
    return top;
  }

  /** Restores the heap order after the array was changed freely. */
  heapify(): void {
    for (let i = (this.h.length >> 1) - 1; i >= 0; i--) this.siftDown(i);
  }

  private siftDown(i: number): void {
    const h = this.h;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && cursorLess(h[l], h[m])) m = l;
      if (r < h.length && cursorLess(h[r], h[m])) m = r;
      if (m === i) break;
      [h[i], h[m]] = [h[m], h[i]];
      i = m;
    }
  }
}

/**
 * k-way merge of label-sorted series sets; equal label sets are merged sample-wise.
 *
 * Blocks of one store mostly hold the same series, so most groups take a cursor from
 * every set. Popping such a group off the heap costs about 2·k·log k label
 * comparisons; one pass over the cursors costs k. The pass is used while the last
 * group was large (at least a quarter of the cursors), the heap otherwise (series that
 * come and go between blocks).
 */
export function* mergeSeriesSets(sets: readonly Iterable<SeriesData>[]): IterableIterator<SeriesData> {
  const heap = new CursorHeap();
  const iters: Iterator<SeriesData>[] = [];
  /** Moves a cursor to its set's next series; false when the set is done. */
  const step = (c: Cursor): boolean => {
    const r = c.it.next();
    if (r.done) return false;
    if (compareLabels(c.cur.labels, r.value.labels) >= 0) throw new Error('series set not sorted by labels');
    c.cur = r.value;
    return true;
  };
  try {
    sets.forEach((s, idx) => {
      const it = s[Symbol.iterator]();
      iters.push(it);
      const r = it.next();
      if (!r.done) heap.push({it, cur: r.value, idx});
    });
    const group: Cursor[] = [];
    let ordered = true;
    let lastGroup = heap.h.length;
    for (;;) {
      const h = heap.h;
      if (h.length === 0) return;
      group.length = 0;
      if (lastGroup * 4 >= h.length) {
        let best = h[0];
        group.push(best);
        for (let i = 1; i < h.length; i++) {
          const c = h[i];
          const d = compareLabels(c.cur.labels, best.cur.labels);
          if (d < 0) {
            best = c;
            group.length = 0;
            group.push(c);
          } else if (d === 0) {
            group.push(c);
          }
        }
        if (group.length > 1) group.sort((a, b) => a.idx - b.idx);
        const out = group.length === 1 ? group[0].cur : {labels: group[0].cur.labels, samples: mergeSamples(group.map((c) => c.cur.samples))};
        let exhausted = false;
        for (const c of group) {
          if (!step(c)) {
            c.idx = -1;
            exhausted = true;
          }
        }
        if (exhausted) {
          let j = 0;
          for (const c of h) if (c.idx >= 0) h[j++] = c;
          h.length = j;
        }
        ordered = false;
        lastGroup = group.length;
        yield out;
        continue;
      }
      if (!ordered) {
        heap.heapify();
        ordered = true;
      }
      const first = heap.pop()!;
      group.push(first);
      while (heap.h.length > 0 && compareLabels(heap.h[0].cur.labels, first.cur.labels) === 0) group.push(heap.pop()!);
      const out = group.length === 1 ? group[0].cur : {labels: group[0].cur.labels, samples: mergeSamples(group.map((g) => g.cur.samples))};
      for (const c of group) if (step(c)) heap.push(c);
      lastGroup = group.length;
      yield out;
    }
  } finally {
    for (const it of iters) it.return?.();
  }
}

/**
 * Merges time-ordered sample streams into one, collapsing equal timestamps (preferSample).
 *
 * Streams of one series usually come from blocks that do not overlap in time. Those are
 * chained end to end; only streams whose spans overlap are merged sample by sample.
 * A stream's span is its declared bounds (ColumnarSamples) or, for other streams, from
 * its first sample to the end of time. Chaining disjoint spans gives exactly what the
 * sample-wise merge would.
 */
export function mergeSamples(streams: readonly Iterable<ReadSample>[]): Iterable<ReadSample> {
  if (streams.length === 1) return streams[0];
  return new MergedSamples(streams);
}

/** One stream of a merge, with the span its samples can lie in. */
interface Part {
  samples: Iterable<ReadSample>;
  lo: number;
  hi: number;
  idx: number;
  /** For streams without bounds: the iterator opened to read the first sample, and that sample. */
  it: Iterator<ReadSample> | null;
  first: ReadSample | null;
}

class MergedSamples implements ColumnarSamples {
  readonly lowerBound: number;
  readonly upperBound: number;

  constructor(private readonly streams: readonly Iterable<ReadSample>[]) {
    let lo = Infinity;
    let hi = -Infinity;
    for (const s of streams) {
      if (!isColumnar(s)) {
        lo = -Infinity;
        hi = Infinity;
        break;
      }
      lo = Math.min(lo, s.lowerBound);
      hi = Math.max(hi, s.upperBound);
    }
    this.lowerBound = lo;
    this.upperBound = hi;
  }

  /**
   * The streams grouped into time-ordered clusters: a cluster's spans overlap (chained
   * through each other), different clusters do not. Opens the iterators of streams
   * without bounds (to read their first sample); `opened` collects them for closing.
   */
  private clusters(opened: Iterator<ReadSample>[]): Part[][] {
    const parts: Part[] = [];
    this.streams.forEach((samples, idx) => {
      // A nested merge over unbounded streams declares infinite bounds: peek at it instead.
      if (isColumnar(samples) && samples.lowerBound > -Infinity) {
        if (samples.lowerBound <= samples.upperBound) parts.push({samples, lo: samples.lowerBound, hi: samples.upperBound, idx, it: null, first: null});
        return;
      }
      const it = samples[Symbol.iterator]();
      opened.push(it);
      const r = it.next();
      if (!r.done) parts.push({samples, lo: r.value.t, hi: Infinity, idx, it, first: r.value});
    });
    parts.sort((a, b) => a.lo - b.lo || a.idx - b.idx);
    const out: Part[][] = [];
    let clusterHi = -Infinity;
    for (const p of parts) {
      if (out.length === 0 || p.lo > clusterHi) {
        out.push([p]);
        clusterHi = p.hi;
      } else {
        out[out.length - 1].push(p);
        clusterHi = Math.max(clusterHi, p.hi);
      }
    }
    return out;
  }

  *[Symbol.iterator](): Iterator<ReadSample> {
    const opened: Iterator<ReadSample>[] = [];
    try {
      for (const cluster of this.clusters(opened)) {
        if (cluster.length === 1) {
          const p = cluster[0];
          if (p.it === null) {
            yield* p.samples;
          } else {
            yield p.first!;
            for (let r = p.it.next(); !r.done; r = p.it.next()) yield r.value;
          }
        } else {
          yield* mergeOverlapping(cluster, opened);
        }
      }
    } finally {
      for (const it of opened) it.return?.();
    }
  }

  appendTo(out: SampleColumns, keepStale: boolean): void {
    const opened: Iterator<ReadSample>[] = [];
    try {
      for (const cluster of this.clusters(opened)) {
        if (cluster.length === 1) {
          const p = cluster[0];
          if (p.it === null) {
            (p.samples as ColumnarSamples).appendTo(out, keepStale);
          } else {
            appendIterated(oneThen(p.first!, p.it), out, keepStale);
          }
        } else {
          appendIterated(mergeOverlapping(cluster, opened), out, keepStale);
        }
      }
    } finally {
      for (const it of opened) it.return?.();
    }
  }
}

/** An iterator yielding `first`, then the rest of `it`. */
function oneThen(first: ReadSample, it: Iterator<ReadSample>): Iterator<ReadSample> {
  let pending = true;
  return {
    next: () => {
      if (pending) {
        pending = false;
        return {done: false, value: first};
      }
      return it.next();
    },
  };
}

/** The sample-by-sample merge of streams whose spans overlap. */
function* mergeOverlapping(parts: readonly Part[], opened: Iterator<ReadSample>[]): Generator<ReadSample, void, undefined> {
  const its = parts.map((p) => {
    if (p.it !== null) return p.it;
    const it = p.samples[Symbol.iterator]();
    opened.push(it);
    return it;
  });
  const cur: (ReadSample | undefined)[] = parts.map((p, i) => {
    if (p.first !== null) return p.first;
    const r = its[i].next();
    return r.done ? undefined : r.value;
  });
  for (;;) {
    let best: ReadSample | undefined;
    for (const c of cur) {
      if (c === undefined) continue;
      if (best === undefined || c.t < best.t || (c.t === best.t && preferSample(c, best))) best = c;
    }
    if (best === undefined) return;
    const t = best.t;
    yield best;
    for (let i = 0; i < its.length; i++) {
      // Skip everything at t (and anything not after it, should a stream misbehave).
      while (cur[i] !== undefined && cur[i]!.t <= t) {
        const r = its[i].next();
        cur[i] = r.done ? undefined : r.value;
      }
    }
  }
}
