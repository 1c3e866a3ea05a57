// Time windows of the dashboard: the quick ranges, the step rule for absolute ranges,
// and the datetime-local parsing/validation of the picker. All times are unix seconds.

/** Prometheus refuses a range query with more points than this per series. */
export const MAX_POINTS_PER_SERIES = 11_000;

export interface QuickRange {
  /** Stable key, also the react-intl id suffix (`dashboard.range.<key>`). */
  key: string;
  /** English label (defaultMessage). */
  label: string;
  seconds: number;
  stepSeconds: number;
}

const MINUTE = 60;
const HOUR = 3600;
const DAY = 86_400;

/** Upstream's list (spec §1.5), same labels, lengths and steps. */
export const QUICK_RANGES: readonly QuickRange[] = [
  {key: '5m', label: 'Last 5 minutes', seconds: 5 * MINUTE, stepSeconds: 60},
  {key: '15m', label: 'Last 15 minutes', seconds: 15 * MINUTE, stepSeconds: 60},
  {key: '30m', label: 'Last 30 minutes', seconds: 30 * MINUTE, stepSeconds: 60},
  {key: '1h', label: 'Last 1 hour', seconds: HOUR, stepSeconds: 60},
  {key: '3h', label: 'Last 3 hours', seconds: 3 * HOUR, stepSeconds: 60},
  {key: '6h', label: 'Last 6 hours', seconds: 6 * HOUR, stepSeconds: 300},
  {key: '12h', label: 'Last 12 hours', seconds: 12 * HOUR, stepSeconds: 300},
  {key: '24h', label: 'Last 24 hours', seconds: DAY, stepSeconds: 300},
  {key: '2d', label: 'Last 2 days', seconds: 2 * DAY, stepSeconds: 300},
  {key: '7d', label: 'Last 7 days', seconds: 7 * DAY, stepSeconds: 1800},
  {key: '30d', label: 'Last 30 days', seconds: 30 * DAY, stepSeconds: 3600},
];

export const DEFAULT_QUICK_RANGE_KEY = '1h';

/** Either a quick range relative to "now", or a fixed window (picker or drag-to-zoom). */
export type TimeRange =
  | {kind: 'relative'; key: string; seconds: number; stepSeconds: number}
  | {kind: 'absolute'; start: number; end: number; stepSeconds: number};

export interface QueryWindow {
  start: number;
  end: number;
  stepSeconds: number;
}

export function quickRange(key: string): TimeRange {
  const q = QUICK_RANGES.find((r) => r.key === key) ?? QUICK_RANGES.find((r) => r.key === DEFAULT_QUICK_RANGE_KEY)!;
  return {kind: 'relative', key: q.key, seconds: q.seconds, stepSeconds: q.stepSeconds};
}

/**
 * Upstream's step for an absolute window (60 s up to 1 h, 300 s up to 1 day, 1800 s up to
 * 7 days, else 3600 s), raised when a very long window would exceed Prometheus's
 * 11,000-points-per-series limit.
 */
export function stepForSpan(spanSeconds: number): number {
  let step: number;
  if (spanSeconds <= HOUR) step = 60;
  else if (spanSeconds <= DAY) step = 300;
  else if (spanSeconds <= 7 * DAY) step = 1800;
  else step = 3600;
  return Math.max(step, Math.ceil(spanSeconds / (MAX_POINTS_PER_SERIES - 1)));
}

export function absoluteRange(start: number, end: number): TimeRange {
  const s = Math.floor(start);
  const e = Math.ceil(end);
  return {kind: 'absolute', start: s, end: e, stepSeconds: stepForSpan(e - s)};
}

/**
 * The window to query now. A relative range starts on a multiple of its step, so every
 * refresh evaluates at the same grid points and rate() lines do not wobble; it still ends
 * at "now" so the newest samples show.
 */
export function queryWindow(range: TimeRange, nowSeconds: number): QueryWindow {
  if (range.kind === 'absolute') return {start: range.start, end: range.end, stepSeconds: range.stepSeconds};
  const end = Math.floor(nowSeconds);
  const start = Math.floor((end - range.seconds) / range.stepSeconds) * range.stepSeconds;
  return {start, end, stepSeconds: range.stepSeconds};
}

const pad = (n: number): string => String(n).padStart(2, '0');

/** Local time as `YYYY-MM-DD HH:mm` (or with `:ss`). */
export function formatLocal(seconds: number, withSeconds = false): string {
  const d = new Date(seconds * 1000);
  const base = `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
  return withSeconds ? `${base}:${pad(d.getSeconds())}` : base;
}

/** The value format of an `<input type="datetime-local">` (`YYYY-MM-DDTHH:mm`). */
export function toDatetimeLocal(seconds: number): string {
  return formatLocal(seconds).replace(' ', 'T');
}

const DATETIME_LOCAL = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2}))?$/;

/** Parses `YYYY-MM-DDTHH:mm[:ss]` as local time; null when malformed or not a real date. */
export function parseDatetimeLocal(text: string): number | null {
  const m = DATETIME_LOCAL.exec(text.trim());
  if (!m) return null;
  const [year, month, day, hour, minute, second] = m.slice(1).map((p) => (p === undefined ? 0 : Number(p)));
  const d = new Date(year, month - 1, day, hour, minute, second);
  // Date rolls 2026-02-30 over to March: reject anything that did not survive as typed.
  if (d.getFullYear() !== year || d.getMonth() !== month - 1 || d.getDate() !== day || d.getHours() !== hour || d.getMinutes() !== minute) {
    return null;
  }
  return Math.floor(d.getTime() / 1000);
}

export type RangeValidation =
  | {ok: true; start: number; end: number}
  | {ok: false; field: 'from' | 'to'; problem: 'invalid' | 'order'};

export function validateAbsolute(fromText: string, toText: string): RangeValidation {
  const start = parseDatetimeLocal(fromText);
  if (start === null) return {ok: false, field: 'from', problem: 'invalid'};
  const end = parseDatetimeLocal(toText);
  if (end === null) return {ok: false, field: 'to', problem: 'invalid'};
  if (start >= end) return {ok: false, field: 'from', problem: 'order'};
  return {ok: true, start, end};
}
