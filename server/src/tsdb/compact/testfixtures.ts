// Test-only fixtures for compact/ tests: deterministic Mattermost-like blocks and an
// independent reference of what a deduplicating merge must return.

import fs from 'node:fs';
import path from 'node:path';
import type {ReadSample, Sample, SeriesInput} from '../block/mod.ts';
import {labelsString, toLabels} from '../labels/mod.ts';
import {toReadSample} from '../querier/mod.ts';
import type {SeriesSource} from '../storage.ts';

export const H = 3_600_000;
export const DAY0 = Date.UTC(2025, 2, 10);

/** Series of one "scrape target" over [t0, t1) at `step` ms, `offset` ms after the grid. */
export function genSeries(n: number, t0: number, t1: number, opts: {step?: number; offset?: number; instance?: string; bump?: (i: number) => number} = {}): SeriesInput[] {
  const step = opts.step ?? 60_000;
  const out: SeriesInput[] = [];
  for (let s = 0; s < n; s++) {
    const samples: Sample[] = [];
    let i = 0;
    for (let t = t0 + (opts.offset ?? 0); t < t1; t += step, i++) {
      const k = Math.floor(t / step);
      if (s % 7 === 3 && k % 97 === 5) samples.push({t, v: 0, stale: true});
      else samples.push({t, v: (s % 3 === 0 ? k * 10 : Math.sin(k + s) * 100) + (opts.bump?.(i) ?? 0)});
    }
    out.push({
      labels: {
        __name__: s % 2 ? 'mattermost_http_request_duration_seconds_bucket' : 'mattermost_db_master_connections_total',
        instance: opts.instance ?? 'app-1:8067',
        le: String(s),
      },
      samples,
    });
  }
  return out;
}

/** label string → t → winning sample, under the documented rule (real over stale, larger bits). */
export type Expected = Map<string, Map<number, ReadSample>>;

export function addExpected(exp: Expected, series: readonly SeriesInput[]): void {
  const rank = (s: ReadSample): bigint => (s.stale ? 0n : 1n << 64n) + ((BigInt(s.hi >>> 0) << 32n) | BigInt(s.lo >>> 0));
  for (const s of series) {
    const key = labelsString(toLabels(s.labels));
    const m = exp.get(key) ?? new Map<number, ReadSample>();
    exp.set(key, m);
    for (const x of s.samples) {
      const r = toReadSample(x);
      const cur = m.get(x.t);
      if (!cur || rank(r) > rank(cur)) m.set(x.t, r);
    }
  }
}

/** Everything a source returns, as label string → [t, hi, lo][] (for deepEqual). */
export function dumpSource(src: SeriesSource): Map<string, [number, number, number][]> {
  const out = new Map<string, [number, number, number][]>();
  for (const s of src.select([], -Infinity, Infinity)) {
    const key = labelsString(s.labels);
    if (out.has(key)) throw new Error(`series ${key} returned twice`);
    out.set(key, [...s.samples].map((x) => [x.t, x.hi, x.lo]));
  }
  return out;
}

export function dumpExpected(exp: Expected): Map<string, [number, number, number][]> {
  const out = new Map<string, [number, number, number][]>();
  for (const [k, m] of exp) out.set(k, [...m.values()].sort((a, b) => a.t - b.t).map((x) => [x.t, x.hi, x.lo]));
  return out;
}

export function dirNames(dataDir: string): string[] {
  return fs.existsSync(dataDir) ? fs.readdirSync(dataDir).sort() : [];
}

export function blockDirs(dataDir: string): string[] {
  return dirNames(dataDir)
    .filter((n) => /^[0-9A-Z]{26}$/.test(n))
    .map((n) => path.join(dataDir, n));
}
