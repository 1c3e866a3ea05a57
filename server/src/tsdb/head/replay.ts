// WAL replay into a fresh head (Prometheus tsdb/head_wal.go): series records create
// series under their recorded refs, samples and checkpoint chunks go through the same
// apply path as commits, older-than-minValidTime and repeated samples are skipped.

import {XORIterator} from '../chunkenc/mod.ts';
import type {RefChunk, RefSeries, ReplayVisitor, SampleColumns} from '../wal/mod.ts';
import type {Head} from './head.ts';

export interface ReplayCounts {
  /** Samples whose series record was missing (e.g. lost with a corrupt segment). */
  unknownRefs: number;
  /** Samples before the min valid time (already in a block). */
  tooOld: number;
  /** Samples at or before their series' last sample (duplicates from checkpoint + segment overlap). */
  repeated: number;
  /** Checkpoint chunks that failed to decode. */
  badChunks: number;
}

export function replayVisitor(head: Head): {visitor: ReplayVisitor; counts: ReplayCounts; finish: () => void} {
  const counts: ReplayCounts = {unknownRefs: 0, tooOld: 0, repeated: 0, badChunks: 0};
  const aliases: number[] = [];
  const one = (ref: number, t: number, hi: number, lo: number): void => {
    const s = head.byRef.get(ref);
    if (s === undefined) counts.unknownRefs++;
    else if (t < head.minValidTime) counts.tooOld++;
    else if (t <= s.lastT) counts.repeated++;
    else head.applySample(s, t, hi, lo);
  };
  const visitor: ReplayVisitor = {
    series(list: RefSeries[]): void {
      for (const {ref, labels} of list) {
        const alias = head.replaySeries(ref, labels);
        if (alias !== null) aliases.push(alias);
      }
    },
    samples(c: SampleColumns): void {
      for (let i = 0; i < c.n; i++) one(c.ref[i], c.t[i], c.hi[i], c.lo[i]);
    },
    minValidTime(t: number): void {
      if (t > head.minValidTime) head.minValidTime = t;
    },
    chunks(list: RefChunk[]): void {
      for (const {ref, data} of list) {
        const it = new XORIterator(data);
        while (it.next()) one(ref, it.t, it.hi, it.lo);
        if (it.err !== null) counts.badChunks++;
      }
    },
  };
  const finish = (): void => {
    for (const a of aliases) head.dropAlias(a);
    for (const s of head.byRef.values()) s.touchGen = head.gen;
  };
  return {visitor, counts, finish};
}
