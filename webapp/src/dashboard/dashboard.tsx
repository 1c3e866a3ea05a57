// The System Console's performance dashboard (admin console custom setting "Dashboard"):
// a time-range picker, collapsible sections of uPlot panels, one range query per
// expression (at most six in flight), refreshed every 60 s.
import React, {useCallback, useContext, useEffect, useMemo, useRef, useState} from 'react';
import {IntlContext, IntlProvider, useIntl} from 'react-intl';

import {SECTIONS, allQueries} from './panels.ts';
import type {PanelDef, SectionDef} from './panels.ts';
import {createPrometheusQuery, limitConcurrency, runQueries} from './query_client.ts';
import type {QueryOutcome, RangeQuery} from './query_client.ts';
import {ensureDashboardStyles} from './styles.ts';
import {DEFAULT_QUICK_RANGE_KEY, absoluteRange, queryWindow, quickRange} from './time_range.ts';
import type {QueryWindow, TimeRange} from './time_range.ts';
import {TimeRangePicker} from './time_range_picker.tsx';
import {UPlotChart} from './uplot_chart.tsx';
import type {ChartSeries} from './uplot_chart.tsx';

export const REFRESH_INTERVAL_MS = 60_000;
export const MAX_QUERIES_IN_FLIGHT = 6;

/** The props the System Console gives a custom setting, plus test seams. */
export interface DashboardProps {
  id?: string;
  value?: unknown;
  onChange?: (id: string, value: unknown) => void;
  setSaveNeeded?: () => void;
  disabled?: boolean;
  /** Replaces the HTTP client (tests). */
  query?: RangeQuery;
  /** Unix seconds (tests). */
  now?: () => number;
  sections?: readonly SectionDef[];
}

type Outcomes = readonly (QueryOutcome | undefined)[];

const nowSeconds = (): number => Math.floor(Date.now() / 1000);

/** One slot per query, so every panel's slice has its full length from the start. */
const noAnswers = (count: number): Outcomes => new Array<undefined>(count).fill(undefined);

/** The section id of each query in allQueries(sections). */
function querySections(sections: readonly SectionDef[]): string[] {
  return sections.flatMap((s) => s.panels.flatMap((p) => p.queries.map(() => s.id)));
}

/** Index of each panel's first query in allQueries(sections). */
function panelOffsets(sections: readonly SectionDef[]): Map<PanelDef, number> {
  const offsets = new Map<PanelDef, number>();
  let at = 0;
  for (const s of sections) {
    for (const p of s.panels) {
      offsets.set(p, at);
      at += p.queries.length;
    }
  }
  return offsets;
}

/**
 * Lets the console column use the window's width: every ancestor whose CSS max-width is
 * narrower than the window gets `max-width: none` until the dashboard unmounts.
 */
function widenAncestors(el: HTMLElement): () => void {
  const restored: [HTMLElement, string][] = [];
  for (let node = el.parentElement; node && node !== document.body; node = node.parentElement) {
    const maxWidth = getComputedStyle(node).maxWidth;
    const max = maxWidth.endsWith('px') ? parseFloat(maxWidth) : Number.NaN;
    if (Number.isFinite(max) && max < window.innerWidth) {
      restored.push([node, node.style.maxWidth]);
      node.style.maxWidth = 'none';
    }
  }
  return () => {
    for (const [node, previous] of restored) node.style.maxWidth = previous;
  };
}

/**
 * The System Console renders settings inside its IntlProvider; a page without one (a bare
 * host page) still gets the English defaultMessages.
 */
export function Dashboard(props: DashboardProps): React.ReactElement {
  const hostIntl = useContext(IntlContext);
  if (hostIntl) return <DashboardView {...props}/>;
  return (
    <IntlProvider locale='en' defaultLocale='en' messages={{}} onError={() => undefined}>
      <DashboardView {...props}/>
    </IntlProvider>
  );
}

function DashboardView({query: injectedQuery, now = nowSeconds, sections = SECTIONS}: DashboardProps): React.ReactElement {
  const intl = useIntl();
  // One limit for every batch: the refresh and any section expanded while it runs.
  const query = useMemo(() => limitConcurrency(injectedQuery ?? createPrometheusQuery(), MAX_QUERIES_IN_FLIGHT), [injectedQuery]);
  const exprs = useMemo(() => allQueries(sections), [sections]);
  const sectionOf = useMemo(() => querySections(sections), [sections]);
  const offsets = useMemo(() => panelOffsets(sections), [sections]);

  const [range, setRange] = useState<TimeRange>(() => quickRange(DEFAULT_QUICK_RANGE_KEY));
  const [shownWindow, setShownWindow] = useState<QueryWindow>(() => queryWindow(quickRange(DEFAULT_QUICK_RANGE_KEY), now()));
  const [outcomes, setOutcomes] = useState<Outcomes>(() => noAnswers(exprs.length));
  const [loading, setLoading] = useState(true);
  const [updatedAt, setUpdatedAt] = useState<number | null>(null);
  const [collapsed, setCollapsed] = useState<Record<string, boolean>>({});

  const rootRef = useRef<HTMLDivElement>(null);
  // Each fetch bumps the generation; results of an older one are dropped.
  const generation = useRef(0);
  const inFlight = useRef<AbortController | null>(null);
  // Queries of sections expanded while the main batch runs; aborted with it.
  const sideBatches = useRef(new Set<AbortController>());
  // The window each query's answer is (or is being) fetched for: a collapsed section is not
  // queried, and expanding it fetches only what is not current.
  const queriedFor = useRef<(QueryWindow | undefined)[]>([]);
  // What the interval timer and the mount effect read (kept in step by an effect).
  const latest = useRef({range, shownWindow, collapsed});
  useEffect(() => {
    latest.current = {range, shownWindow, collapsed};
  });

  /** Queries `indices` for `w` within the current generation; answers of an older one are dropped. */
  const queryIndices = useCallback((indices: readonly number[], w: QueryWindow, signal: AbortSignal): Promise<void> => {
    const gen = generation.current;
    for (const i of indices) queriedFor.current[i] = w;
    return runQueries(query, indices.map((i) => exprs[i]), w, signal, (j, outcome) => {
      if (gen !== generation.current) return;
      setOutcomes((prev) => {
        const next = prev.slice();
        next[indices[j]] = outcome;
        return next;
      });
    }, MAX_QUERIES_IN_FLIGHT);
  }, [query, exprs]);

  /** Queries the open sections for `w`, aborting whatever is still in flight; state changes only when answers land. */
  const startQueries = useCallback((w: QueryWindow) => {
    inFlight.current?.abort();
    for (const c of sideBatches.current) c.abort();
    sideBatches.current.clear();
    const controller = new AbortController();
    inFlight.current = controller;
    const gen = ++generation.current;
    const closed = latest.current.collapsed;
    const open = exprs.flatMap((_e, i) => (closed[sectionOf[i]] ? [] : [i]));
    for (let i = 0; i < exprs.length; i++) if (closed[sectionOf[i]]) queriedFor.current[i] = undefined;
    queryIndices(open, w, controller.signal).finally(() => {
      if (gen !== generation.current) return;
      inFlight.current = null;
      setLoading(false);
      setUpdatedAt(Date.now());
    });
  }, [exprs, sectionOf, queryIndices]);

  const toggleSection = useCallback((id: string, collapse: boolean) => {
    setCollapsed((c) => ({...c, [id]: collapse}));
    if (collapse) return;
    const w = latest.current.shownWindow;
    const stale = exprs.flatMap((_e, i) => (sectionOf[i] === id && queriedFor.current[i] !== w ? [i] : []));
    if (stale.length === 0) return;
    setOutcomes((prev) => {
      const next = prev.slice();
      for (const i of stale) next[i] = undefined;
      return next;
    });
    const controller = new AbortController();
    sideBatches.current.add(controller);
    void queryIndices(stale, w, controller.signal).finally(() => sideBatches.current.delete(controller));
  }, [exprs, sectionOf, queryIndices]);

  /** A new window for `r` as of now; `keepPrevious` leaves the old answers up until new ones land. */
  const refetch = useCallback((r: TimeRange, keepPrevious: boolean) => {
    const w = queryWindow(r, now());
    setShownWindow(w);
    setLoading(true);
    if (!keepPrevious) setOutcomes(noAnswers(exprs.length));
    startQueries(w);
  }, [now, startQueries, exprs]);

  const changeRange = useCallback((r: TimeRange) => {
    setRange(r);
    refetch(r, false);
  }, [refetch]);

  useEffect(() => {
    ensureDashboardStyles();
    return rootRef.current ? widenAncestors(rootRef.current) : undefined;
  }, []);

  useEffect(() => {
    startQueries(latest.current.shownWindow);
  }, [startQueries]);

  useEffect(() => {
    const timer = setInterval(() => {
      const r = latest.current.range;
      // A slow server must not get a pile of overlapping refreshes; a fixed window
      // entirely in the past has nothing new to show; nobody looks at a hidden tab.
      if (inFlight.current || document.visibilityState === 'hidden') return;
      if (r.kind === 'absolute' && r.end < now() - r.stepSeconds) return;
      refetch(r, true);
    }, REFRESH_INTERVAL_MS);
    return () => clearInterval(timer);
  }, [refetch, now]);

  useEffect(() => () => {
    generation.current++;
    inFlight.current?.abort();
    for (const c of sideBatches.current) c.abort();
  }, []);

  const onSelect = useCallback((start: number, end: number) => changeRange(absoluteRange(start, end)), [changeRange]);

  const shown = outcomes.filter((_o, i) => !collapsed[sectionOf[i]]);
  const answered = shown.filter((o) => o !== undefined);
  const allFailed = !loading && answered.length === shown.length && shown.length > 0 && answered.every((o) => o!.error !== undefined);

  return (
    <div className='mm-dash' ref={rootRef}>
      <div className='mm-dash__toolbar'>
        <TimeRangePicker value={range} onChange={changeRange} now={now}/>
        <button type='button' className='btn btn-tertiary btn-sm' disabled={loading} onClick={() => refetch(range, true)}>
          {loading ?
            intl.formatMessage({id: 'dashboard.loading', defaultMessage: 'Loading…'}) :
            intl.formatMessage({id: 'dashboard.refresh', defaultMessage: 'Refresh'})}
        </button>
        {updatedAt !== null && (
          <span className='mm-dash__updated'>
            {intl.formatMessage(
              {id: 'dashboard.updated', defaultMessage: 'Updated {time}'},
              {time: intl.formatTime(updatedAt, {hour: '2-digit', minute: '2-digit', second: '2-digit'})},
            )}
          </span>
        )}
      </div>
      {allFailed && (
        <div className='alert alert-danger' role='alert'>
          {intl.formatMessage(
            {id: 'dashboard.allFailed', defaultMessage: 'Could not load metrics: {error}'},
            {error: answered[0]!.error},
          )}
        </div>
      )}
      {sections.map((section) => {
        const open = !collapsed[section.id];
        const bodyId = `mm-dash-section-${section.id}`;
        return (
          <section key={section.id} className='mm-dash__section'>
            <h3 style={{margin: 0}}>
              <button
                type='button'
                className='mm-dash__section-toggle'
                aria-expanded={open}
                aria-controls={bodyId}
                onClick={() => toggleSection(section.id, open)}
              >
                <span className={open ? 'mm-dash__chevron mm-dash__chevron--open' : 'mm-dash__chevron'} aria-hidden='true'>{'›'}</span>
                {intl.formatMessage({id: `dashboard.section.${section.id}`, defaultMessage: section.title})}
              </button>
            </h3>
            {open && (
              <div className='mm-dash__grid' id={bodyId}>
                {section.panels.map((panel) => {
                  const at = offsets.get(panel)!;
                  return (
                    <Panel
                      key={panel.id}
                      panel={panel}
                      outcomes={outcomes.slice(at, at + panel.queries.length)}
                      xMin={shownWindow.start}
                      xMax={shownWindow.end}
                      onSelect={onSelect}
                    />
                  );
                })}
              </div>
            )}
          </section>
        );
      })}
    </div>
  );
}

interface PanelProps {
  panel: PanelDef;
  outcomes: Outcomes;
  xMin: number;
  xMax: number;
  onSelect: (start: number, end: number) => void;
}

function samePanelProps(a: PanelProps, b: PanelProps): boolean {
  if (a.panel !== b.panel || a.xMin !== b.xMin || a.xMax !== b.xMax || a.onSelect !== b.onSelect) return false;
  if (a.outcomes.length !== b.outcomes.length) return false;
  // A plain loop: Array#every skips holes, and a hole turning into an answer must re-render.
  for (let i = 0; i < a.outcomes.length; i++) if (a.outcomes[i] !== b.outcomes[i]) return false;
  return true;
}

const Panel = React.memo(function Panel({panel, outcomes, xMin, xMax, onSelect}: PanelProps): React.ReactElement {
  const intl = useIntl();
  const title = intl.formatMessage({id: `dashboard.panel.${panel.id}`, defaultMessage: panel.title});
  const series = useMemo(() => {
    const out: ChartSeries[] = [];
    panel.queries.forEach((q, i) => {
      for (const s of outcomes[i]?.series ?? []) out.push({...s, legend: q.legend(s.labels)});
    });
    return out;
  }, [panel, outcomes]);
  const errors = outcomes.map((o) => o?.error).filter((e): e is string => e !== undefined);
  const pending = panel.queries.some((_q, i) => outcomes[i] === undefined);

  let body: React.ReactElement;
  if (series.length > 0) {
    body = <UPlotChart series={series} unit={panel.unit} xMin={xMin} xMax={xMax} onTimeRangeSelect={onSelect}/>;
  } else if (errors.length > 0) {
    body = <div className='mm-dash__empty mm-dash__empty--error' role='alert'>{errors[0]}</div>;
  } else if (pending) {
    body = <div className='mm-dash__empty'>{intl.formatMessage({id: 'dashboard.loading', defaultMessage: 'Loading…'})}</div>;
  } else {
    body = <div className='mm-dash__empty'>{intl.formatMessage({id: 'dashboard.noData', defaultMessage: 'No data'})}</div>;
  }
  return (
    <div className='mm-dash__panel' data-testid={`panel-${panel.id}`} aria-label={title} role='group'>
      <h4 className='mm-dash__panel-title'>{title}</h4>
      {body}
      {series.length > 0 && errors.length > 0 && <div className='mm-dash__panel-error' role='alert'>{errors[0]}</div>}
    </div>
  );
}, samePanelProps);
