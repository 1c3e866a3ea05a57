// One panel's chart: uPlot on a shared, sorted time axis, fixed x window, formatted y
// ticks, a dark tooltip and drag-to-select (reported, never zoomed in place: the
// dashboard turns a selection into an absolute time range for every panel).
import React, {useEffect, useLayoutEffect, useMemo, useRef} from 'react';
import uPlot from 'uplot';

import {formatTicks, formatValue} from './format.ts';
import type {Unit} from './panels.ts';
import type {SeriesData} from './query_client.ts';
import {formatLocal} from './time_range.ts';

export const CHART_HEIGHT = 160;
const DEFAULT_WIDTH = 400;
export const PALETTE = ['#0073e6', '#e6920a', '#2ecc71', '#9b59b6', '#e74c3c', '#1abc9c', '#f39c12', '#3498db'];

export interface ChartSeries extends SeriesData {
  legend: string;
}

export interface UPlotChartProps {
  series: readonly ChartSeries[];
  unit?: Unit;
  /** The x window in unix seconds, shown whatever the data covers. */
  xMin: number;
  xMax: number;
  /** A drag selection, in whole unix seconds. */
  onTimeRangeSelect?: (start: number, end: number) => void;
}

/**
 * Puts every series on one ascending time axis; a series without a point at a time gets
 * null there, which uPlot draws as a gap.
 */
export function alignSeries(series: readonly SeriesData[]): uPlot.AlignedData {
  const timeSet = new Set<number>();
  for (const s of series) for (const t of s.times) timeSet.add(t);
  const times = Float64Array.from(timeSet).sort();
  const index = new Map<number, number>();
  times.forEach((t, i) => index.set(t, i));
  const columns = series.map((s) => {
    const col = new Array<number | null>(times.length).fill(null);
    for (let i = 0; i < s.times.length; i++) col[index.get(s.times[i])!] = s.values[i];
    return col;
  });
  return [times as unknown as number[], ...columns];
}

/** Start/end (whole seconds) of a uPlot selection, or null for a click without a drag. */
export function selectionToRange(u: Pick<uPlot, 'select' | 'posToVal'>): [number, number] | null {
  const {left, width} = u.select;
  if (!(width > 1)) return null;
  const start = Math.round(u.posToVal(left, 'x'));
  const end = Math.round(u.posToVal(left + width, 'x'));
  return end > start ? [start, end] : null;
}

/**
 * uPlot's default y range, except that a series flat up to float noise (a ratio of two
 * rates that move together) is treated as flat instead of zoomed into the noise.
 */
export function yRange(_u: uPlot, min: number | null, max: number | null): uPlot.Range.MinMax {
  if (min === null || max === null) return [min, max];
  if (max - min <= Math.max(Math.abs(min), Math.abs(max)) * 1e-9) min = max = (min + max) / 2;
  return uPlot.rangeNum(min, max, 0.1, true);
}

/** Upstream's 60 px, wider when tick labels need it (uPlot calls this with the labels it drew). */
export function yAxisSize(_u: uPlot, values: string[] | null): number {
  const longest = Math.max(0, ...(values ?? []).map((v) => v.length));
  return Math.max(60, Math.ceil(longest * 7 + 18));
}

function themeRgb(el: HTMLElement): string {
  const v = getComputedStyle(el).getPropertyValue('--center-channel-color-rgb').trim();
  return v || '63, 67, 80';
}

function tooltipPlugin(unit: Unit | undefined): uPlot.Plugin {
  let tip: HTMLDivElement | null = null;
  return {
    hooks: {
      init: (u) => {
        tip = document.createElement('div');
        tip.className = 'mm-dash__tooltip';
        tip.style.display = 'none';
        u.over.appendChild(tip);
        u.over.addEventListener('mouseleave', () => {
          if (tip) tip.style.display = 'none';
        });
      },
      setCursor: (u) => {
        const idx = u.cursor.idx;
        const left = u.cursor.left ?? -1;
        if (!tip || idx == null || left < 0) {
          if (tip) tip.style.display = 'none';
          return;
        }
        const rows: {label: string; value: number; color: string}[] = [];
        for (let i = 1; i < u.series.length; i++) {
          const v = u.data[i][idx];
          if (v == null || !u.series[i].show) continue;
          rows.push({label: String(u.series[i].label ?? ''), value: v, color: PALETTE[(i - 1) % PALETTE.length]});
        }
        if (rows.length === 0) {
          tip.style.display = 'none';
          return;
        }
        rows.sort((a, b) => b.value - a.value);
        tip.replaceChildren();
        const time = document.createElement('div');
        time.className = 'mm-dash__tooltip-time';
        time.textContent = formatLocal(u.data[0][idx], true);
        tip.appendChild(time);
        for (const r of rows) {
          const row = document.createElement('div');
          row.className = 'mm-dash__tooltip-row';
          const swatch = document.createElement('span');
          swatch.className = 'mm-dash__tooltip-swatch';
          swatch.style.background = r.color;
          const label = document.createElement('span');
          label.className = 'mm-dash__tooltip-label';
          label.textContent = r.label;
          const value = document.createElement('span');
          value.className = 'mm-dash__tooltip-value';
          value.textContent = formatValue(unit, r.value);
          row.append(swatch, label, value);
          tip.appendChild(row);
        }
        tip.style.display = 'block';
        const overWidth = u.over.clientWidth || u.bbox.width / devicePixelRatio;
        const flip = left > overWidth / 2;
        tip.style.left = flip ? '' : `${left + 12}px`;
        tip.style.right = flip ? `${overWidth - left + 12}px` : '';
        tip.style.top = `${Math.max(0, (u.cursor.top ?? 0) - 10)}px`;
      },
    },
  };
}

function buildOptions(
  series: readonly ChartSeries[],
  unit: Unit | undefined,
  width: number,
  rgb: string,
  xWindow: {current: [number, number]},
  onSelect: {current: UPlotChartProps['onTimeRangeSelect']},
): uPlot.Options {
  const axisStroke = `rgba(${rgb}, 0.72)`;
  const grid = {stroke: `rgba(${rgb}, 0.1)`, width: 1};
  const ticks = {stroke: `rgba(${rgb}, 0.16)`, width: 1};
  return {
    width,
    height: CHART_HEIGHT,
    legend: {show: true, live: false},
    cursor: {drag: {x: true, y: false, setScale: false}, points: {show: false}},
    scales: {x: {time: true, auto: false, range: () => xWindow.current}, y: {range: yRange}},
    axes: [
      {stroke: axisStroke, grid, ticks},
      {stroke: axisStroke, grid, ticks, size: yAxisSize, values: (_u, splits) => formatTicks(unit, splits)},
    ],
    series: [
      {},
      ...series.map((s, i) => ({
        label: s.legend,
        stroke: PALETTE[i % PALETTE.length],
        width: 1.5,
        spanGaps: false,
        value: (_u: uPlot, v: number | null) => formatValue(unit, v),
      })),
    ],
    plugins: [tooltipPlugin(unit)],
    hooks: {
      setSelect: [
        (u) => {
          const range = selectionToRange(u);
          u.setSelect({left: 0, top: 0, width: 0, height: 0}, false);
          if (range) onSelect.current?.(range[0], range[1]);
        },
      ],
    },
  };
}

/** Re-create the plot only when what its options depend on changes; data alone is setData. */
function shapeKey(series: readonly ChartSeries[], unit: Unit | undefined): string {
  return JSON.stringify([unit ?? '', series.map((s) => s.legend)]);
}

export function UPlotChart({series, unit, xMin, xMax, onTimeRangeSelect}: UPlotChartProps): React.ReactElement {
  const containerRef = useRef<HTMLDivElement>(null);
  const plotRef = useRef<uPlot | null>(null);
  const data = useMemo(() => alignSeries(series), [series]);
  const key = shapeKey(series, unit);
  // The plot lives across renders and reads these through refs; synced before the
  // effects below run (layout effects run first).
  const xWindow = useRef<[number, number]>([xMin, xMax]);
  const onSelect = useRef(onTimeRangeSelect);
  const dataRef = useRef(data);
  useLayoutEffect(() => {
    xWindow.current = [xMin, xMax];
    onSelect.current = onTimeRangeSelect;
    dataRef.current = data;
  });

  useEffect(() => {
    const el = containerRef.current;
    if (!el) return undefined;
    const width = el.clientWidth || DEFAULT_WIDTH;
    const plot = new uPlot(buildOptions(series, unit, width, themeRgb(el), xWindow, onSelect), dataRef.current, el);
    plotRef.current = plot;
    let observer: ResizeObserver | undefined;
    if (typeof ResizeObserver !== 'undefined') {
      observer = new ResizeObserver((entries) => {
        const w = Math.floor(entries[0]?.contentRect.width ?? 0);
        if (w > 0 && w !== plot.width) plot.setSize({width: w, height: CHART_HEIGHT});
      });
      observer.observe(el);
    }
    return () => {
      observer?.disconnect();
      plot.destroy();
      plotRef.current = null;
    };
    // `key` captures series legends and unit; data and window updates go through setData below.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key]);

  useEffect(() => {
    const plot = plotRef.current;
    if (plot && plot.data !== data) plot.setData(data);
  }, [data, key]);

  useEffect(() => {
    plotRef.current?.setScale('x', {min: xMin, max: xMax});
  }, [xMin, xMax]);

  return <div className='mm-dash__chart' ref={containerRef} data-testid='uplot-chart'/>;
}
