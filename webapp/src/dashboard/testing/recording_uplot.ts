// A uPlot that remembers every instance, so tests can read what a chart was given and
// drive its selection. Use with: vi.mock('uplot', () => import('./testing/recording_uplot.ts')).
import './jsdom_polyfills.ts';

import type uPlotType from 'uplot';
import {vi} from 'vitest';

const real = (await vi.importActual<{default: typeof uPlotType}>('uplot')).default;

export const plots: uPlotType[] = [];

class RecordingPlot extends real {
  constructor(...args: ConstructorParameters<typeof uPlotType>) {
    super(...args);
    plots.push(this);
  }
}

/** The live plot drawn inside `el`. */
export function plotIn(el: Element): uPlotType | undefined {
  return plots.filter((p) => el.contains(p.root)).at(-1);
}

/** uPlot commits scale and size changes in a microtask. */
export const settle = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));

export default RecordingPlot;
