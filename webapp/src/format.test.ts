import {createIntl} from 'react-intl';
import {describe, expect, it} from 'vitest';

import {formatBytes, formatDuration, formatShortDateTime, fromLocalInput, toLocalInput} from './format.ts';

const intl = createIntl({locale: 'en'});

describe('format', () => {
  it('round-trips datetime-local values in local time', () => {
    const ms = new Date(2025, 2, 9, 7, 5).getTime();
    expect(toLocalInput(ms)).toBe('2025-03-09T07:05');
    expect(fromLocalInput('2025-03-09T07:05')).toBe(ms);
    expect(fromLocalInput('2025-03-09T07:05:30')).toBe(ms + 30_000);
  });

  it('rejects values that are not a date and time', () => {
    for (const bad of ['', '2025-03-09', 'yesterday', '2025-02-31T10:00', '2025-13-01T10:00']) expect(fromLocalInput(bad), bad).toBeNaN();
  });

  it('leaves out this year in compact times', () => {
    const t = new Date(2025, 4, 6, 8, 5).getTime();
    expect(formatShortDateTime(intl, t, new Date(2025, 11, 31).getTime())).toBe('May 6, 08:05 AM');
    expect(formatShortDateTime(intl, t, new Date(2026, 0, 1).getTime())).toBe('May 6, 2025, 08:05 AM');
  });

  it('formats sizes and durations', () => {
    expect(formatBytes(intl, 512)).toBe('512 B');
    expect(formatBytes(intl, 1536)).toBe('1.5 kB');
    expect(formatBytes(intl, 5 * 1024 ** 3)).toBe('5 GB');
    expect(formatDuration(intl, 4_000)).toBe('4 sec');
    expect(formatDuration(intl, 90_000)).toBe('1.5 min');
    expect(formatDuration(intl, 3 * 86_400_000)).toBe('3 days');
  });
});
