// Range queries against the plugin's Prometheus-compatible API
// (`<basename>/plugins/<id>/api/v1/query_range`) through prometheus-query's PrometheusDriver,
// plus the batch runner the dashboard uses (bounded concurrency, abortable).
import {PrometheusDriver} from 'prometheus-query';
import type {AxiosAdapter, AxiosError, AxiosResponse, InternalAxiosRequestConfig} from 'axios';

import {id as pluginId} from '../../../plugin.json';

import type {Labels} from './panels.ts';
import type {QueryWindow} from './time_range.ts';

/** One series of a range-query result, as the chart wants it. */
export interface SeriesData {
  labels: Labels;
  /** Unix seconds, ascending. */
  times: number[];
  /** Same length as `times`; NaN/±Inf from Prometheus become null (a gap, never a zero). */
  values: (number | null)[];
}

export type RangeQuery = (expr: string, window: QueryWindow, signal: AbortSignal) => Promise<SeriesData[]>;

export interface PrometheusClientOptions {
  /** Defaults to `${window.basename || ''}/plugins/<plugin id>`. */
  pluginBase?: string;
  /** Per-request timeout; the server's engine gives up after 30 s too. */
  timeoutMs?: number;
  /** Replaces axios's transport (tests). */
  adapter?: AxiosAdapter;
}

declare global {
  interface Window {
    /** Set by the Mattermost web app when it is served under a subpath. */
    basename?: string;
  }
}

export function defaultPluginBase(): string {
  return `${window.basename || ''}/plugins/${pluginId}`;
}

/** The MMCSRF cookie the Mattermost web app sends back as X-CSRF-Token. */
export function csrfToken(cookie: string = document.cookie): string {
  for (const part of cookie.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === 'MMCSRF') return decodeURIComponent(part.slice(eq + 1).trim());
  }
  return '';
}

/** Thrown for an aborted query; callers ignore it. */
export class QueryAbortedError extends Error {
  override name = 'QueryAbortedError';
}

/**
 * The driver rejects with plain objects ({errorType, error, httpStatus}); this turns
 * them into an Error whose message is fit to show in a panel.
 */
export function queryErrorMessage(e: unknown): string {
  if (e instanceof Error) return e.message;
  if (e && typeof e === 'object') {
    const o = e as {error?: unknown; httpStatus?: unknown; errorType?: unknown};
    const text = typeof o.error === 'string' && o.error !== '' ? o.error : String(o.errorType ?? 'query failed');
    return typeof o.httpStatus === 'number' && !text.startsWith('HTTP ') ? `HTTP ${o.httpStatus}: ${text}` : text;
  }
  return String(e);
}

/**
 * A non-Prometheus error body (the Mattermost router's "Not authorized", a proxy's HTML
 * page) would surface as the driver's "unexpected client error"; give it Prometheus's
 * error shape so the status and text reach the user.
 */
function normaliseErrorBody(err: AxiosError): Promise<never> {
  const res = err.response as AxiosResponse | undefined;
  if (res && (res.data == null || typeof res.data !== 'object' || (res.data as {status?: unknown}).status == null)) {
    const raw = typeof res.data === 'string' ? res.data.trim() : '';
    const text = raw && !raw.startsWith('<') ? raw.slice(0, 300) : res.statusText || 'request failed';
    res.data = {status: 'error', errorType: 'http', error: `HTTP ${res.status}: ${text}`};
  }
  return Promise.reject(err);
}

interface DriverMatrix {
  resultType: string;
  result: {metric: {name?: string; labels?: Record<string, string>} | null; values: {time: Date; value: number}[]}[];
}

function toSeries(res: DriverMatrix): SeriesData[] {
  if (res.resultType !== 'matrix') throw new Error(`unexpected result type "${res.resultType}"`);
  return res.result.map((rv) => {
    const labels: Labels = {...(rv.metric?.labels ?? {})};
    if (rv.metric?.name) labels.__name__ = rv.metric.name;
    const n = rv.values.length;
    const times = new Array<number>(n);
    const values = new Array<number | null>(n);
    for (let i = 0; i < n; i++) {
      const s = rv.values[i];
      times[i] = s.time.getTime() / 1000;
      values[i] = Number.isFinite(s.value) ? s.value : null;
    }
    return {labels, times, values};
  });
}

/** A RangeQuery that talks to the plugin's Prometheus API with the user's session. */
export function createPrometheusQuery(options: PrometheusClientOptions = {}): RangeQuery {
  const timeoutMs = options.timeoutMs ?? 30_000;
  return async (expr, window, signal) => {
    if (signal.aborted) throw new QueryAbortedError('aborted');
    // A driver per query: its only per-request hook is an interceptor, and the abort
    // signal belongs to this query. axios.create() is cheap.
    const driver = new PrometheusDriver({
      endpoint: options.pluginBase ?? defaultPluginBase(),
      baseURL: '/api/v1/',
      timeout: timeoutMs,
      requestInterceptor: {
        onFulfilled: (config: InternalAxiosRequestConfig) => {
          config.signal = signal;
          config.headers.set('X-Requested-With', 'XMLHttpRequest');
          const token = csrfToken();
          if (token) config.headers.set('X-CSRF-Token', token);
          if (options.adapter) config.adapter = options.adapter;
          return config;
        },
      },
      responseInterceptor: {onFulfilled: (r: AxiosResponse) => r, onRejected: normaliseErrorBody},
    });
    try {
      // The driver takes milliseconds and sends seconds.
      const res = await driver.rangeQuery(expr, window.start * 1000, window.end * 1000, window.stepSeconds);
      return toSeries(res as unknown as DriverMatrix);
    } catch (e) {
      if (signal.aborted) throw new QueryAbortedError('aborted');
      throw new Error(queryErrorMessage(e), {cause: e});
    }
  };
}

export type QueryOutcome = {series: SeriesData[]; error?: undefined} | {series?: undefined; error: string};

/**
 * Runs `exprs` with at most `concurrency` in flight, reporting each outcome as it lands
 * (in completion order). Stops starting new queries once `signal` aborts; aborted
 * queries are not reported.
 */
export async function runQueries(
  query: RangeQuery,
  exprs: readonly string[],
  window: QueryWindow,
  signal: AbortSignal,
  onOutcome: (index: number, outcome: QueryOutcome) => void,
  concurrency = 6,
): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < exprs.length && !signal.aborted) {
      const i = next++;
      let outcome: QueryOutcome;
      try {
        outcome = {series: await query(exprs[i], window, signal)};
      } catch (e) {
        if (signal.aborted || e instanceof QueryAbortedError) return;
        outcome = {error: queryErrorMessage(e)};
      }
      if (signal.aborted) return;
      onOutcome(i, outcome);
    }
  };
  await Promise.all(Array.from({length: Math.min(concurrency, exprs.length)}, worker));
}

/**
 * Wraps `query` so that at most `max` calls are in flight across every batch that uses the
 * wrapper (the main refresh and a section expanded meanwhile). A call aborted while it
 * waits for a slot rejects with QueryAbortedError and never reaches the server.
 */
export function limitConcurrency(query: RangeQuery, max: number): RangeQuery {
  let running = 0;
  const waiting: (() => void)[] = [];
  // A finishing call hands its slot straight to the next waiter, so a newcomer cannot
  // slip in between and make it max + 1.
  const release = (): void => {
    const next = waiting.shift();
    if (next) next();
    else running--;
  };
  return async (expr, window, signal) => {
    if (running >= max) {
      await new Promise<void>((resolve, reject) => {
        const wake = (): void => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        };
        const onAbort = (): void => {
          const at = waiting.indexOf(wake);
          if (at >= 0) waiting.splice(at, 1);
          reject(new QueryAbortedError('aborted'));
        };
        if (signal.aborted) return onAbort();
        waiting.push(wake);
        signal.addEventListener('abort', onAbort, {once: true});
      });
    } else {
      running++;
    }
    try {
      return await query(expr, window, signal);
    } finally {
      release();
    }
  };
}
