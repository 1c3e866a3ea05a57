// Test doubles for the dashboard's data path: Prometheus API bodies, an axios adapter
// that answers like a Prometheus server, and a scripted RangeQuery.
import type {AxiosAdapter, AxiosResponse, InternalAxiosRequestConfig} from 'axios';

import type {RangeQuery, SeriesData} from '../query_client.ts';
import type {QueryWindow} from '../time_range.ts';

export type SampleValue = number | 'NaN' | '+Inf' | '-Inf';

/** A Prometheus `query_range` success body: values are strings, as Prometheus sends them. */
export function matrixBody(series: {metric: Record<string, string>; values: [number, SampleValue][]}[]): unknown {
  return {
    status: 'success',
    data: {resultType: 'matrix', result: series.map((s) => ({metric: s.metric, values: s.values.map(([t, v]) => [t, String(v)])}))},
  };
}

export interface RecordedRequest {
  url: string;
  params: Record<string, string>;
  headers: Record<string, string>;
  signal?: unknown;
}

/** An axios adapter that records each request and answers with `respond(request)`. */
export function fakeAdapter(
  respond: (req: RecordedRequest) => {status: number; data: unknown; statusText?: string} | Promise<{status: number; data: unknown; statusText?: string}>,
): {adapter: AxiosAdapter; requests: RecordedRequest[]} {
  const requests: RecordedRequest[] = [];
  const adapter: AxiosAdapter = async (config: InternalAxiosRequestConfig) => {
    const params: Record<string, string> = {};
    (config.params as URLSearchParams | undefined)?.forEach((v, k) => {
      params[k] = v;
    });
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(config.headers.toJSON())) headers[k] = String(v);
    const req: RecordedRequest = {url: `${config.baseURL ?? ''}${config.url ?? ''}`, params, headers, signal: config.signal};
    requests.push(req);
    const signal = config.signal as AbortSignal | undefined;
    if (signal?.aborted) throw Object.assign(new Error('canceled'), {code: 'ERR_CANCELED', isAxiosError: true});
    const {status, data, statusText} = await respond(req);
    const response: AxiosResponse = {status, data, statusText: statusText ?? '', headers: {}, config, request: {}};
    const validate = config.validateStatus ?? ((s: number) => s >= 200 && s < 300);
    if (!validate(status)) {
      throw Object.assign(new Error(`Request failed with status code ${status}`), {isAxiosError: true, response, config});
    }
    return response;
  };
  return {adapter, requests};
}

/** A series on the query grid of `w` whose value at each point is `value(t)`. */
export function gridSeries(w: QueryWindow, labels: Record<string, string>, value: (t: number) => number | null): SeriesData {
  const times: number[] = [];
  const values: (number | null)[] = [];
  for (let t = w.start; t <= w.end; t += w.stepSeconds) {
    times.push(t);
    values.push(value(t));
  }
  return {labels, times, values};
}

export interface ScriptedCall {
  expr: string;
  window: QueryWindow;
  signal: AbortSignal;
}

export interface ScriptedQuery {
  query: RangeQuery;
  calls: ScriptedCall[];
}

/** A RangeQuery answering from `answer(expr, window)` (throw to fail that query). */
export function scriptedQuery(answer: (expr: string, w: QueryWindow) => SeriesData[] | Promise<SeriesData[]>): ScriptedQuery {
  const calls: ScriptedCall[] = [];
  const query: RangeQuery = async (expr, window, signal) => {
    calls.push({expr, window, signal});
    return answer(expr, window);
  };
  return {query, calls};
}
