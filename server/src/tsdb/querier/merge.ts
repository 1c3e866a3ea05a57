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
    this.sources = [...sources];
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
      let i = 0;
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
    return top;
  }
}

/** k-way merge of label-sorted series sets; equal label sets are merged sample-wise. */
export function* mergeSeriesSets(sets: readonly Iterable<SeriesData>[]): IterableIterator<SeriesData> {
  const heap = new CursorHeap();
  const iters: Iterator<SeriesData>[] = [];
  try {
    sets.forEach((s, idx) => {
      const it = s[Symbol.iterator]();
      iters.push(it);
      const r = it.next();
      if (!r.done) heap.push({it, cur: r.value, idx});
    });
    const group: SeriesData[] = [];
    for (;;) {
      const first = heap.pop();
      if (first === undefined) return;
      group.length = 0;
      group.push(first.cur);
      const advance = (c: Cursor): void => {
        const r = c.it.next();
        if (!r.done) {
          if (compareLabels(c.cur.labels, r.value.labels) >= 0) throw new Error('series set not sorted by labels');
          c.cur = r.value;
          heap.push(c);
        }
      };
      while (heap.h.length > 0 && compareLabels(heap.h[0].cur.labels, first.cur.labels) === 0) {
        const c = heap.pop()!;
        group.push(c.cur);
        advance(c);
      }
      advance(first);
      yield group.length === 1 ? group[0] : {labels: group[0].labels, samples: mergeSamples(group.map((g) => g.samples))};
    }
  } finally {
    for (const it of iters) it.return?.();
  }
}

/** Merges time-ordered sample streams into one, collapsing equal timestamps (preferSample). */
export function mergeSamples(streams: readonly Iterable<ReadSample>[]): Iterable<ReadSample> {
  if (streams.length === 1) return streams[0];
  return {
    *[Symbol.iterator](): Iterator<ReadSample> {
      const its = streams.map((s) => s[Symbol.iterator]());
      const cur: (ReadSample | undefined)[] = its.map((it) => {
        const r = it.next();
        return r.done ? undefined : r.value;
      });
      try {
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
      } finally {
        for (const it of its) it.return?.();
      }
    },
  };
}
