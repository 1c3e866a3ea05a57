// Test helpers: a minimal OpenMetrics text parser (the subset promtool's backfill reads:
// samples with timestamps, escaped label values, NaN/±Inf) and a deterministic generator.
// Timestamp conversion copies Prometheus' parser: int64(seconds * 1000) (truncation).

import type {Sample, SeriesInput} from '../block/writer.ts';

export interface ParsedSeries {
  labels: Record<string, string>;
  samples: Sample[];
}

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)\s+(\S+)\s*$/;

function parseValue(s: string): number {
  if (s === 'NaN') return NaN;
  if (s === '+Inf' || s === 'Inf') return Infinity;
  if (s === '-Inf') return -Infinity;
  const v = Number(s);
  if (Number.isNaN(v)) throw new Error(`bad value ${s}`);
  return v;
}

function parseLabels(s: string, into: Record<string, string>): void {
  let i = 0;
  while (i < s.length) {
    const eq = s.indexOf('=', i);
    const name = s.slice(i, eq).trim();
    i = eq + 2; // skip ="
    let v = '';
    while (s[i] !== '"') {
      if (s[i] === '\\') {
        const c = s[i + 1];
        v += c === 'n' ? '\n' : c;
        i += 2;
      } else v += s[i++];
    }
    i++;
    if (s[i] === ',') i++;
    into[name] = v;
  }
}

/** Parses OpenMetrics text into series (in first-appearance order). */
export function parseOpenMetrics(text: string): ParsedSeries[] {
  const map = new Map<string, ParsedSeries>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = LINE.exec(line);
    if (!m) throw new Error(`cannot parse line: ${line}`);
    const labels: Record<string, string> = {__name__: m[1]};
    if (m[2]) parseLabels(m[2], labels);
    const key = JSON.stringify(Object.entries(labels).sort());
    let s = map.get(key);
    if (!s) map.set(key, (s = {labels, samples: []}));
    s.samples.push({t: Math.trunc(Number(m[4]) * 1000), v: parseValue(m[3])});
  }
  return [...map.values()];
}

const TWO_H = 2 * 3600 * 1000;

/** Splits series into promtool's epoch-aligned 2h windows: window start → series. */
export function splitWindows(series: ParsedSeries[]): Map<number, SeriesInput[]> {
  const out = new Map<number, SeriesInput[]>();
  for (const s of series) {
    const byWin = new Map<number, Sample[]>();
    for (const x of s.samples) {
      const w = Math.floor(x.t / TWO_H) * TWO_H;
      let arr = byWin.get(w);
      if (!arr) byWin.set(w, (arr = []));
      arr.push(x);
    }
    for (const [w, samples] of byWin) {
      let l = out.get(w);
      if (!l) out.set(w, (l = []));
      l.push({labels: s.labels, samples});
    }
  }
  return new Map([...out.entries()].sort((a, b) => a[0] - b[0]));
}

/** Deterministic PRNG (mulberry32). */
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = seed;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Generates OpenMetrics text shaped like real scrapes: integer/float counters,
 * integer and random-walk gauges, constants, occasional NaN/+Inf, escaped label values;
 * `jitter` adds ±5 ms timestamp noise. Starts at 2024-01-01T00:00:00Z.
 */
export function generateOpenMetrics(opts: {seriesPerFamily: number; samples: number; stepSec?: number; jitter?: boolean; seed?: number}): string {
  const r = rng(opts.seed ?? 42);
  const T0 = 1704067200;
  const step = opts.stepSec ?? 15;
  const ts = (i: number): string => {
    if (!opts.jitter) return String(T0 + i * step);
    return (T0 + i * step + (Math.floor(r() * 11) - 5) / 1000 + (i > 0 ? 0.005 : 0)).toFixed(3);
  };
  const lines: string[] = [];
  const N = opts.samples;
  const S = opts.seriesPerFamily;
  lines.push('# TYPE http_requests counter');
  for (let s = 0; s < S; s++) {
    let v = Math.floor(r() * 1e6);
    const rate = [0, 0.1, 1, 5, 20, 100][s % 6];
    const path = s % 7 === 3 ? '/a\\"b\\\\c\\nd' : `/api/v${s % 3}`;
    for (let i = 0; i < N; i++) {
      if (i) v += Math.floor(-Math.log(1 - r()) * rate);
      lines.push(`http_requests_total{instance="host${s % 10}:9100",path="${path}",code="${200 + (s % 2) * 300}",shard="${s}"} ${v} ${ts(i)}`);
    }
  }
  lines.push('# TYPE process_cpu_seconds counter');
  for (let s = 0; s < S; s++) {
    let v = r() * 10000;
    for (let i = 0; i < N; i++) {
      if (i) v += r() * 0.3;
      lines.push(`process_cpu_seconds_total{instance="host${s}:9100",job="node"} ${v} ${ts(i)}`);
    }
  }
  lines.push('# TYPE node_memory_bytes gauge');
  for (let s = 0; s < S; s++) {
    let v = Math.floor((1e8 + r() * 1e10) / 4096) * 4096;
    for (let i = 0; i < N; i++) {
      if (i && r() < 0.7) v += (Math.floor(r() * 4001) - 2000) * 4096;
      lines.push(`node_memory_bytes{instance="host${s}:9100",kind="k${s % 4}"} ${v} ${ts(i)}`);
    }
  }
  lines.push('# TYPE sensor_celsius gauge');
  for (let s = 0; s < S; s++) {
    let v = 15 + r() * 15;
    for (let i = 0; i < N; i++) {
      if (i) v += (r() - 0.5) * 0.1;
      const out = i % 97 === 13 ? 'NaN' : i % 89 === 7 ? '+Inf' : i % 83 === 5 ? '-Inf' : String(v);
      lines.push(`sensor_celsius{sensor="s${s}",room="é${s % 3}"} ${out} ${ts(i)}`);
    }
  }
  lines.push('# TYPE up_like gauge');
  for (let s = 0; s < S; s++) {
    for (let i = 0; i < N; i++) lines.push(`up_like{instance="host${s}:9100"} 1 ${ts(i)}`);
  }
  lines.push('# EOF');
  return lines.join('\n') + '\n';
}
