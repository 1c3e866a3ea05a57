// Bulk reading of a series' samples into typed arrays. Iterating ReadSample objects
// costs an allocation and a generator resume per sample; the PromQL evaluator reads
// millions of samples per query and only wants (t, v) plus where the stale markers are.
// Streams that know how (block chunks, merges of them) decode straight into the arrays;
// any other Iterable<ReadSample> (the head, memory sources) is iterated.

import type {ReadSample} from '../block/mod.ts';
import {XORColumns} from '../chunkenc/mod.ts';

/**
 * Samples as parallel typed arrays: the first `length` entries of t and v are the
 * samples (capacity may be larger); `staleAt` lists indexes of stale markers (null: none).
 */
export class SampleColumns extends XORColumns {
  length = 0;
  staleAt: number[] | null = null;

  /** `capacity`: expected sample count (growing costs a copy). */
  constructor(capacity = 0) {
    super();
    if (capacity > 0) this.ensure(capacity);
  }

  push(t: number, v: number): void {
    const i = this.length;
    if (i >= this.t.length) this.ensure(i + 1);
    this.t[i] = t;
    this.v[i] = v;
    this.length = i + 1;
  }
}

/** A sample stream that can append itself to columns without per-sample objects. */
export interface ColumnarSamples extends Iterable<ReadSample> {
  /** No sample of the stream is before this (ms, inclusive). */
  readonly lowerBound: number;
  /** No sample of the stream is after this (ms, inclusive). */
  readonly upperBound: number;
  /**
   * Appends the stream's samples in order: exactly what iterating yields, stale markers
   * included (indexes recorded in staleAt) or, with keepStale false, left out.
   */
  appendTo(out: SampleColumns, keepStale: boolean): void;
}

export function isColumnar(samples: Iterable<ReadSample>): samples is ColumnarSamples {
  return typeof (samples as Partial<ColumnarSamples>).appendTo === 'function';
}

/** Appends every sample of `samples` to `out` (see ColumnarSamples.appendTo). */
export function appendSamples(samples: Iterable<ReadSample>, out: SampleColumns, keepStale: boolean): void {
  if (isColumnar(samples)) {
    samples.appendTo(out, keepStale);
    return;
  }
  appendIterated(samples[Symbol.iterator](), out, keepStale);
}

/** Drains an iterator into `out`. */
export function appendIterated(it: Iterator<ReadSample>, out: SampleColumns, keepStale: boolean): void {
  for (let r = it.next(); !r.done; r = it.next()) {
    const s = r.value;
    if (s.stale) {
      if (!keepStale) continue;
      (out.staleAt ??= []).push(out.length);
    }
    out.push(s.t, s.v);
  }
}
