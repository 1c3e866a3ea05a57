// Query routes: upstream's POST /metrics/query_batch (its JSON, so its dashboard works
// against us) and a subset of Prometheus' HTTP API (/api/v1/query, query_range, series,
// labels, label/<name>/values) with Prometheus' parameters, JSON shapes, error types and
// status codes, so Grafana and prometheus-query clients can read the plugin's store.
//
// Both read head + local blocks + file-store blocks (remote/), so every HA node answers
// and ranges beyond the local retention are complete.
//
// Differences from upstream's query_batch, on purpose: NaN and ±Inf points are left out
// (JSON has no NaN; a missing point is a gap in the chart, where upstream's 0 drew a false
// value); ranges over 11,000 steps are evaluated in pieces (upstream's engine has no such
// limit, ours has Prometheus'); 400s carry the router's JSON body {"error": "bad request"}
// rather than Go's text/plain (same status and words).
//
// Differences from Prometheus: /api/v1/labels and label values without match[] name the
// labels of every local block, not only of those overlapping start..end (file-store blocks
// are restricted to the range); times of inf/nan or beyond int64 nanoseconds are refused
// (Prometheus overflows them into nonsense); answers missing file-store data (file store
// unreachable, a corrupt remote block) say so in "warnings"; 401/403/404/405 from the
// router get Prometheus' envelope (errorType unauthorized, forbidden, not_found,
// method_not_allowed) next to the router's "error".

import type {QueryOptions, QueryResult} from '../promql/mod.ts';
import {RemoteCacheTooSmallError} from '../remote/cache.ts';
import {estimateWindow, NoDataSourceError, openQuerySource, type StoreSources, withQuerySource} from '../remote/source.ts';
import {compareLabels, compareStrings, labelsKey, type Label, type Matcher} from '../tsdb/labels/mod.ts';
import type {SeriesSource} from '../tsdb/storage.ts';
import {
  BadDataError,
  LABEL_NAME_RE,
  MAX_TIME_MS,
  MIN_TIME_MS,
  matchParams,
  parseDurationParam,
  parseTime,
  requestParams,
  timeParam,
} from './prometheus-params.ts';
import {HttpError, type Router} from './router.ts';

/** The evaluator's surface this module uses (server/src/promql). */
export interface PromQLEngine {
  /** Throws PromQLError('bad_data') on a syntax error. */
  parseQuery(query: string): unknown;
  instantQuery(source: SeriesSource, query: string, timeMs: number, opts?: QueryOptions): Promise<QueryResult>;
  rangeQuery(source: SeriesSource, query: string, startMs: number, endMs: number, stepMs: number, opts?: QueryOptions): Promise<QueryResult>;
  toPrometheusData(result: QueryResult): unknown;
}

export interface QueryApiOptions {
  /** Where data is read from; null while the plugin is not collecting. */
  stores: () => StoreSources | null;
  engine?: PromQLEngine;
  /** Prometheus' defaults: 5 min lookback, 50 M samples; 2 min timeout (upstream's batch: 30 s). */
  lookbackDeltaMs?: number;
  maxSamples?: number;
  timeoutMs?: number;
  batchTimeoutMs?: number;
  /**
   * How long /api/v1/series, /labels and /label/<name>/values wait for the file store
   * before answering from the local data with a warning (default 30 s, as the batch:
   * these back editors' autocompletion, which should not hang on a stalled store).
   */
  metadataTimeoutMs?: number;
  now?: () => number;
}

export const DEFAULT_METADATA_TIMEOUT_MS = 30_000;

/** Options of the metadata routes (series, labels, label values). */
export interface MetadataOptions {
  signal?: AbortSignal;
  /** See QueryApiOptions.metadataTimeoutMs. */
  timeoutMs?: number;
}

export const MAX_BATCH_QUERIES = 50;
/** Upstream clamps the batch step up to one minute. */
export const MIN_BATCH_STEP_S = 60;
/** Prometheus' limit on points per series in query_range. */
export const MAX_POINTS_PER_SERIES = 11_000;

export type PrometheusErrorType = 'bad_data' | 'execution' | 'timeout' | 'canceled' | 'internal' | 'unavailable' | 'not_found';

/** The JSON body and status of one Prometheus API answer. */
export interface PrometheusAnswer {
  status: number;
  body: {status: 'success'; data: unknown; warnings?: string[]} | {status: 'error'; errorType: string; error: string};
}

const STATUS_BY_TYPE: Record<PrometheusErrorType, number> = {
  bad_data: 400,
  execution: 422,
  canceled: 499,
  timeout: 503,
  unavailable: 503,
  internal: 500,
  not_found: 404,
};

class ApiError extends Error {
  constructor(
    readonly type: PrometheusErrorType,
    message: string,
  ) {
    super(message);
  }
}

function failure(type: PrometheusErrorType, message: string): PrometheusAnswer {
  return {status: STATUS_BY_TYPE[type], body: {status: 'error', errorType: type, error: message}};
}

function success(data: unknown, warnings: string[]): PrometheusAnswer {
  return {status: 200, body: warnings.length > 0 ? {status: 'success', data, warnings} : {status: 'success', data}};
}

const PROMQL_TYPES = new Set(['bad_data', 'execution', 'timeout', 'canceled', 'too_many_samples']);

/** The PromQLError type of an evaluation failure, or null for anything else. */
function promqlErrorType(err: unknown): string | null {
  const t = (err as {type?: unknown} | null)?.type;
  return err instanceof Error && typeof t === 'string' && PROMQL_TYPES.has(t) ? t : null;
}

function toAnswer(err: unknown, parsePrefix: string): PrometheusAnswer {
  if (err instanceof ApiError) return failure(err.type, err.message);
  if (err instanceof BadDataError) return failure('bad_data', err.message);
  if (err instanceof RemoteCacheTooSmallError) return failure('execution', err.message);
  if (err instanceof NoDataSourceError) return failure('unavailable', err.message);
  const t = promqlErrorType(err);
  const msg = (err as Error).message;
  if (t === 'bad_data') return failure('bad_data', `${parsePrefix}${msg}`);
  if (t === 'timeout' || t === 'canceled') return failure(t, msg);
  if (t === 'execution' || t === 'too_many_samples') return failure('execution', msg);
  throw err;
}

/** Loaded on first use, so that the routes' module loads even where the evaluator is swapped (tests). */
async function defaultEngine(): Promise<PromQLEngine> {
  return (await import('../promql/mod.ts')) as PromQLEngine;
}

/** Instant or range query parameters, as strings (HTTP form values or CLI flags). */
export interface QueryParams {
  query: string;
  /** Instant query: evaluation time (default now). */
  time?: string;
  /** Range query: all three. */
  start?: string;
  end?: string;
  step?: string;
  timeout?: string;
}

/** Answers one /api/v1/query or /api/v1/query_range request; shared by the HTTP API and `mm-metrics query`. */
export async function answerQuery(kind: 'instant' | 'range', p: QueryParams, stores: StoreSources | null, opts: Omit<QueryApiOptions, 'stores'> & {signal?: AbortSignal} = {}): Promise<PrometheusAnswer> {
  const engine = opts.engine ?? (await defaultEngine());
  const lookback = opts.lookbackDeltaMs ?? 5 * 60_000;
  const param = <T>(name: string, parse: () => T): T => {
    try {
      return parse();
    } catch (err) {
      if (err instanceof BadDataError) throw new ApiError('bad_data', `invalid parameter ${JSON.stringify(name)}: ${err.message}`);
      throw err;
    }
  };
  try {
    let timeoutMs = opts.timeoutMs ?? 120_000;
    const queryOpts = (): QueryOptions => ({lookbackDeltaMs: lookback, maxSamples: opts.maxSamples ?? 50_000_000, timeoutMs, signal: opts.signal});
    if (kind === 'instant') {
      const time = p.time === undefined || p.time === '' ? (opts.now ?? Date.now)() : param('time', () => parseTimeWithWording('time', p.time!));
      if (p.timeout) timeoutMs = Math.min(timeoutMs, param('timeout', () => parseDurationParam(p.timeout!)));
      engine.parseQuery(p.query);
      if (!stores) throw new ApiError('unavailable', 'query engine not available: the plugin is not collecting on this node');
      const {value, warnings} = await withQuerySource(stores, estimateWindow(p.query, time, time, lookback), (src) => engine.instantQuery(src, p.query, time, queryOpts()), opts.signal, {
        waitMs: timeoutMs,
      });
      return success(engine.toPrometheusData(value), warnings);
    }
    const start = param('start', () => parseTime(p.start ?? ''));
    const end = param('end', () => parseTime(p.end ?? ''));
    if (end < start) throw new ApiError('bad_data', 'invalid parameter "end": end timestamp must not be before start time');
    const step = param('step', () => parseDurationParam(p.step ?? ''));
    if (!(step > 0)) throw new ApiError('bad_data', 'invalid parameter "step": zero or negative query resolution step widths are not accepted. Try a positive integer');
    // Go divides Durations as integers.
    if (Math.floor((end - start) / step) > MAX_POINTS_PER_SERIES) {
      throw new ApiError('bad_data', 'exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)');
    }
    if (p.timeout) timeoutMs = Math.min(timeoutMs, param('timeout', () => parseDurationParam(p.timeout!)));
    engine.parseQuery(p.query);
    if (!stores) throw new ApiError('unavailable', 'query engine not available: the plugin is not collecting on this node');
    const stepMs = Math.max(1, Math.trunc(step));
    const {value, warnings} = await withQuerySource(
      stores,
      estimateWindow(p.query, start, end, lookback),
      // The limit was checked above on the exact step; the evaluator sees whole milliseconds
      // (as Prometheus' engine does), which may be a few points more.
      (src) => rangeQueryUnlimited(engine, src, p.query, start, end, stepMs, queryOpts()),
      opts.signal,
      {waitMs: timeoutMs},
    );
    return success(engine.toPrometheusData(value), warnings);
  } catch (err) {
    return toAnswer(err, kind === 'instant' ? 'invalid parameter "query": ' : '');
  }
}

function parseTimeWithWording(name: string, v: string): number {
  try {
    return parseTime(v);
  } catch (err) {
    throw new BadDataError(`Invalid time value for '${name}': ${(err as Error).message}`);
  }
}

interface MetadataRequest {
  start: number;
  end: number;
  matchers: Matcher[][];
}

function metadataRequest(params: URLSearchParams, prefixMatchErrors: boolean): MetadataRequest {
  const start = wrapParam('start', () => timeParam(params, 'start', MIN_TIME_MS));
  const end = wrapParam('end', () => timeParam(params, 'end', MAX_TIME_MS));
  return {start, end, matchers: matchParams(params, prefixMatchErrors)};
}

function wrapParam<T>(name: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof BadDataError && !err.message.startsWith('invalid parameter')) throw new BadDataError(`invalid parameter ${JSON.stringify(name)}: ${err.message}`);
    throw err;
  }
}

const yieldToLoop = (): Promise<void> => new Promise((r) => setImmediate(r));

/** Label sets of series with data in [start, end] matching any of the matcher sets, sorted and deduplicated. */
async function matchingSeries(source: SeriesSource, sets: Matcher[][], start: number, end: number): Promise<Label[][]> {
  const seen = new Map<string, readonly Label[]>();
  let n = 0;
  for (const ms of sets) {
    for (const s of source.select(ms, start, end)) {
      const k = labelsKey(s.labels);
      if (!seen.has(k)) seen.set(k, s.labels);
      if (++n % 5000 === 0) await yieldToLoop();
    }
  }
  return [...seen.values()].map((l) => [...l]).sort(compareLabels);
}

function labelObject(labels: readonly Label[]): Record<string, string> {
  const o: Record<string, string> = {};
  for (const l of labels) o[l.name] = l.value;
  return o;
}

async function answerMetadata(
  stores: StoreSources | null,
  req: MetadataRequest,
  fn: (source: SeriesSource, req: MetadataRequest) => Promise<unknown>,
  opts: MetadataOptions,
): Promise<PrometheusAnswer> {
  if (!stores) return failure('unavailable', 'query engine not available: the plugin is not collecting on this node');
  // A slow file store: answer from what is here, with a warning (as the query routes do).
  const qs = await openQuerySource(stores, req.start, req.end, opts.signal, {waitMs: opts.timeoutMs ?? DEFAULT_METADATA_TIMEOUT_MS});
  try {
    return success(await fn(qs.source, req), qs.warnings);
  } finally {
    qs.release();
  }
}

/** /api/v1/series */
export async function answerSeries(params: URLSearchParams, stores: StoreSources | null, opts: MetadataOptions = {}): Promise<PrometheusAnswer> {
  try {
    if (params.getAll('match[]').length === 0) throw new BadDataError('no match[] parameter provided');
    const req = metadataRequest(params, true);
    return await answerMetadata(stores, req, async (src, r) => (await matchingSeries(src, r.matchers, r.start, r.end)).map(labelObject), opts);
  } catch (err) {
    return toAnswer(err, '');
  }
}

/** /api/v1/labels */
export async function answerLabels(params: URLSearchParams, stores: StoreSources | null, opts: MetadataOptions = {}): Promise<PrometheusAnswer> {
  try {
    const req = metadataRequest(params, false);
    return await answerMetadata(
      stores,
      req,
      async (src, r) => {
        if (r.matchers.length === 0) return src.labelNames();
        const names = new Set<string>();
        for (const s of await matchingSeries(src, r.matchers, r.start, r.end)) for (const l of s) names.add(l.name);
        return [...names].sort(compareStrings);
      },
      opts,
    );
  } catch (err) {
    return toAnswer(err, '');
  }
}

/** /api/v1/label/<name>/values */
export async function answerLabelValues(name: string, params: URLSearchParams, stores: StoreSources | null, opts: MetadataOptions = {}): Promise<PrometheusAnswer> {
  try {
    if (!LABEL_NAME_RE.test(name)) throw new BadDataError(`invalid label name: ${JSON.stringify(name)}`);
    const req = metadataRequest(params, false);
    return await answerMetadata(
      stores,
      req,
      async (src, r) => {
        if (r.matchers.length === 0) return src.labelValues(name);
        const values = new Set<string>();
        for (const s of await matchingSeries(src, r.matchers, r.start, r.end)) for (const l of s) if (l.name === name) values.add(l.value);
        return [...values].sort(compareStrings);
      },
      opts,
    );
  } catch (err) {
    return toAnswer(err, '');
  }
}

/** Upstream's QueryResult: `series` is null when `error` is set. */
export interface BatchQueryResult {
  query: string;
  series: Array<{metric: Record<string, string>; values: Array<[number, number]>}> | null;
  error?: string;
}

const isInt64 = (v: unknown): boolean => v === undefined || v === null || (typeof v === 'number' && Number.isInteger(v) && Math.abs(v) <= 9.223372036854776e18);

/** Decodes upstream's BatchQueryRequest as Go's encoding/json would accept it; null on anything it rejects. */
export function decodeBatchRequest(text: string): {start: number; end: number; step: number; queries: string[]} | null {
  let j: unknown;
  try {
    j = JSON.parse(text);
  } catch {
    return null;
  }
  if (j === null) return {start: 0, end: 0, step: 0, queries: []};
  if (typeof j !== 'object' || Array.isArray(j)) return null;
  // encoding/json matches field names case-insensitively; the last duplicate wins.
  const fields: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(j)) fields[k.toLowerCase()] = v;
  const {start, end, step, queries} = fields;
  if (!isInt64(start) || !isInt64(end)) return null;
  if (step !== undefined && step !== null && typeof step !== 'number') return null;
  if (queries !== undefined && queries !== null && (!Array.isArray(queries) || !queries.every((q) => typeof q === 'string' || q === null))) return null;
  return {
    start: (start as number | null) ?? 0,
    end: (end as number | null) ?? 0,
    step: (step as number | null) ?? 0,
    queries: ((queries as Array<string | null> | null) ?? []).map((q) => q ?? ''),
  };
}

/** One query of a batch, as upstream's QueryRange answers it (in-band errors). */
export async function batchQuery(
  query: string,
  range: {start: number; end: number; step: number},
  stores: StoreSources | null,
  opts: Omit<QueryApiOptions, 'stores'> & {signal?: AbortSignal} = {},
): Promise<BatchQueryResult> {
  if (!stores) return {query, series: null, error: 'query engine not available'};
  const engine = opts.engine ?? (await defaultEngine());
  const lookback = opts.lookbackDeltaMs ?? 5 * 60_000;
  const startMs = range.start * 1000;
  const endMs = range.end * 1000;
  const stepMs = Math.max(range.step, MIN_BATCH_STEP_S) * 1000;
  try {
    engine.parseQuery(query);
    const {value} = await withQuerySource(
      stores,
      estimateWindow(query, startMs, endMs, lookback),
      (src) => rangeQueryUnlimited(engine, src, query, startMs, endMs, stepMs, {lookbackDeltaMs: lookback, maxSamples: opts.maxSamples ?? 50_000_000, timeoutMs: opts.batchTimeoutMs ?? 30_000, signal: opts.signal}),
      opts.signal,
      {waitMs: opts.batchTimeoutMs ?? 30_000},
    );
    if (value.resultType !== 'matrix') return {query, series: null, error: 'unexpected result type'};
    return {
      query,
      series: value.result.map((s) => ({
        // Go encodes map keys sorted.
        metric: Object.fromEntries(Object.entries(s.metric).sort(([a], [b]) => compareStrings(a, b))),
        values: s.values.filter((x) => Number.isFinite(x.v)).map((x): [number, number] => [x.t / 1000, x.v]),
      })),
    };
  } catch (err) {
    const t = promqlErrorType(err);
    if (t === 'bad_data') return {query, series: null, error: `query error: ${(err as Error).message}`};
    if (t !== null || err instanceof RemoteCacheTooSmallError || err instanceof NoDataSourceError) return {query, series: null, error: (err as Error).message};
    throw err;
  }
}

/**
 * A range query without Prometheus' 11,000-points-per-series limit (upstream's batch has
 * none): longer ranges are evaluated in consecutive pieces (each step is evaluated on its
 * own, so this is exact) and the series joined. The timeout covers all pieces together.
 */
async function rangeQueryUnlimited(
  engine: PromQLEngine,
  source: SeriesSource,
  query: string,
  startMs: number,
  endMs: number,
  stepMs: number,
  opts: QueryOptions,
): Promise<QueryResult> {
  // `@ start()` / `@ end()` name the whole range: such queries are not split.
  const unsplittable = /@\s*(start|end)\s*\(/.test(query);
  if (endMs < startMs || (endMs - startMs) / stepMs <= MAX_POINTS_PER_SERIES || unsplittable) return engine.rangeQuery(source, query, startMs, endMs, stepMs, opts);
  const deadline = performance.now() + (opts.timeoutMs ?? 30_000);
  const joined = new Map<string, {metric: Record<string, string>; values: Array<{t: number; v: number}>}>();
  for (let from = startMs; from <= endMs; from += (MAX_POINTS_PER_SERIES + 1) * stepMs) {
    const to = Math.min(endMs, from + MAX_POINTS_PER_SERIES * stepMs);
    const part = await engine.rangeQuery(source, query, from, to, stepMs, {...opts, timeoutMs: Math.max(1, deadline - performance.now())});
    if (part.resultType !== 'matrix') return part;
    for (const s of part.result) {
      const key = JSON.stringify(Object.entries(s.metric).sort(([a], [b]) => compareStrings(a, b)));
      const have = joined.get(key);
      if (have) have.values.push(...s.values);
      else joined.set(key, {metric: s.metric, values: [...s.values]});
    }
  }
  const labelsOf = (m: Record<string, string>): Label[] => Object.entries(m).map(([name, value]) => ({name, value})).sort((a, b) => compareStrings(a.name, b.name));
  const result = [...joined.values()].sort((a, b) => compareLabels(labelsOf(a.metric), labelsOf(b.metric)));
  return {resultType: 'matrix', result};
}

function respond(a: PrometheusAnswer): Response {
  return Response.json(a.body, {status: a.status});
}

const QUERY_KEYS = ['query', 'time', 'start', 'end', 'step', 'timeout'] as const;

function queryParams(params: URLSearchParams): QueryParams {
  const out: QueryParams = {query: params.get('query') ?? ''};
  for (const k of QUERY_KEYS) {
    const v = params.get(k);
    if (k !== 'query' && v !== null) out[k] = v;
  }
  return out;
}

/** Adds the query routes (same admin check as every route: the router's). */
export function addQueryRoutes(router: Router, opts: QueryApiOptions): Router {
  const paramsOf = async (request: Request): Promise<URLSearchParams | Response> => {
    try {
      return await requestParams(request);
    } catch (err) {
      return respond(toAnswer(err, ''));
    }
  };
  const {stores, ...evalOpts} = opts;
  const metadataOpts = (request: Request): MetadataOptions => ({signal: request.signal, timeoutMs: opts.metadataTimeoutMs});
  for (const method of ['GET', 'POST']) {
    router
      .add(method, '/api/v1/query', async (request) => {
        const params = await paramsOf(request);
        if (params instanceof Response) return params;
        return respond(await answerQuery('instant', queryParams(params), stores(), {...evalOpts, signal: request.signal}));
      })
      .add(method, '/api/v1/query_range', async (request) => {
        const params = await paramsOf(request);
        if (params instanceof Response) return params;
        return respond(await answerQuery('range', queryParams(params), stores(), {...evalOpts, signal: request.signal}));
      })
      .add(method, '/api/v1/series', async (request) => {
        const params = await paramsOf(request);
        if (params instanceof Response) return params;
        return respond(await answerSeries(params, stores(), metadataOpts(request)));
      })
      .add(method, '/api/v1/labels', async (request) => {
        const params = await paramsOf(request);
        if (params instanceof Response) return params;
        return respond(await answerLabels(params, stores(), metadataOpts(request)));
      });
  }
  router.add('GET', '/api/v1/label/{name}/values', async (request, p) => {
    let name: string;
    try {
      name = decodeURIComponent(p.name ?? '');
    } catch {
      return respond(failure('bad_data', `invalid label name: ${JSON.stringify(p.name)}`));
    }
    return respond(await answerLabelValues(name, new URL(request.url).searchParams, stores(), metadataOpts(request)));
  });
  router.add('POST', '/metrics/query_batch', async (request) => {
    const req = decodeBatchRequest(await request.text());
    if (!req) throw new HttpError(400, 'bad request');
    if (req.queries.length > MAX_BATCH_QUERIES) throw new HttpError(400, `too many queries (max ${MAX_BATCH_QUERIES})`);
    const out: BatchQueryResult[] = [];
    // Sequential, as upstream: one evaluation at a time per request.
    for (const q of req.queries) out.push(await batchQuery(q, req, stores(), {...evalOpts, signal: request.signal}));
    return Response.json(out);
  });
  return router;
}

const ROUTER_ERROR_TYPES: Record<number, string> = {401: 'unauthorized', 403: 'forbidden', 404: 'not_found', 405: 'method_not_allowed', 500: 'internal', 503: 'unavailable'};

/**
 * The router answers 401/403/404/405/500 with {"error": …}; under /api/v1/ the body also
 * gets Prometheus' "status" and "errorType", so Prometheus clients show the reason.
 */
export async function withPrometheusErrorEnvelope(request: Request, response: Response): Promise<Response> {
  if (response.status < 400 || !new URL(request.url).pathname.startsWith('/api/v1/')) return response;
  if (!(response.headers.get('content-type') ?? '').includes('application/json')) return response;
  const body = (await response.clone().json().catch(() => null)) as Record<string, unknown> | null;
  if (!body || typeof body !== 'object' || 'status' in body || typeof body.error !== 'string') return response;
  const headers = new Headers(response.headers);
  headers.delete('content-length');
  const errorType = ROUTER_ERROR_TYPES[response.status] ?? (response.status >= 500 ? 'internal' : 'bad_data');
  return new Response(JSON.stringify({status: 'error', errorType, error: body.error}), {status: response.status, headers});
}
