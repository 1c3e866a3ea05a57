// PromQL functions with Prometheus 2.42's signatures and arithmetic (float samples only;
// this store has no native histograms). Range-vector functions work on a window
// [lo, hi) of a series' parallel time/value arrays so no per-step copies are made.

export type ValueType = 'scalar' | 'vector' | 'matrix' | 'string';

export interface FunctionSpec {
  args: ValueType[];
  /** 0: exactly args.length; n > 0: up to n more optional; -1: unbounded repeat of the last. */
  variadic: number;
  ret: ValueType;
}

const V: ValueType = 'vector';
const M: ValueType = 'matrix';
const S: ValueType = 'scalar';
const STR: ValueType = 'string';

const fn = (args: ValueType[], ret: ValueType = V, variadic = 0): FunctionSpec => ({args, ret, variadic});

export const FUNCTIONS: Record<string, FunctionSpec> = {
  abs: fn([V]),
  absent: fn([V]),
  absent_over_time: fn([M]),
  acos: fn([V]),
  acosh: fn([V]),
  asin: fn([V]),
  asinh: fn([V]),
  atan: fn([V]),
  atanh: fn([V]),
  avg_over_time: fn([M]),
  ceil: fn([V]),
  changes: fn([M]),
  clamp: fn([V, S, S]),
  clamp_max: fn([V, S]),
  clamp_min: fn([V, S]),
  cos: fn([V]),
  cosh: fn([V]),
  count_over_time: fn([M]),
  days_in_month: fn([V], V, 1),
  day_of_month: fn([V], V, 1),
  day_of_week: fn([V], V, 1),
  day_of_year: fn([V], V, 1),
  deg: fn([V]),
  delta: fn([M]),
  deriv: fn([M]),
  exp: fn([V]),
  floor: fn([V]),
  histogram_count: fn([V]),
  histogram_sum: fn([V]),
  histogram_fraction: fn([S, S, V]),
  histogram_quantile: fn([S, V]),
  holt_winters: fn([M, S, S]),
  hour: fn([V], V, 1),
  idelta: fn([M]),
  increase: fn([M]),
  irate: fn([M]),
  label_replace: fn([V, STR, STR, STR, STR]),
  label_join: fn([V, STR, STR, STR], V, -1),
  last_over_time: fn([M]),
  ln: fn([V]),
  log10: fn([V]),
  log2: fn([V]),
  max_over_time: fn([M]),
  min_over_time: fn([M]),
  minute: fn([V], V, 1),
  month: fn([V], V, 1),
  pi: fn([], S),
  predict_linear: fn([M, S]),
  present_over_time: fn([M]),
  quantile_over_time: fn([S, M]),
  rad: fn([V]),
  rate: fn([M]),
  resets: fn([M]),
  round: fn([V, S], V, 1),
  scalar: fn([V], S),
  sgn: fn([V]),
  sin: fn([V]),
  sinh: fn([V]),
  sort: fn([V]),
  sort_desc: fn([V]),
  sqrt: fn([V]),
  stddev_over_time: fn([M]),
  stdvar_over_time: fn([M]),
  sum_over_time: fn([M]),
  tan: fn([V]),
  tanh: fn([V]),
  time: fn([], S),
  timestamp: fn([V]),
  vector: fn([S]),
  year: fn([V], V, 1),
};

/** Functions the grammar knows (Prometheus 3.x) that 2.42 does not have. */
export const UNSUPPORTED_FUNCTIONS = new Set([
  'first_over_time',
  'histogram_avg',
  'histogram_quantiles',
  'histogram_stddev',
  'histogram_stdvar',
  'double_exponential_smoothing',
  'info',
  'mad_over_time',
  'ts_of_first_over_time',
  'ts_of_max_over_time',
  'ts_of_min_over_time',
  'ts_of_last_over_time',
  'sort_by_label',
  'sort_by_label_desc',
  'start',
  'end',
  'range',
  'step',
  'start_timestamp',
]);

// --- range-vector functions -----------------------------------------------------------

export interface RangeContext {
  /** Window bounds (ms) after offset/@: [rangeStart, rangeEnd]. */
  rangeStart: number;
  rangeEnd: number;
  rangeMs: number;
  /** Evaluation time of the step (ms). */
  ts: number;
  /** Values of the scalar arguments at this step, by argument position. */
  scalars: number[];
}

/** Returns the value for the window, or undefined to emit nothing. */
export type RangeFn = (t: ArrayLike<number>, v: ArrayLike<number>, lo: number, hi: number, ctx: RangeContext) => number | undefined;

function kahanInc(inc: number, sum: number, c: number): [number, number] {
  const t = sum + inc;
  if (Math.abs(sum) >= Math.abs(inc)) c += sum - t + inc;
  else c += inc - t + sum;
  return [t, c];
}

function extrapolatedRate(isCounter: boolean, isRate: boolean): RangeFn {
  return (t, v, lo, hi, ctx) => (hi - lo < 2 ? undefined : extrapolatedValue(t, v, lo, hi, ctx.rangeStart, ctx.rangeEnd, ctx.rangeMs, isCounter, isRate));
}

/**
 * rate / increase / delta over the window [lo, hi) (at least two samples) of the range
 * [rangeStart, rangeEnd]. Plain arguments and a number result, so the evaluator's
 * loop can call it without boxing (EXTRAPOLATED_FUNCTIONS).
 */
export function extrapolatedValue(
  t: ArrayLike<number>,
  v: ArrayLike<number>,
  lo: number,
  hi: number,
  rangeStart: number,
  rangeEnd: number,
  rangeMs: number,
  isCounter: boolean,
  isRate: boolean,
): number {
  const n = hi - lo;
  const first = v[lo];
  let result = v[hi - 1] - first;
  if (isCounter) {
    let prev = first;
    for (let i = lo + 1; i < hi; i++) {
      if (v[i] < prev) result += prev;
      prev = v[i];
    }
  }
  let durationToStart = (t[lo] - rangeStart) / 1000;
  const durationToEnd = (rangeEnd - t[hi - 1]) / 1000;
  const sampledInterval = (t[hi - 1] - t[lo]) / 1000;
  const avgBetween = sampledInterval / (n - 1);
  if (isCounter && result > 0 && first >= 0) {
    const durationToZero = sampledInterval * (first / result);
    if (durationToZero < durationToStart) durationToStart = durationToZero;
  }
  const threshold = avgBetween * 1.1;
  let extrapolateTo = sampledInterval;
  extrapolateTo += durationToStart < threshold ? durationToStart : avgBetween / 2;
  extrapolateTo += durationToEnd < threshold ? durationToEnd : avgBetween / 2;
  let factor = extrapolateTo / sampledInterval;
  if (isRate) factor /= rangeMs / 1000;
  return result * factor;
}

/** The functions extrapolatedValue computes: name → [isCounter, isRate]. */
export const EXTRAPOLATED_FUNCTIONS: ReadonlyMap<string, readonly [boolean, boolean]> = new Map([
  ['rate', [true, true]],
  ['increase', [true, false]],
  ['delta', [false, false]],
]);

function instantValue(isRate: boolean): RangeFn {
  return (t, v, lo, hi) => {
    if (hi - lo < 2) return undefined;
    const last = v[hi - 1];
    const prev = v[hi - 2];
    let result = isRate && last < prev ? last : last - prev;
    const interval = t[hi - 1] - t[hi - 2];
    if (interval === 0) return undefined;
    if (isRate) result /= interval / 1000;
    return result;
  };
}

function linearRegression(t: ArrayLike<number>, v: ArrayLike<number>, lo: number, hi: number, interceptTime: number): [number, number] {
  let n = 0;
  let sumX = 0;
  let cX = 0;
  let sumY = 0;
  let cY = 0;
  let sumXY = 0;
  let cXY = 0;
  let sumX2 = 0;
  let cX2 = 0;
  const initY = v[lo];
  let constY = true;
  for (let i = lo; i < hi; i++) {
    const y = v[i];
    if (constY && i > lo && y !== initY) constY = false;
    n += 1;
    const x = (t[i] - interceptTime) / 1e3;
    [sumX, cX] = kahanInc(x, sumX, cX);
    [sumY, cY] = kahanInc(y, sumY, cY);
    [sumXY, cXY] = kahanInc(x * y, sumXY, cXY);
    [sumX2, cX2] = kahanInc(x * x, sumX2, cX2);
  }
  if (constY) {
    if (!Number.isFinite(initY) && !Number.isNaN(initY)) return [NaN, NaN];
    return [0, initY];
  }
  sumX += cX;
  sumY += cY;
  sumXY += cXY;
  sumX2 += cX2;
  const covXY = sumXY - (sumX * sumY) / n;
  const varX = sumX2 - (sumX * sumX) / n;
  const slope = covXY / varX;
  return [slope, sumY / n - (slope * sumX) / n];
}

function stdvarOverTime(v: ArrayLike<number>, lo: number, hi: number): number {
  let count = 0;
  let mean = 0;
  let cMean = 0;
  let aux = 0;
  let cAux = 0;
  for (let i = lo; i < hi; i++) {
    count++;
    const delta = v[i] - (mean + cMean);
    [mean, cMean] = kahanInc(delta / count, mean, cMean);
    [aux, cAux] = kahanInc(delta * (v[i] - (mean + cMean)), aux, cAux);
  }
  return (aux + cAux) / count;
}

export const RANGE_FUNCTIONS: Record<string, RangeFn> = {
  rate: extrapolatedRate(true, true),
  increase: extrapolatedRate(true, false),
  delta: extrapolatedRate(false, false),
  irate: instantValue(true),
  idelta: instantValue(false),
  deriv: (t, v, lo, hi) => (hi - lo < 2 ? undefined : linearRegression(t, v, lo, hi, t[lo])[0]),
  predict_linear: (t, v, lo, hi, ctx) => {
    if (hi - lo < 2) return undefined;
    const [slope, intercept] = linearRegression(t, v, lo, hi, ctx.ts);
    return slope * ctx.scalars[1] + intercept;
  },
  avg_over_time: (_t, v, lo, hi) => {
    let mean = 0;
    let count = 0;
    let c = 0;
    for (let i = lo; i < hi; i++) {
      const x = v[i];
      count++;
      if (!Number.isFinite(mean) && !Number.isNaN(mean)) {
        if (!Number.isFinite(x) && !Number.isNaN(x) && mean > 0 === x > 0) continue;
        if (Number.isFinite(x)) continue;
      }
      [mean, c] = kahanInc(x / count - mean / count, mean, c);
    }
    if (!Number.isFinite(mean) && !Number.isNaN(mean)) return mean;
    return mean + c;
  },
  sum_over_time: (_t, v, lo, hi) => {
    let sum = 0;
    let c = 0;
    for (let i = lo; i < hi; i++) [sum, c] = kahanInc(v[i], sum, c);
    if (!Number.isFinite(sum) && !Number.isNaN(sum)) return sum;
    return sum + c;
  },
  count_over_time: (_t, _v, lo, hi) => hi - lo,
  min_over_time: (_t, v, lo, hi) => {
    let m = v[lo];
    for (let i = lo; i < hi; i++) if (v[i] < m || Number.isNaN(m)) m = v[i];
    return m;
  },
  max_over_time: (_t, v, lo, hi) => {
    let m = v[lo];
    for (let i = lo; i < hi; i++) if (v[i] > m || Number.isNaN(m)) m = v[i];
    return m;
  },
  last_over_time: (_t, v, _lo, hi) => v[hi - 1],
  present_over_time: () => 1,
  quantile_over_time: (_t, v, lo, hi, ctx) => {
    const vals: number[] = [];
    for (let i = lo; i < hi; i++) vals.push(v[i]);
    return quantile(ctx.scalars[0], vals);
  },
  stddev_over_time: (_t, v, lo, hi) => Math.sqrt(stdvarOverTime(v, lo, hi)),
  stdvar_over_time: (_t, v, lo, hi) => stdvarOverTime(v, lo, hi),
  changes: (_t, v, lo, hi) => {
    let changes = 0;
    let prev = v[lo];
    for (let i = lo + 1; i < hi; i++) {
      const cur = v[i];
      if (cur !== prev && !(Number.isNaN(cur) && Number.isNaN(prev))) changes++;
      prev = cur;
    }
    return changes;
  },
  resets: (_t, v, lo, hi) => {
    let resets = 0;
    let prev = v[lo];
    for (let i = lo + 1; i < hi; i++) {
      if (v[i] < prev) resets++;
      prev = v[i];
    }
    return resets;
  },
  holt_winters: (_t, v, lo, hi, ctx) => {
    const sf = ctx.scalars[1];
    const tf = ctx.scalars[2];
    if (sf <= 0 || sf >= 1) throw new RangeError(`invalid smoothing factor. Expected: 0 < sf < 1, got: ${sf.toFixed(6)}`);
    if (tf <= 0 || tf >= 1) throw new RangeError(`invalid trend factor. Expected: 0 < tf < 1, got: ${tf.toFixed(6)}`);
    if (hi - lo < 2) return undefined;
    let s0 = 0;
    let s1 = v[lo];
    let b = v[lo + 1] - v[lo];
    for (let i = 1; i < hi - lo; i++) {
      const x = sf * v[lo + i];
      b = i - 1 === 0 ? b : tf * (s1 - s0) + (1 - tf) * b;
      const y = (1 - sf) * (s1 + b);
      s0 = s1;
      s1 = x + y;
    }
    return s1;
  },
  absent_over_time: () => 1,
};

// --- shared math ------------------------------------------------------------------------

/** Go sort order of vectorByValueHeap: NaN first, then ascending. */
export function lessNaNFirst(a: number, b: number): number {
  if (Number.isNaN(a)) return Number.isNaN(b) ? 0 : -1;
  if (Number.isNaN(b)) return 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Prometheus' quantile(): linear interpolation between closest ranks. */
export function quantile(q: number, values: number[]): number {
  if (values.length === 0 || Number.isNaN(q)) return NaN;
  if (q < 0) return -Infinity;
  if (q > 1) return Infinity;
  values.sort(lessNaNFirst);
  const n = values.length;
  const rank = q * (n - 1);
  const lower = Math.max(0, Math.floor(rank));
  const upper = Math.min(n - 1, lower + 1);
  const weight = rank - Math.floor(rank);
  return values[lower] * (1 - weight) + values[upper] * weight;
}

export interface Bucket {
  upperBound: number;
  count: number;
}

/** Classic-histogram quantile with Prometheus 2.42's coalescing and monotonicity fix. */
export function bucketQuantile(q: number, input: Bucket[]): number {
  if (Number.isNaN(q)) return NaN;
  if (q < 0) return -Infinity;
  if (q > 1) return Infinity;
  const sorted = input.slice().sort((a, b) => a.upperBound - b.upperBound);
  if (sorted[sorted.length - 1].upperBound !== Infinity) return NaN;
  const buckets: Bucket[] = [];
  for (const b of sorted) {
    const last = buckets[buckets.length - 1];
    if (last && last.upperBound === b.upperBound) last.count += b.count;
    else buckets.push({upperBound: b.upperBound, count: b.count});
  }
  let max = buckets[0].count;
  for (let i = 1; i < buckets.length; i++) {
    if (buckets[i].count > max) max = buckets[i].count;
    else if (buckets[i].count < max) buckets[i].count = max;
  }
  if (buckets.length < 2) return NaN;
  const observations = buckets[buckets.length - 1].count;
  if (observations === 0) return NaN;
  let rank = q * observations;
  // sort.Search over all but the +Inf bucket: the first with count >= rank.
  let b = 0;
  {
    let lo = 0;
    let hi = buckets.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (!(buckets[mid].count >= rank)) lo = mid + 1;
      else hi = mid;
    }
    b = lo;
  }
  if (b === buckets.length - 1) return buckets[buckets.length - 2].upperBound;
  if (b === 0 && buckets[0].upperBound <= 0) return buckets[0].upperBound;
  let bucketStart = 0;
  const bucketEnd = buckets[b].upperBound;
  let count = buckets[b].count;
  if (b > 0) {
    bucketStart = buckets[b - 1].upperBound;
    count -= buckets[b - 1].count;
    rank -= buckets[b - 1].count;
  }
  return bucketStart + (bucketEnd - bucketStart) * (rank / count);
}

// --- simple instant-vector functions ----------------------------------------------------

export const SIMPLE_FUNCTIONS: Record<string, (v: number) => number> = {
  abs: Math.abs,
  ceil: Math.ceil,
  floor: Math.floor,
  exp: Math.exp,
  sqrt: Math.sqrt,
  ln: Math.log,
  log2: Math.log2,
  log10: Math.log10,
  sin: Math.sin,
  cos: Math.cos,
  tan: Math.tan,
  asin: Math.asin,
  acos: Math.acos,
  atan: Math.atan,
  sinh: Math.sinh,
  cosh: Math.cosh,
  tanh: Math.tanh,
  asinh: Math.asinh,
  acosh: Math.acosh,
  atanh: Math.atanh,
  rad: (v) => (v * Math.PI) / 180,
  deg: (v) => (v * 180) / Math.PI,
  sgn: (v) => (v < 0 ? -1 : v > 0 ? 1 : v),
};

function daysInMonth(d: Date): number {
  return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 0)).getUTCDate();
}

function dayOfYear(d: Date): number {
  return Math.floor((Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()) - Date.UTC(d.getUTCFullYear(), 0, 1)) / 86_400_000) + 1;
}

export const DATE_FUNCTIONS: Record<string, (d: Date) => number> = {
  days_in_month: daysInMonth,
  day_of_month: (d) => d.getUTCDate(),
  day_of_week: (d) => d.getUTCDay(),
  day_of_year: dayOfYear,
  hour: (d) => d.getUTCHours(),
  minute: (d) => d.getUTCMinutes(),
  month: (d) => d.getUTCMonth() + 1,
  year: (d) => d.getUTCFullYear(),
};

/** Go's time.Unix(int64(v), 0) for a float seconds value (truncation toward zero). */
export function dateFromSeconds(v: number): Date {
  return new Date(Math.trunc(v) * 1000);
}
