// Numbers, sizes, ages and the value format of <input type="datetime-local">.
import type {IntlShape} from 'react-intl';

export function formatDateTime(intl: IntlShape, ms: number): string {
  return intl.formatDate(ms, {year: 'numeric', month: 'short', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit'});
}

/** Compact: "Nov 26, 09:15 AM", with the year only when it is not this year's. */
export function formatShortDateTime(intl: IntlShape, ms: number, now: number = Date.now()): string {
  const sameYear = new Date(ms).getFullYear() === new Date(now).getFullYear();
  return intl.formatDate(ms, {year: sameYear ? undefined : 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit'});
}

const byteUnits = ['byte', 'kilobyte', 'megabyte', 'gigabyte', 'terabyte'] as const;

export function formatBytes(intl: IntlShape, bytes: number): string {
  let value = Math.max(0, bytes);
  let unit = 0;
  while (value >= 1024 && unit < byteUnits.length - 1) {
    value /= 1024;
    unit++;
  }
  // Intl spells the short byte unit "byte"; B reads better beside kB, MB, GB.
  if (unit === 0) return `${intl.formatNumber(value, {maximumFractionDigits: 0})} B`;
  return intl.formatNumber(value, {style: 'unit', unit: byteUnits[unit], unitDisplay: 'short', maximumFractionDigits: 1});
}

/** A duration in its largest whole-ish unit: "45 sec", "3 min", "2.5 hr", "4 days". */
export function formatDuration(intl: IntlShape, ms: number): string {
  const s = Math.max(0, ms) / 1000;
  const pick: Array<[number, 'second' | 'minute' | 'hour' | 'day']> = [
    [86_400, 'day'],
    [3_600, 'hour'],
    [60, 'minute'],
  ];
  for (const [size, unit] of pick) {
    if (s >= size) return intl.formatNumber(s / size, {style: 'unit', unit, unitDisplay: unit === 'day' ? 'long' : 'short', maximumFractionDigits: s / size < 10 ? 1 : 0});
  }
  return intl.formatNumber(s, {style: 'unit', unit: 'second', unitDisplay: 'short', maximumFractionDigits: 0});
}

const pad = (n: number): string => String(n).padStart(2, '0');

/** Local wall-clock time as datetime-local wants it: YYYY-MM-DDTHH:mm. */
export function toLocalInput(ms: number): string {
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** The instant of a datetime-local value in the browser's time zone; NaN when it is not one. */
export function fromLocalInput(value: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/.exec(value.trim());
  if (!m) return NaN;
  const [, y, mo, d, h, mi, s] = m.map(Number);
  const date = new Date(y, mo - 1, d, h, mi, s || 0);
  // Reject 2024-02-31 and friends instead of rolling over into the next month.
  if (date.getFullYear() !== y || date.getMonth() !== mo - 1 || date.getDate() !== d) return NaN;
  return date.getTime();
}
