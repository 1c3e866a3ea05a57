import {describe, expect, it} from 'vitest';

import {formatTicks, formatValue} from './format.ts';

describe('formatValue', () => {
  it('formats bytes with decimal units', () => {
    expect(formatValue('bytes', 512)).toBe('512 B');
    expect(formatValue('bytes', 1500)).toBe('1.5 KB');
    expect(formatValue('bytes', 123_456_789)).toBe('123.46 MB');
    expect(formatValue('bytes', 2e9)).toBe('2 GB');
  });

  it('formats percentages with one decimal', () => {
    expect(formatValue('%', 12.345)).toBe('12.3%');
    expect(formatValue('%', 0)).toBe('0.0%');
  });

  it('formats seconds as s, ms or μs', () => {
    expect(formatValue('s', 2.5)).toBe('2.5 s');
    expect(formatValue('s', 0.0123)).toBe('12.3 ms');
    expect(formatValue('s', 0.00042)).toBe('420 μs');
    expect(formatValue('s', 0)).toBe('0 s');
  });

  it('uses k/M suffixes otherwise', () => {
    expect(formatValue('req/s', 1_234_567)).toBe('1.23M');
    expect(formatValue(undefined, 4321)).toBe('4.32k');
    expect(formatValue('', 12.345)).toBe('12.35');
    expect(formatValue('', 1.23456)).toBe('1.23');
    expect(formatValue('', 0.000123456)).toBe('0.000123');
  });

  it('shows nothing for gaps', () => {
    expect(formatValue('', null)).toBe('');
    expect(formatValue('s', Number.NaN)).toBe('');
    expect(formatValue('bytes', Number.POSITIVE_INFINITY)).toBe('');
  });

  it('adds digits to axis ticks until neighbours differ', () => {
    expect(formatTicks('s', [0.119995, 0.12, 0.120005])).toEqual(['119.995 ms', '120 ms', '120.005 ms']);
    expect(formatTicks('bytes', [1_000_000, 1_002_000])).toEqual(['1 MB', '1.002 MB']);
    expect(formatTicks('', [0, 50, 100])).toEqual(['0', '50', '100']);
  });
});
