import {render, screen} from '@testing-library/react';
import React from 'react';
import {describe, expect, it} from 'vitest';

import {deferred, fakeServer, json, serverError} from '../../test/helpers.ts';
import Stats from './Stats.tsx';

describe('Stats', () => {
  it('shows loading, then upstream’s four rows', async () => {
    const pending = deferred<Response>();
    fakeServer({'GET /tsdb/stats': () => pending.promise});
    render(<Stats />);
    expect(screen.getByTestId('metrics-loading')).toBeTruthy();
    const minT = new Date(2025, 0, 2, 3, 4, 5).getTime();
    pending.resolve(json({min_t: minT, max_t: minT + 86_400_000, num_samples: 1234567, num_series: 890}));
    expect((await screen.findByTestId('stats-samples')).textContent).toBe('Number of samples1,234,567');
    expect(screen.getByTestId('stats-series').textContent).toBe('Maximum series count890');
    expect(screen.getByTestId('stats-oldest').textContent).toMatch(/^Oldest timestampJan 02, 2025/);
    expect(screen.getByTestId('stats-newest').textContent).toMatch(/^Most recent timestampJan 03, 2025/);
    expect(screen.queryByTestId('stats-empty')).toBeNull();
  });

  it('shows no data as empty, not as 1 January 1970', async () => {
    fakeServer({'GET /tsdb/stats': () => json({min_t: 0, max_t: 0, num_samples: 0, num_series: 0})});
    render(<Stats />);
    expect((await screen.findByTestId('stats-empty')).textContent).toBe('No data collected yet.');
    expect(screen.getByTestId('stats-oldest').textContent).toBe('Oldest timestamp—');
    expect(screen.getByTestId('metrics-stats').textContent).not.toContain('1970');
  });

  it('shows the server’s error', async () => {
    fakeServer({'GET /tsdb/stats': () => serverError('internal error: disk gone')});
    render(<Stats />);
    expect((await screen.findByTestId('metrics-error')).textContent).toBe('Error: internal error: disk gone');
  });
});
