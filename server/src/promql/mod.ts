// Public surface of the PromQL evaluator (issue #8): parse, instant and range queries
// over any SeriesSource (head + local blocks + file-store blocks), and the Prometheus
// HTTP API's JSON for the results. Semantics follow Prometheus 2.42 (Debian's), which a
// differential test checks against the real binary.

import {compareLabels} from '../tsdb/labels/mod.ts';
import type {SeriesSource} from '../tsdb/storage.ts';
import {type Expr, documentedType, parseExpr, typeOf} from './ast.ts';
import {type EvalContext, Evaluator, type Matrix} from './engine.ts';
import {PromQLError, badData, execError} from './errors.ts';
import {formatGoFloat, formatTimestamp} from './format.ts';
import {toRecord} from './labels.ts';

export {PromQLError};
export type {Expr};

export interface QueryOptions {
  /** Default 300000 (5 min). */
  lookbackDeltaMs?: number;
  /** Default 50_000_000. */
  maxSamples?: number;
  /** Default 30000. */
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Step of subqueries written without one; default 60000 (Prometheus' default evaluation_interval). */
  defaultSubqueryStepMs?: number;
}

export interface Sample {
  t: number;
  v: number;
}

export interface SeriesResult {
  metric: Record<string, string>;
  values: Sample[];
}

export interface VectorElement {
  metric: Record<string, string>;
  t: number;
  v: number;
}

export type QueryResult =
  | {resultType: 'matrix'; result: SeriesResult[]}
  | {resultType: 'vector'; result: VectorElement[]}
  | {resultType: 'scalar'; result: Sample}
  | {resultType: 'string'; result: {t: number; v: string}};

/** Prometheus' limit on points per series in a range query. */
export const MAX_POINTS_PER_SERIES = 11_000;

/** Parses and type-checks; throws PromQLError('bad_data') with a position on errors. */
export function parseQuery(query: string): unknown {
  return parseExpr(query);
}

function makeContext(source: SeriesSource, start: number, end: number, opts: QueryOptions): EvalContext {
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const now = performance.now();
  return {
    source,
    lookbackMs: opts.lookbackDeltaMs ?? 300_000,
    maxSamples: opts.maxSamples ?? 50_000_000,
    current: 0,
    deadline: now + timeoutMs,
    timeoutMs,
    signal: opts.signal,
    lastYield: now,
    ops: 0,
    queryStart: start,
    queryEnd: end,
    defaultSubqueryStepMs: opts.defaultSubqueryStepMs ?? 60_000,
  };
}

async function run(ev: Evaluator, expr: Expr): Promise<Matrix> {
  if (ev.ctx.signal?.aborted) throw new PromQLError('canceled', 'query was canceled in expression evaluation');
  try {
    return await ev.eval(expr);
  } catch (err) {
    if (err instanceof PromQLError) throw err;
    throw execError((err as Error).message ?? String(err));
  }
}

function checkTime(name: string, ms: number): void {
  if (!Number.isFinite(ms)) throw badData(`invalid ${name}: ${ms}`);
}

export async function instantQuery(source: SeriesSource, query: string, timeMs: number, opts: QueryOptions = {}): Promise<QueryResult> {
  checkTime('time', timeMs);
  const expr = parseExpr(query);
  if (expr.kind === 'string') return {resultType: 'string', result: {t: timeMs, v: expr.value}};
  const ev = new Evaluator(makeContext(source, timeMs, timeMs, opts), timeMs, timeMs, 1);
  const mat = await run(ev, expr);
  switch (typeOf(expr)) {
    case 'scalar':
      return {resultType: 'scalar', result: {t: timeMs, v: mat[0].v[0]}};
    case 'matrix':
      return {resultType: 'matrix', result: mat.map((s) => ({metric: toRecord(s.labels), values: s.t.map((t, i) => ({t, v: s.v[i]}))}))};
    default:
      return {resultType: 'vector', result: mat.map((s) => ({metric: toRecord(s.labels), t: timeMs, v: s.v[0]}))};
  }
}

export async function rangeQuery(source: SeriesSource, query: string, startMs: number, endMs: number, stepMs: number, opts: QueryOptions = {}): Promise<QueryResult> {
  checkTime('start', startMs);
  checkTime('end', endMs);
  if (endMs < startMs) throw badData('end timestamp must not be before start time');
  if (!(stepMs > 0)) throw badData('zero or negative query resolution step widths are not accepted. Try a positive integer');
  if ((endMs - startMs) / stepMs > MAX_POINTS_PER_SERIES) {
    throw badData('exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)');
  }
  const expr = parseExpr(query);
  const t = typeOf(expr);
  if (t !== 'vector' && t !== 'scalar') {
    throw badData(`invalid expression type ${JSON.stringify(documentedType(t))} for range query, must be Scalar or instant Vector`);
  }
  const ev = new Evaluator(makeContext(source, startMs, endMs, opts), startMs, endMs, stepMs);
  const mat = await run(ev, expr);
  const sorted = mat.slice().sort((a, b) => compareLabels(a.labels, b.labels));
  return {resultType: 'matrix', result: sorted.map((s) => ({metric: toRecord(s.labels), values: s.t.map((t, i) => ({t, v: s.v[i]}))}))};
}

type PromPair = [number, string];

/** The `data` object of Prometheus' /api/v1/query and /api/v1/query_range. */
export function toPrometheusData(result: QueryResult): unknown {
  const pair = (t: number, v: number): PromPair => [formatTimestamp(t), formatGoFloat(v)];
  switch (result.resultType) {
    case 'matrix':
      return {resultType: 'matrix', result: result.result.map((s) => ({metric: s.metric, values: s.values.map((p) => pair(p.t, p.v))}))};
    case 'vector':
      return {resultType: 'vector', result: result.result.map((e) => ({metric: e.metric, value: pair(e.t, e.v)}))};
    case 'scalar':
      return {resultType: 'scalar', result: pair(result.result.t, result.result.v)};
    case 'string':
      return {resultType: 'string', result: [formatTimestamp(result.result.t), result.result.v]};
  }
}
