import {render, screen} from '@testing-library/react';
import React from 'react';
import {describe, expect, it, vi} from 'vitest';

import {plots, settle} from './testing/recording_uplot.ts';
import {alignSeries, selectionToRange, UPlotChart, yRange} from './uplot_chart.tsx';

vi.mock('uplot', () => import('./testing/recording_uplot.ts'));

describe('alignSeries', () => {
  it('merges timestamps and leaves gaps as null', () => {
    const data = alignSeries([
      {labels: {}, times: [60, 120, 180], values: [1, null, 3]},
      {labels: {}, times: [120, 240], values: [5, 6]},
    ]);
    expect(Array.from(data[0])).toEqual([60, 120, 180, 240]);
    expect(data[1]).toEqual([1, null, 3, null]);
    expect(data[2]).toEqual([null, 5, null, 6]);
  });
});

describe('selectionToRange', () => {
  const plot = (left: number, width: number) => ({select: {left, width, top: 0, height: 0}, posToVal: (px: number) => 1000 + px * 10.4});
  it('converts a drag to whole seconds', () => {
    expect(selectionToRange(plot(10, 50))).toEqual([1104, 1624]);
  });
  it('ignores a click', () => {
    expect(selectionToRange(plot(10, 0))).toBeNull();
  });
});

describe('yRange', () => {
  it('treats a series flat up to float noise as flat', () => {
    const [lo, hi] = yRange(null as never, 0.12 - 1e-16, 0.12 + 1e-16) as [number, number];
    expect(hi - lo).toBeGreaterThan(0.01);
    expect(lo).toBeLessThan(0.12);
    expect(hi).toBeGreaterThan(0.12);
  });
  it('leaves a real spread alone', () => {
    const [lo, hi] = yRange(null as never, 10, 20) as [number, number];
    expect(lo).toBeLessThanOrEqual(10);
    expect(hi).toBeGreaterThanOrEqual(20);
    expect(hi - lo).toBeLessThan(15);
  });
});

describe('UPlotChart', () => {
  it('draws the series with legends, null gaps and the fixed x window, and reports a drag selection', async () => {
    plots.length = 0;
    const onSelect = vi.fn();
    render(
      <UPlotChart
        series={[{legend: 'node-a:8067', labels: {}, times: [1000, 1060, 1120], values: [1, null, 2]}]}
        unit='s'
        xMin={900}
        xMax={1200}
        onTimeRangeSelect={onSelect}
      />,
    );
    expect(screen.getByText('node-a:8067')).toBeTruthy();
    expect(plots).toHaveLength(1);
    const u = plots[0];
    await settle();
    expect(u.data[1]).toEqual([1, null, 2]);
    expect(u.scales.x.min).toBe(900);
    expect(u.scales.x.max).toBe(1200);

    const start = Math.round(u.posToVal(20, 'x'));
    const end = Math.round(u.posToVal(120, 'x'));
    u.setSelect({left: 20, top: 0, width: 100, height: 10});
    await settle();
    expect(onSelect).toHaveBeenCalledWith(start, end);
    expect(start).toBeGreaterThanOrEqual(900);
    expect(end).toBeLessThanOrEqual(1200);
    expect(u.select.width).toBe(0);
  });

  it('updates data in place and re-creates the plot only when the legends change', async () => {
    plots.length = 0;
    const series = (values: number[], legend = 'a') => [{legend, labels: {}, times: [1000, 1060], values}];
    const {rerender} = render(<UPlotChart series={series([1, 2])} xMin={900} xMax={1200}/>);
    rerender(<UPlotChart series={series([3, 4])} xMin={960} xMax={1260}/>);
    await settle();
    expect(plots).toHaveLength(1);
    expect(plots[0].data[1]).toEqual([3, 4]);
    expect(plots[0].scales.x.min).toBe(960);
    rerender(<UPlotChart series={series([3, 4], 'b')} xMin={960} xMax={1260}/>);
    expect(plots).toHaveLength(2);
  });
});
