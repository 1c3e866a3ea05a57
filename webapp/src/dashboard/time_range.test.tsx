import {describe, expect, it} from 'vitest';

import {
  MAX_POINTS_PER_SERIES, QUICK_RANGES, absoluteRange, parseDatetimeLocal, queryWindow, quickRange, stepForSpan,
  toDatetimeLocal, validateAbsolute,
} from './time_range.ts';

describe('quick ranges', () => {
  it('match upstream labels, lengths and steps, 1 h by default', () => {
    expect(QUICK_RANGES.map((r) => [r.key, r.seconds, r.stepSeconds])).toEqual([
      ['5m', 300, 60], ['15m', 900, 60], ['30m', 1800, 60], ['1h', 3600, 60], ['3h', 10_800, 60], ['6h', 21_600, 300],
      ['12h', 43_200, 300], ['24h', 86_400, 300], ['2d', 172_800, 300], ['7d', 604_800, 1800], ['30d', 2_592_000, 3600],
    ]);
    expect(quickRange('nonsense')).toMatchObject({kind: 'relative', key: '1h'});
  });

  it('never ask for more than 11,000 points per series', () => {
    for (const r of QUICK_RANGES) expect(r.seconds / r.stepSeconds + 2).toBeLessThan(MAX_POINTS_PER_SERIES);
  });

  it('start a relative window on the step grid and end it now', () => {
    const w = queryWindow(quickRange('6h'), 1_767_225_777);
    expect(w).toEqual({start: Math.floor((1_767_225_777 - 21_600) / 300) * 300, end: 1_767_225_777, stepSeconds: 300});
    expect(w.start % 300).toBe(0);
  });
});

describe('absolute ranges', () => {
  it('use 60 s up to 1 h, 300 s up to 1 day, 1800 s up to 7 days, else 3600 s', () => {
    expect(stepForSpan(3600)).toBe(60);
    expect(stepForSpan(3601)).toBe(300);
    expect(stepForSpan(86_400)).toBe(300);
    expect(stepForSpan(86_401)).toBe(1800);
    expect(stepForSpan(7 * 86_400)).toBe(1800);
    expect(stepForSpan(7 * 86_400 + 1)).toBe(3600);
  });

  it('raise the step so a year-long window stays under 11,000 points', () => {
    const span = 2 * 365 * 86_400;
    const step = stepForSpan(span);
    expect(step).toBeGreaterThan(3600);
    expect(Math.floor(span / step) + 1).toBeLessThanOrEqual(MAX_POINTS_PER_SERIES);
  });

  it('are whole seconds with their step', () => {
    expect(absoluteRange(1000.4, 1600.2)).toEqual({kind: 'absolute', start: 1000, end: 1601, stepSeconds: 60});
  });
});

describe('datetime-local parsing', () => {
  it('round-trips local time', () => {
    const t = parseDatetimeLocal('2026-03-01T12:34')!;
    expect(toDatetimeLocal(t)).toBe('2026-03-01T12:34');
    expect(new Date(t * 1000).getHours()).toBe(12);
  });

  it.each(['', 'yesterday', '2026-02-30T10:00', '2026-13-01T10:00', '2026-01-01T25:00', '2026-1-1T10:00'])(
    'rejects %j', (text) => {
      expect(parseDatetimeLocal(text)).toBeNull();
    });

  it('validates From, To and their order', () => {
    expect(validateAbsolute('bad', '2026-01-01T00:00')).toEqual({ok: false, field: 'from', problem: 'invalid'});
    expect(validateAbsolute('2026-01-01T00:00', '')).toEqual({ok: false, field: 'to', problem: 'invalid'});
    expect(validateAbsolute('2026-01-02T00:00', '2026-01-01T00:00')).toEqual({ok: false, field: 'from', problem: 'order'});
    expect(validateAbsolute('2026-01-01T00:00', '2026-01-01T00:00')).toMatchObject({ok: false, problem: 'order'});
    expect(validateAbsolute('2026-01-01T00:00', '2026-01-01T01:00')).toMatchObject({ok: true});
  });
});
