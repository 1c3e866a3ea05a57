// The store's heavy operations as plain functions of serialisable inputs, so they
// can run in a worker thread (server/src/worker) or inline (the CLI, tests).

import {type BlockMeta, writeSortedBlock} from './block/mod.ts';
import {compact, type CompactResult} from './compact/mod.ts';
import type {Label} from './labels/mod.ts';
import {applyRetention, type RetentionResult} from './retention/mod.ts';
export {importPrometheusWal} from './promwal/mod.ts';

/** A log line produced in a worker, replayed by the caller's logger. */
export interface LogEntry {
  level: 'info' | 'warn';
  message: string;
  fields?: Record<string, unknown>;
}

function collectingLogger(entries: LogEntry[]) {
  return {
    info: (message: string, fields?: Record<string, unknown>) => entries.push({level: 'info', message, fields}),
    warn: (message: string, fields?: Record<string, unknown>) => entries.push({level: 'warn', message, fields}),
  };
}

/** Head data for one block, in columns (typed arrays travel between threads without copying). */
export interface PackedSeries {
  labels: Label[];
  t: Float64Array;
  /** Raw IEEE-754 words of each value (bit-exact: NaN payloads, stale markers). */
  hi: Uint32Array;
  lo: Uint32Array;
}

export interface WriteHeadBlockInput {
  dir: string;
  mint: number;
  /** Exclusive. */
  maxt: number;
  symbols: string[];
  series: PackedSeries[];
  fsync?: boolean;
}

const STALE_HI = 0x7ff00000;
const STALE_LO = 2;

export function writeHeadBlock(input: WriteHeadBlockInput): {meta: BlockMeta} {
  const series = input.series.map((s) => ({
    labels: s.labels,
    samples: (function* () {
      for (let i = 0; i < s.t.length; i++) {
        const hi = s.hi[i];
        const lo = s.lo[i];
        yield {t: s.t[i], v: 0, hi, lo, stale: hi === STALE_HI && lo === STALE_LO};
      }
    })(),
  }));
  const res = writeSortedBlock(input.dir, input.symbols, series, {minTime: input.mint, maxTime: input.maxt, fsync: input.fsync});
  return {meta: res.meta};
}

export interface CompactInput {
  dir: string;
  ranges?: number[];
  fsync?: boolean;
}

export function compactDataDir(input: CompactInput): {result: CompactResult; logs: LogEntry[]} {
  const logs: LogEntry[] = [];
  const result = compact(input.dir, {ranges: input.ranges, fsync: input.fsync, logger: collectingLogger(logs)});
  return {result, logs};
}

export interface RetentionInput {
  dir: string;
  retentionMs?: number;
  maxBytes?: number;
  headBytes?: number;
  keep?: readonly string[];
  fsync?: boolean;
}

export function retainDataDir(input: RetentionInput): {result: RetentionResult; logs: LogEntry[]} {
  const logs: LogEntry[] = [];
  const result = applyRetention(input.dir, {...input, logger: collectingLogger(logs)});
  return {result, logs};
}
