// memorySource: a SeriesSource over series held in memory. A reference implementation
// of the interface (tests, small fixtures); values are stored with their raw bits the
// way blocks store them (any NaN → Go's math.NaN(), stale → Prometheus' stale NaN).

import type {ReadSample, Sample} from '../block/mod.ts';
import {GO_NAN_HI, GO_NAN_LO, STALE_NAN_HI, STALE_NAN_LO} from '../chunkenc/mod.ts';
import {type Label, type Labels, compareLabels, compareStrings, labelsKey, toLabels} from '../labels/mod.ts';
import type {Matcher, SeriesData, SeriesSource} from '../storage.ts';
import {compileMatchers, matchesAll} from './matchers.ts';

const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);
const LITTLE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** The sample as a block would return it. */
export function toReadSample(s: Sample): ReadSample {
  if (s.stale) return {t: s.t, v: NaN, stale: true, hi: STALE_NAN_HI, lo: STALE_NAN_LO};
  if (s.hi !== undefined && s.lo !== undefined) {
    u32[LITTLE ? 1 : 0] = s.hi;
    u32[LITTLE ? 0 : 1] = s.lo;
    return {t: s.t, v: f64[0], stale: s.hi === STALE_NAN_HI && s.lo === STALE_NAN_LO, hi: s.hi >>> 0, lo: s.lo >>> 0};
  }
  if (Number.isNaN(s.v)) return {t: s.t, v: NaN, stale: false, hi: GO_NAN_HI, lo: GO_NAN_LO};
  f64[0] = s.v;
  return {t: s.t, v: s.v, stale: false, hi: u32[LITTLE ? 1 : 0], lo: u32[LITTLE ? 0 : 1]};
}

interface MemSeries {
  labels: Label[];
  samples: ReadSample[];
}

export function memorySource(series: Iterable<{labels: Labels | Readonly<Record<string, string>>; samples: Iterable<Sample>}>): SeriesSource {
  const byKey = new Map<string, MemSeries>();
  for (const s of series) {
    const labels = toLabels(s.labels);
    const key = labelsKey(labels);
    const m = byKey.get(key) ?? {labels, samples: []};
    byKey.set(key, m);
    for (const x of s.samples) m.samples.push(toReadSample(x));
  }
  const list = [...byKey.values()].filter((s) => s.samples.length > 0);
  for (const s of list) {
    s.samples.sort((a, b) => a.t - b.t); // stable: the first sample at a timestamp wins
    s.samples = s.samples.filter((x, i, a) => i === 0 || a[i - 1].t !== x.t);
  }
  list.sort((a, b) => compareLabels(a.labels, b.labels));
  let minTime = Infinity;
  let maxTime = -Infinity;
  for (const s of list) {
    minTime = Math.min(minTime, s.samples[0].t);
    maxTime = Math.max(maxTime, s.samples[s.samples.length - 1].t);
  }
  const selectAll = (matchers: readonly Matcher[]): MemSeries[] => {
    const ms = compileMatchers(matchers);
    return list.filter((s) => matchesAll(s.labels, ms));
  };
  return {
    minTime,
    maxTime,
    *select(matchers, mint, maxt) {
      for (const s of selectAll(matchers)) {
        const samples = s.samples.filter((x) => x.t >= mint && x.t <= maxt);
        if (samples.length > 0) yield {labels: s.labels, samples} satisfies SeriesData;
      }
    },
    labelNames(matchers = []) {
      const set = new Set<string>();
      for (const s of selectAll(matchers)) for (const l of s.labels) set.add(l.name);
      return [...set].sort(compareStrings);
    },
    labelValues(name, matchers = []) {
      const set = new Set<string>();
      for (const s of selectAll(matchers)) for (const l of s.labels) if (l.name === name) set.add(l.value);
      return [...set].sort(compareStrings);
    },
  };
}
