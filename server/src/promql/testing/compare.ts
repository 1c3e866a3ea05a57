// Comparing our results with a real Prometheus' /api/v1 answers: same series sets (label
// sets), same timestamps, values equal within a relative error of 1e-9 (NaN equals NaN).

import type {RunningPrometheus} from '../../tsdb/testing/prometheus.ts';

export type PromAnswer = {ok: true; data: {resultType: string; result: unknown}} | {ok: false; errorType: string; error: string};

export async function promQuery(p: RunningPrometheus, params: Record<string, string>, path: 'query' | 'query_range'): Promise<PromAnswer> {
  const body = new URLSearchParams(params);
  const r = await fetch(`${p.url}/api/v1/${path}`, {method: 'POST', body});
  const j = (await r.json()) as {status: string; data?: {resultType: string; result: unknown}; errorType?: string; error?: string};
  if (j.status === 'success' && j.data) return {ok: true, data: j.data};
  return {ok: false, errorType: j.errorType ?? '', error: j.error ?? ''};
}

type Pair = [number, string];

/** Normalises a data object to resultType + label-key → points. */
function normalise(data: {resultType: string; result: unknown}): {type: string; series: Map<string, Pair[]>} {
  const series = new Map<string, Pair[]>();
  const key = (m: Record<string, string>): string =>
    JSON.stringify(
      Object.entries(m).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
    );
  switch (data.resultType) {
    case 'matrix':
      for (const s of data.result as {metric: Record<string, string>; values: Pair[]}[]) {
        const k = key(s.metric);
        if (series.has(k)) throw new Error(`duplicate series ${k}`);
        series.set(k, s.values);
      }
      break;
    case 'vector':
      for (const s of data.result as {metric: Record<string, string>; value: Pair}[]) {
        const k = key(s.metric);
        if (series.has(k)) throw new Error(`duplicate series ${k}`);
        series.set(k, [s.value]);
      }
      break;
    default:
      series.set('', [data.result as Pair]);
  }
  return {type: data.resultType, series};
}

export const REL_TOLERANCE = 1e-9;

function valuesEqual(a: string, b: string): boolean {
  if (a === b) return true;
  const x = Number(a === '+Inf' ? 'Infinity' : a === '-Inf' ? '-Infinity' : a);
  const y = Number(b === '+Inf' ? 'Infinity' : b === '-Inf' ? '-Infinity' : b);
  if (Number.isNaN(x) || Number.isNaN(y)) return Number.isNaN(x) && Number.isNaN(y);
  if (!Number.isFinite(x) || !Number.isFinite(y)) return x === y;
  return Math.abs(x - y) <= REL_TOLERANCE * Math.max(Math.abs(x), Math.abs(y));
}

/** Returns null when equal, else a description of the first difference. */
export function diffAnswers(ours: PromAnswer, theirs: PromAnswer): string | null {
  if (!ours.ok || !theirs.ok) {
    if (!ours.ok && !theirs.ok) return null;
    return ours.ok ? `Prometheus failed (${theirs.ok ? '' : theirs.error}) but we answered` : `we failed (${ours.error}) but Prometheus answered`;
  }
  const a = normalise(ours.data);
  const b = normalise(theirs.data);
  if (a.type !== b.type) return `resultType ${a.type} vs ${b.type}`;
  for (const k of b.series.keys()) if (!a.series.has(k)) return `missing series ${k} (we have ${a.series.size}, Prometheus ${b.series.size})`;
  for (const k of a.series.keys()) if (!b.series.has(k)) return `extra series ${k} (we have ${a.series.size}, Prometheus ${b.series.size})`;
  for (const [k, pa] of a.series) {
    const pb = b.series.get(k)!;
    if (pa.length !== pb.length) {
      const ta = new Set(pa.map((p) => p[0]));
      const tb = new Set(pb.map((p) => p[0]));
      const onlyA = pa.filter((p) => !tb.has(p[0])).slice(0, 3);
      const onlyB = pb.filter((p) => !ta.has(p[0])).slice(0, 3);
      return `series ${k}: ${pa.length} points vs ${pb.length}; only ours ${JSON.stringify(onlyA)}, only theirs ${JSON.stringify(onlyB)}`;
    }
    for (let i = 0; i < pa.length; i++) {
      if (Math.abs(pa[i][0] - pb[i][0]) > 1e-6) return `series ${k}: timestamp ${pa[i][0]} vs ${pb[i][0]}`;
      if (!valuesEqual(pa[i][1], pb[i][1])) return `series ${k} @${pa[i][0]}: value ${pa[i][1]} vs ${pb[i][1]}`;
    }
  }
  return null;
}
