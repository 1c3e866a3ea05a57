import {act, fireEvent, render, screen, waitFor, within} from '@testing-library/react';
import React from 'react';
import {IntlProvider} from 'react-intl';
import {afterEach, describe, expect, it, vi} from 'vitest';

import {Dashboard, REFRESH_INTERVAL_MS} from './dashboard.tsx';
import {SECTIONS, allQueries} from './panels.ts';
import type {SeriesData} from './query_client.ts';
import {gridSeries, scriptedQuery} from './testing/fake_prometheus.ts';
import {plotIn, plots, settle} from './testing/recording_uplot.ts';
import {renderWithIntl} from './testing/render.tsx';
import type {QueryWindow} from './time_range.ts';

vi.mock('uplot', () => import('./testing/recording_uplot.ts'));

const NOW = 1_767_225_600 + 1234;
const HTTP = 'sum by (instance) (rate(mattermost_http_requests_total[2m]))';
const API_P99 = 'histogram_quantile(0.99, sum(rate(mattermost_api_time_bucket[2m])) by (le))';
const API_P50 = 'histogram_quantile(0.50, sum(rate(mattermost_api_time_bucket[2m])) by (le))';
const CPU = 'irate(mattermost_process_cpu_seconds_total[5m]) * 100';
const QUERY_COUNT = allQueries().length;

/** HTTP: two nodes; API latency: p99 fails, p50 answers; CPU: a node whose NaN samples must be gaps. */
function answer(expr: string, w: QueryWindow): SeriesData[] {
  if (expr === HTTP) {
    return [gridSeries(w, {instance: 'node-a:8067'}, () => 5), gridSeries(w, {instance: 'node-b:8067'}, () => 7)];
  }
  if (expr === API_P99) throw new Error('HTTP 422: query timed out in expression evaluation');
  if (expr === API_P50) return [gridSeries(w, {}, () => 0.02)];
  if (expr === CPU) return [gridSeries(w, {instance: 'node-a:8067'}, (t) => ((t / w.stepSeconds) % 3 === 0 ? null : 40))];
  return [];
}

function panel(id: string): HTMLElement {
  return screen.getByTestId(`panel-${id}`);
}

async function renderDashboard(
  answerFn: (expr: string, w: QueryWindow) => SeriesData[] | Promise<SeriesData[]> = answer,
  now = () => NOW,
) {
  const scripted = scriptedQuery(answerFn);
  const view = renderWithIntl(<Dashboard query={scripted.query} now={now}/>);
  await waitFor(() => expect(screen.getByText(/^Updated /)).toBeTruthy(), {timeout: 5000});
  return {...scripted, view};
}

afterEach(() => {
  vi.useRealTimers();
  plots.length = 0;
});

describe('Dashboard', () => {
  it('queries all 36 expressions over the last hour at a 60 s step and draws per-node series', async () => {
    const {calls} = await renderDashboard();
    expect(screen.getAllByRole('group')).toHaveLength(26);
    expect(calls.map((c) => c.expr).sort()).toEqual([...allQueries()].sort());
    expect(calls).toHaveLength(QUERY_COUNT);
    for (const c of calls) expect(c.window).toEqual({start: Math.floor((NOW - 3600) / 60) * 60, end: NOW, stepSeconds: 60});

    const http = panel('httpRequests');
    expect(within(http).getByText('node-a:8067')).toBeTruthy();
    expect(within(http).getByText('node-b:8067')).toBeTruthy();
    expect(plotIn(http)?.scales.x.min).toBe(calls[0].window.start);
    expect(screen.getByText(/^Updated /)).toBeTruthy();
  });

  it('draws every panel when the answers land in reverse order', async () => {
    const exprs = allQueries();
    await renderDashboard(async (expr, w) => {
      // The first queries answer last: later slots fill before earlier ones.
      await new Promise((resolve) => setTimeout(resolve, exprs.length - exprs.indexOf(expr)));
      return answer(expr, w);
    });
    expect(screen.queryByText('Loading…')).toBeNull();
    expect(within(panel('httpRequests')).getByText('node-b:8067')).toBeTruthy();
    expect(within(panel('cpu')).getByText('node-a:8067')).toBeTruthy();
  });

  it('shows "No data" for a panel whose queries return no series', async () => {
    await renderDashboard();
    expect(within(panel('goroutines')).getByText('No data')).toBeTruthy();
    expect(plotIn(panel('goroutines'))).toBeUndefined();
  });

  it('shows a failing query\'s error in its panel, next to the data of the queries that worked', async () => {
    const {calls} = await renderDashboard((expr, w) => {
      if (expr === 'sum(mattermost_jobs_active)') throw new Error('HTTP 400: parse error');
      return answer(expr, w);
    });
    expect(calls).toHaveLength(QUERY_COUNT);
    expect(within(panel('activeJobs')).getByRole('alert').textContent).toBe('HTTP 400: parse error');
    const api = panel('apiLatency');
    expect(within(api).getByText('p50')).toBeTruthy();
    expect(within(api).getByRole('alert').textContent).toBe('HTTP 422: query timed out in expression evaluation');
    expect(screen.queryByText(/Could not load metrics/)).toBeNull();
  });

  it('says so once when every query fails', async () => {
    await renderDashboard(() => {
      throw new Error('HTTP 403: Forbidden');
    });
    expect(screen.getByText('Could not load metrics: HTTP 403: Forbidden')).toBeTruthy();
  });

  it('draws NaN samples as gaps, not zeros', async () => {
    await renderDashboard();
    const plot = plotIn(panel('cpu'))!;
    const values = plot.data[1] as (number | null)[];
    expect(values).toContain(null);
    expect(values).not.toContain(0);
    const times = plot.data[0] as ArrayLike<number>;
    values.forEach((v, i) => expect(v).toBe((times[i] / 60) % 3 === 0 ? null : 40));
  });

  it('re-queries with the window and step of a chosen quick range', async () => {
    const {calls} = await renderDashboard();
    calls.length = 0;
    fireEvent.click(screen.getByRole('button', {name: /^Time range:/}));
    fireEvent.click(screen.getByRole('button', {name: 'Last 7 days'}));
    await waitFor(() => expect(calls).toHaveLength(QUERY_COUNT));
    for (const c of calls) expect(c.window).toEqual({start: Math.floor((NOW - 604_800) / 1800) * 1800, end: NOW, stepSeconds: 1800});
    await waitFor(() => expect(within(panel('httpRequests')).getByText('node-a:8067')).toBeTruthy());
    expect(screen.getByRole('button', {name: 'Time range: Last 7 days'})).toBeTruthy();
  });

  it('turns a drag on a chart into an absolute range for every panel, with the step for its length', async () => {
    const {calls} = await renderDashboard();
    const plot = plotIn(panel('httpRequests'))!;
    await settle();
    calls.length = 0;
    const start = Math.round(plot.posToVal(40, 'x'));
    const end = Math.round(plot.posToVal(140, 'x'));
    await act(async () => {
      plot.setSelect({left: 40, top: 0, width: 100, height: 10});
      await settle();
    });
    await waitFor(() => expect(calls).toHaveLength(QUERY_COUNT));
    expect(end - start).toBeLessThan(3600);
    for (const c of calls) expect(c.window).toEqual({start, end, stepSeconds: 60});
    expect(screen.getByRole('button', {name: /^Time range: \d{4}-\d{2}-\d{2} \d{2}:\d{2} to \d{4}-/})).toBeTruthy();
  });

  it('refreshes every 60 s, skipping a tick while a refresh is still running', async () => {
    vi.useFakeTimers({toFake: ['setInterval', 'clearInterval']});
    let now = NOW;
    let hold: Promise<void> | null = null;
    const {calls} = await renderDashboard(async (expr, w) => {
      if (hold) await hold;
      return answer(expr, w);
    }, () => now);
    expect(calls).toHaveLength(QUERY_COUNT);

    now += 60;
    act(() => vi.advanceTimersByTime(REFRESH_INTERVAL_MS));
    await waitFor(() => expect(calls).toHaveLength(2 * QUERY_COUNT));
    expect(calls.at(-1)!.window.end).toBe(NOW + 60);
    await waitFor(() => expect(screen.getByRole('button', {name: 'Refresh'})).toBeTruthy());

    let release!: () => void;
    hold = new Promise((resolve) => {
      release = resolve;
    });
    act(() => vi.advanceTimersByTime(REFRESH_INTERVAL_MS));
    await waitFor(() => expect(calls).toHaveLength(2 * QUERY_COUNT + 6));
    act(() => vi.advanceTimersByTime(REFRESH_INTERVAL_MS));
    expect(calls).toHaveLength(2 * QUERY_COUNT + 6);
    // Data of the previous refresh stays on screen meanwhile.
    expect(within(panel('httpRequests')).getByText('node-a:8067')).toBeTruthy();
    hold = null;
    release();
    await waitFor(() => expect(screen.getByRole('button', {name: 'Refresh'})).toBeTruthy());
    expect(calls).toHaveLength(3 * QUERY_COUNT);
  });

  it('does not refresh a hidden tab, nor a fixed window that lies in the past', async () => {
    vi.useFakeTimers({toFake: ['setInterval', 'clearInterval']});
    const {calls} = await renderDashboard();
    const visibility = vi.spyOn(document, 'visibilityState', 'get').mockReturnValue('hidden');
    act(() => vi.advanceTimersByTime(REFRESH_INTERVAL_MS));
    expect(calls).toHaveLength(QUERY_COUNT);
    visibility.mockRestore();

    fireEvent.click(screen.getByRole('button', {name: /^Time range:/}));
    fireEvent.change(screen.getByLabelText('From'), {target: {value: '2020-01-01T00:00'}});
    fireEvent.change(screen.getByLabelText('To'), {target: {value: '2020-01-02T00:00'}});
    fireEvent.click(screen.getByRole('button', {name: 'Apply time range'}));
    await waitFor(() => expect(calls).toHaveLength(2 * QUERY_COUNT));
    expect(calls.at(-1)!.window.stepSeconds).toBe(300);
    await waitFor(() => expect(screen.getByRole('button', {name: 'Refresh'})).toBeTruthy());
    act(() => vi.advanceTimersByTime(REFRESH_INTERVAL_MS));
    expect(calls).toHaveLength(2 * QUERY_COUNT);
  });

  it('drops the answers of a superseded fetch and aborts it', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const scripted = scriptedQuery(async (expr, w) => {
      if (w.stepSeconds === 60) {
        await gate;
        return expr === HTTP ? [gridSeries(w, {instance: 'stale:8067'}, () => 1)] : [];
      }
      return answer(expr, w);
    });
    renderWithIntl(<Dashboard query={scripted.query} now={() => NOW}/>);
    fireEvent.click(screen.getByRole('button', {name: /^Time range:/}));
    fireEvent.click(screen.getByRole('button', {name: 'Last 6 hours'}));
    const first = scripted.calls.filter((c) => c.window.stepSeconds === 60);
    expect(first.length).toBe(6);
    for (const c of first) expect(c.signal.aborted).toBe(true);
    release();
    await waitFor(() => expect(within(panel('httpRequests')).getByText('node-a:8067')).toBeTruthy());
    expect(screen.queryByText('stale:8067')).toBeNull();
    expect(scripted.calls.filter((c) => c.window.stepSeconds === 60)).toHaveLength(6);
  });

  it('collapses and expands a section from the keyboard-reachable header button', async () => {
    await renderDashboard();
    const toggle = screen.getByRole('button', {name: /Database/});
    expect(toggle.getAttribute('aria-expanded')).toBe('true');
    const dbPanels = SECTIONS.find((s) => s.id === 'database')!.panels.length;
    expect(screen.getAllByRole('group')).toHaveLength(26);
    fireEvent.click(toggle);
    expect(toggle.getAttribute('aria-expanded')).toBe('false');
    expect(screen.getAllByRole('group')).toHaveLength(26 - dbPanels);
    expect(screen.queryByTestId('panel-dbCalls')).toBeNull();
    fireEvent.click(toggle);
    expect(screen.getByTestId('panel-dbCalls')).toBeTruthy();
  });

  it('does not query a collapsed section; expanding it fetches just its queries for the shown range', async () => {
    const {calls} = await renderDashboard();
    const db = SECTIONS.find((s) => s.id === 'database')!;
    const dbExprs = new Set(db.panels.flatMap((p) => p.queries.map((q) => q.expr)));
    fireEvent.click(screen.getByRole('button', {name: /Database/}));
    calls.length = 0;
    fireEvent.click(screen.getByRole('button', {name: /^Time range:/}));
    fireEvent.click(screen.getByRole('button', {name: 'Last 6 hours'}));
    await waitFor(() => expect(calls).toHaveLength(QUERY_COUNT - dbExprs.size));
    expect(calls.some((c) => dbExprs.has(c.expr))).toBe(false);
    await waitFor(() => expect(screen.getByText(/^Updated /)).toBeTruthy());

    calls.length = 0;
    fireEvent.click(screen.getByRole('button', {name: /Database/}));
    await waitFor(() => expect(calls).toHaveLength(dbExprs.size));
    expect(new Set(calls.map((c) => c.expr))).toEqual(dbExprs);
    for (const c of calls) expect(c.window.stepSeconds).not.toBe(60);
    await waitFor(() => expect(within(panel('dbCalls')).queryByText('Loading…')).toBeNull());

    // Collapsing and expanding again within the same range fetches nothing.
    calls.length = 0;
    fireEvent.click(screen.getByRole('button', {name: /Database/}));
    fireEvent.click(screen.getByRole('button', {name: /Database/}));
    await settle();
    expect(calls).toHaveLength(0);
  });

  it('brings its own English strings when the page has no IntlProvider', async () => {
    const scripted = scriptedQuery(answer);
    render(<Dashboard query={scripted.query} now={() => NOW}/>);
    await waitFor(() => expect(screen.getByText(/^Updated /)).toBeTruthy(), {timeout: 5000});
    expect(screen.getByRole('button', {name: 'Time range: Last 1 hour'})).toBeTruthy();
    expect(within(panel('goroutines')).getByText('No data')).toBeTruthy();
  });

  it('widens narrower ancestors while mounted and aborts its queries on unmount', async () => {
    const column = document.createElement('div');
    column.style.maxWidth = '600px';
    document.body.appendChild(column);
    const scripted = scriptedQuery(() => new Promise<SeriesData[]>(() => undefined));
    const {unmount} = render(
      <IntlProvider locale='en' messages={{}}><Dashboard query={scripted.query} now={() => NOW}/></IntlProvider>,
      {container: column.appendChild(document.createElement('div'))},
    );
    expect(column.style.maxWidth).toBe('none');
    unmount();
    expect(column.style.maxWidth).toBe('600px');
    expect(scripted.calls).toHaveLength(6);
    expect(scripted.calls.every((c) => c.signal.aborted)).toBe(true);
    column.remove();
  });
});
