// The seam between where samples live (the in-memory head, persisted blocks) and
// who reads them (querier, compactor, dump builder, PromQL). Both sides code
// against this interface only.

import type {Matcher, ReadSample} from './block/mod.ts';
import type {Label} from './labels/mod.ts';

export type {Matcher, ReadSample};

/** One series with its samples in [mint, maxt] (inclusive), timestamps strictly increasing. */
export interface SeriesData {
  labels: readonly Label[];
  samples: Iterable<ReadSample>;
}

/** Anything that holds series over a time span: a block, the head, a merge of several. */
export interface SeriesSource {
  /** Inclusive lower bound of the samples held (ms); Infinity when empty. */
  readonly minTime: number;
  /** Inclusive upper bound of the samples held (ms); -Infinity when empty. */
  readonly maxTime: number;
  /** Series matching every matcher (PromQL semantics), sorted by labels, samples limited to [mint, maxt]. */
  select(matchers: readonly Matcher[], mint: number, maxt: number): Iterable<SeriesData>;
  labelNames(matchers?: readonly Matcher[]): string[];
  labelValues(name: string, matchers?: readonly Matcher[]): string[];
}
