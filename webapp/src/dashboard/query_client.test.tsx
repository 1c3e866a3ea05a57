import {afterEach, describe, expect, it} from 'vitest';

import {QueryAbortedError, createPrometheusQuery, csrfToken, limitConcurrency, runQueries} from './query_client.ts';
import type {QueryOutcome, RangeQuery} from './query_client.ts';
import {fakeAdapter, matrixBody} from './testing/fake_prometheus.ts';

const WINDOW = {start: 1_767_225_600, end: 1_767_229_200, stepSeconds: 60};
const PLUGIN = '/plugins/com.mattermost.mattermost-plugin-metrics';

afterEach(() => {
  delete window.basename;
  document.cookie = 'MMCSRF=; expires=Thu, 01 Jan 1970 00:00:00 GMT';
});

describe('createPrometheusQuery', () => {
  it('sends a Prometheus query_range under the plugin path with the session headers', async () => {
    window.basename = '/chat';
    document.cookie = 'MMCSRF=tok%2Ben';
    const {adapter, requests} = fakeAdapter(() => ({status: 200, data: matrixBody([])}));
    const query = createPrometheusQuery({adapter});
    await query('sum(rate(x[2m]))', WINDOW, new AbortController().signal);
    expect(requests).toHaveLength(1);
    expect(requests[0].url).toBe(`/chat${PLUGIN}/api/v1/query_range`);
    expect(requests[0].params).toEqual({query: 'sum(rate(x[2m]))', start: '1767225600', end: '1767229200', step: '60'});
    expect(requests[0].headers['X-Requested-With']).toBe('XMLHttpRequest');
    expect(requests[0].headers['X-CSRF-Token']).toBe('tok+en');
  });

  it('turns samples into seconds and numbers, NaN and ±Inf into null gaps', async () => {
    const {adapter} = fakeAdapter(() => ({
      status: 200,
      data: matrixBody([{metric: {__name__: 'up', instance: 'a:8067'}, values: [[100, 1.5], [160, 'NaN'], [220, '+Inf'], [280, '-Inf'], [340, 0]]}]),
    }));
    const [series] = await createPrometheusQuery({adapter})('up', WINDOW, new AbortController().signal);
    expect(series.labels).toEqual({__name__: 'up', instance: 'a:8067'});
    expect(series.times).toEqual([100, 160, 220, 280, 340]);
    expect(series.values).toEqual([1.5, null, null, null, 0]);
  });

  it('reports a Prometheus error body', async () => {
    const {adapter} = fakeAdapter(() => ({
      status: 400,
      data: {status: 'error', errorType: 'bad_data', error: '1:5: parse error: unclosed left parenthesis'},
    }));
    await expect(createPrometheusQuery({adapter})('bad(', WINDOW, new AbortController().signal))
      .rejects.toThrow('HTTP 400: 1:5: parse error: unclosed left parenthesis');
  });

  it('reports a plain-text error from the Mattermost router with its status', async () => {
    const {adapter} = fakeAdapter(() => ({status: 401, data: 'Not authorized\n', statusText: 'Unauthorized'}));
    await expect(createPrometheusQuery({adapter})('up', WINDOW, new AbortController().signal))
      .rejects.toThrow('HTTP 401: Not authorized');
  });

  it('rejects with QueryAbortedError once aborted', async () => {
    const controller = new AbortController();
    const {adapter} = fakeAdapter(async (req) => {
      controller.abort();
      expect((req.signal as AbortSignal).aborted).toBe(true);
      throw Object.assign(new Error('canceled'), {code: 'ERR_CANCELED', isAxiosError: true});
    });
    await expect(createPrometheusQuery({adapter})('up', WINDOW, controller.signal)).rejects.toBeInstanceOf(QueryAbortedError);
  });

  it('reads the MMCSRF cookie among others', () => {
    expect(csrfToken('a=1; MMCSRF=abc; b=2')).toBe('abc');
    expect(csrfToken('a=1')).toBe('');
  });
});

describe('runQueries', () => {
  it('keeps at most `concurrency` queries in flight and reports every outcome', async () => {
    let inFlight = 0;
    let peak = 0;
    const query: RangeQuery = async (expr) => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      await new Promise((r) => setTimeout(r, 1));
      inFlight--;
      if (expr === 'q7') throw new Error('boom');
      return [];
    };
    const outcomes = new Map<number, QueryOutcome>();
    const exprs = Array.from({length: 20}, (_, i) => `q${i}`);
    await runQueries(query, exprs, WINDOW, new AbortController().signal, (i, o) => outcomes.set(i, o), 6);
    expect(peak).toBe(6);
    expect(outcomes.size).toBe(20);
    expect(outcomes.get(7)).toEqual({error: 'boom'});
    expect(outcomes.get(8)).toEqual({series: []});
  });

  it('stops starting queries and reports nothing after an abort', async () => {
    const controller = new AbortController();
    const started: string[] = [];
    const query: RangeQuery = async (expr) => {
      started.push(expr);
      controller.abort();
      return [];
    };
    const reported: number[] = [];
    await runQueries(query, ['a', 'b', 'c', 'd'], WINDOW, controller.signal, (i) => reported.push(i), 2);
    expect(started.length).toBeLessThanOrEqual(2);
    expect(reported).toEqual([]);
  });
});

describe('limitConcurrency', () => {
  it('bounds the calls in flight across batches, and a call aborted while waiting never runs', async () => {
    let inFlight = 0;
    let peak = 0;
    const ran: string[] = [];
    const limited = limitConcurrency(async (expr) => {
      ran.push(expr);
      inFlight++;
      peak = Math.max(peak, inFlight);
      await new Promise((r) => setTimeout(r, 2));
      inFlight--;
      return [];
    }, 3);
    const aborted = new AbortController();
    const batchA = runQueries(limited, ['a0', 'a1', 'a2', 'a3', 'a4'], WINDOW, new AbortController().signal, () => undefined, 3);
    const batchB = runQueries(limited, ['b0', 'b1', 'b2', 'b3'], WINDOW, new AbortController().signal, () => undefined, 3);
    const waiting = limited('gone', WINDOW, aborted.signal);
    aborted.abort();
    await expect(waiting).rejects.toBeInstanceOf(QueryAbortedError);
    await Promise.all([batchA, batchB]);
    expect(peak).toBe(3);
    expect(ran).toHaveLength(9);
    expect(ran).not.toContain('gone');
  });
});
