// The evaluator: Prometheus 2.42's model, step by step. Every expression evaluates to a
// matrix over the evaluator's steps [start, end] every `interval` ms; instant queries are
// the one-step case. Selectors read the store once per node; range functions slide a
// window over each series' samples; everything else runs per step on instant vectors.
//
// Staleness: a stale marker hides the series from instant selectors (the 5-minute
// lookback stops there) and is skipped inside range windows, as in Prometheus.

import {SampleColumns, appendSamples} from '../tsdb/querier/mod.ts';
import type {SeriesData, SeriesSource} from '../tsdb/storage.ts';
import {compileAnchored} from '../tsdb/labels/mod.ts';
import {
  type AggregateExpr,
  type AtModifier,
  type BinaryExpr,
  type Call,
  type Expr,
  type MatrixSelector,
  type SubqueryExpr,
  type VectorMatching,
  type VectorSelector,
  typeOf,
} from './ast.ts';
import {PromQLError, execError} from './errors.ts';
import {formatGoFloat} from './format.ts';
import {
  type Bucket,
  DATE_FUNCTIONS,
  EXTRAPOLATED_FUNCTIONS,
  RANGE_FUNCTIONS,
  type RangeContext,
  SIMPLE_FUNCTIONS,
  bucketQuantile,
  dateFromSeconds,
  extrapolatedValue,
  lessNaNFirst,
  quantile,
} from './functions.ts';
import {
  type Label,
  METRIC_NAME,
  dropMetricName,
  getLabel,
  keepLabels,
  keyWith,
  keyWithout,
  labelsKey,
  labelsToString,
  removeLabels,
  setLabel,
} from './labels.ts';

/** One series of an evaluated matrix: points as parallel arrays (few objects, little GC). */
export interface Series {
  labels: readonly Label[];
  t: number[];
  v: number[];
}

export type Matrix = Series[];

interface VElem {
  labels: readonly Label[];
  v: number;
  /** Per-series helper computed once (grouping key or matching signature). */
  h: string;
}

/** Where extrapolatedSteps stopped in a series: next step and window bounds. */
interface ExtrapolationWalk {
  step: number;
  lo: number;
  hi: number;
}

/** Raw samples of one selected series, as parallel arrays. */
interface RawSeries {
  labels: readonly Label[];
  t: Float64Array;
  v: Float64Array;
  stale: Uint8Array | null;
}

export interface EvalContext {
  source: SeriesSource;
  lookbackMs: number;
  maxSamples: number;
  /** Samples currently held (Prometheus' "currentSamples", plus raw samples loaded). */
  current: number;
  deadline: number;
  timeoutMs: number;
  signal?: AbortSignal;
  lastYield: number;
  /** Number of check() calls (diagnostics). */
  ops: number;
  /** Query start/end for `@ start()` / `@ end()`. */
  queryStart: number;
  queryEnd: number;
  /** Step of subqueries without one (Prometheus' default global evaluation_interval). */
  defaultSubqueryStepMs: number;
}

const YIELD_EVERY_MS = 5;

function tooManySamples(): PromQLError {
  return new PromQLError('too_many_samples', 'query processing would load too many samples into memory in query execution');
}

/** Go integer division (truncates toward zero). */
function goDiv(a: number, b: number): number {
  return Math.trunc(a / b);
}

function totalPoints(m: Matrix): number {
  let n = 0;
  for (const s of m) n += s.t.length;
  return n;
}

function checkUniqueLabelsets(labels: Iterable<readonly Label[]>): void {
  const seen = new Set<string>();
  for (const ls of labels) {
    const k = labelsKey(ls);
    if (seen.has(k)) throw execError('vector cannot contain metrics with the same labelset');
    seen.add(k);
  }
}

export class Evaluator {
  private readonly steps: number;

  constructor(
    readonly ctx: EvalContext,
    readonly start: number,
    readonly end: number,
    readonly interval: number,
  ) {
    this.steps = Math.floor((end - start) / interval) + 1;
  }

  /** Cancellation, timeout and yielding to the event loop; cheap enough for inner loops. */
  async check(): Promise<void> {
    const c = this.ctx;
    // Called per series or per step, so a clock read each time is cheap next to the work.
    c.ops++;
    if (c.signal?.aborted) throw new PromQLError('canceled', 'query was canceled in expression evaluation');
    const now = performance.now();
    if (now > c.deadline) throw new PromQLError('timeout', `query timed out in expression evaluation (timeout ${c.timeoutMs} ms)`);
    if (now - c.lastYield >= YIELD_EVERY_MS) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      c.lastYield = performance.now();
      if (c.signal?.aborted) throw new PromQLError('canceled', 'query was canceled in expression evaluation');
    }
  }

  private addSamples(n: number): void {
    this.ctx.current += n;
    if (this.ctx.current > this.ctx.maxSamples) throw tooManySamples();
  }

  private resolveAt(at: AtModifier | undefined): number | undefined {
    if (!at) return undefined;
    if (at.kind === 'time') return at.ms;
    return at.kind === 'start' ? this.ctx.queryStart : this.ctx.queryEnd;
  }

  async eval(e: Expr): Promise<Matrix> {
    await this.check();
    switch (e.kind) {
      case 'number':
        return this.constant(e.value);
      case 'string':
        throw execError('string literal evaluated as a vector');
      case 'vector':
        return this.vectorSelector(e, false);
      case 'matrix':
        return this.matrixSelectorRaw(e);
      case 'subquery':
        return this.subquery(e);
      case 'unary':
        return this.unary(e.expr);
      case 'binary':
        return this.binary(e);
      case 'aggregate':
        return this.aggregate(e);
      case 'call':
        return this.call(e);
    }
  }

  private constant(v: number): Matrix {
    const t: number[] = [];
    const vs: number[] = [];
    for (let i = 0, ts = this.start; i < this.steps; i++, ts += this.interval) {
      t.push(ts);
      vs.push(v);
    }
    this.addSamples(t.length);
    return [{labels: [], t, v: vs}];
  }

  // --- selectors ------------------------------------------------------------------------

  /**
   * Streams the selector's series in [mint, maxt], one at a time, so only one series' raw
   * samples are held (counted against maxSamples while the consumer works on it).
   */
  private async *loadEach(vs: VectorSelector, mint: number, maxt: number, keepStale: boolean): AsyncGenerator<RawSeries> {
    let iter: Iterable<SeriesData>;
    try {
      iter = this.ctx.source.select(vs.matchers, mint, maxt);
    } catch (err) {
      throw execError(`expanding series: ${(err as Error).message}`);
    }
    // Series of one selector tend to have similar lengths: size for the previous one.
    let expected = 0;
    for (const s of iter) {
      const cols = new SampleColumns(expected + (expected >>> 3));
      appendSamples(s.samples, cols, keepStale);
      expected = cols.length;
      const t = cols.t.subarray(0, cols.length);
      const v = cols.v.subarray(0, cols.length);
      const staleAt = cols.staleAt;
      let stale: Uint8Array | null = null;
      if (staleAt) {
        stale = new Uint8Array(t.length);
        for (const i of staleAt) stale[i] = 1;
      }
      if (t.length > 0) {
        this.addSamples(t.length);
        try {
          yield {labels: s.labels, t, v, stale};
        } finally {
          this.ctx.current -= t.length;
        }
      }
      await this.check();
    }
  }

  /** Instant-vector selector; with `sampleTime`, values are the samples' timestamps (timestamp()). */
  private async vectorSelector(vs: VectorSelector, sampleTime: boolean): Promise<Matrix> {
    const at = this.resolveAt(vs.at);
    // 2.42 quirk: timestamp(x @ t) ignores the selector's offset.
    const offset = sampleTime && at !== undefined ? 0 : vs.offset;
    const lookback = this.ctx.lookbackMs;
    const refStart = (at ?? this.start) - offset;
    const refEnd = (at ?? this.end) - offset;
    const out: Matrix = [];
    for await (const s of this.loadEach(vs, refStart - lookback, refEnd, true)) {
      const pt: number[] = [];
      const pv: number[] = [];
      const n = s.t.length;
      let j = 0;
      for (let i = 0, ts = this.start; i < this.steps; i++, ts += this.interval) {
        const ref = (at ?? ts) - offset;
        while (j < n && s.t[j] <= ref) j++;
        if (j === 0) continue;
        const k = j - 1;
        if (s.t[k] < ref - lookback) continue;
        if (s.stale !== null && s.stale[k] === 1) continue;
        pt.push(ts);
        pv.push(sampleTime ? s.t[k] / 1000 : s.v[k]);
      }
      this.addSamples(pt.length);
      if (pt.length > 0) out.push({labels: sampleTime ? dropMetricName(s.labels) : s.labels, t: pt, v: pv});
    }
    return out;
  }

  /** A range selector evaluated on its own (instant queries only): the raw samples. */
  private async matrixSelectorRaw(ms: MatrixSelector): Promise<Matrix> {
    const at = this.resolveAt(ms.vector.at);
    const maxt = (at ?? this.start) - ms.vector.offset;
    const out: Matrix = [];
    for await (const s of this.loadEach(ms.vector, maxt - ms.rangeMs, maxt, false)) out.push({labels: s.labels, t: Array.from(s.t), v: Array.from(s.v)});
    this.addSamples(totalPoints(out));
    return out;
  }

  private async subquery(sq: SubqueryExpr): Promise<Matrix> {
    const at = this.resolveAt(sq.at);
    const step = sq.stepMs > 0 ? sq.stepMs : this.ctx.defaultSubqueryStepMs;
    const refStart = (at ?? this.start) - sq.offset;
    const refEnd = (at ?? this.end) - sq.offset;
    let innerStart = step * goDiv(refStart - sq.rangeMs, step);
    if (innerStart < refStart - sq.rangeMs) innerStart += step;
    if (innerStart > refEnd) return [];
    const inner = new Evaluator(this.ctx, innerStart, refEnd, step);
    return inner.eval(sq.expr);
  }

  // --- generic per-step evaluation --------------------------------------------------------

  /**
   * Evaluates `inputs` (already evaluated matrices; null for string arguments) step by
   * step, calling `fn` with the instant vectors of each step. `prep` computes a helper
   * string per input series (grouping key / signature) once.
   */
  private async rangeEval(
    inputs: (Matrix | null)[],
    prep: ((ls: readonly Label[]) => string) | null,
    fn: (vectors: VElem[][], ts: number, step: number) => VElem[],
  ): Promise<Matrix> {
    const helpers = inputs.map((m) => (m ? m.map((s) => (prep ? prep(s.labels) : '')) : []));
    const cursors = inputs.map((m) => (m ? new Int32Array(m.length) : new Int32Array(0)));
    const inputSamples = inputs.reduce((n, m) => n + (m ? totalPoints(m) : 0), 0);
    const bySeries = new Map<string, Series>();
    let produced = 0;
    for (let step = 0, ts = this.start; step < this.steps; step++, ts += this.interval) {
      await this.check();
      const vectors: VElem[][] = inputs.map((m, i) => {
        const vec: VElem[] = [];
        if (!m) return vec;
        const cur = cursors[i];
        for (let si = 0; si < m.length; si++) {
          const ser = m[si];
          const c = cur[si];
          if (c < ser.t.length && ser.t[c] === ts) {
            vec.push({labels: ser.labels, v: ser.v[c], h: helpers[i][si]});
            cur[si] = c + 1;
          }
        }
        return vec;
      });
      const result = fn(vectors, ts, step);
      if (result.length > 1) checkUniqueLabelsets(result.map((r) => r.labels));
      produced += result.length;
      if (this.ctx.current + produced > this.ctx.maxSamples) throw tooManySamples();
      if (this.steps === 1) {
        this.ctx.current += produced - inputSamples;
        return result.map((r) => ({labels: r.labels, t: [ts], v: [r.v]}));
      }
      for (const r of result) {
        const k = labelsKey(r.labels);
        let s = bySeries.get(k);
        if (!s) {
          s = {labels: r.labels, t: [], v: []};
          bySeries.set(k, s);
        }
        s.t.push(ts);
        s.v.push(r.v);
      }
    }
    this.ctx.current += produced - inputSamples;
    return [...bySeries.values()];
  }

  private scalarAt(m: Matrix, step: number): number {
    // Scalar-typed expressions have exactly one point per step.
    return m[0].v[step];
  }

  // --- operators ------------------------------------------------------------------------

  private async unary(e: Expr): Promise<Matrix> {
    const m = await this.eval(e);
    const out = m.map((s) => ({labels: dropMetricName(s.labels), t: s.t, v: s.v.map((x) => -x)}));
    checkUniqueLabelsets(out.map((s) => s.labels));
    return out;
  }

  private async binary(e: BinaryExpr): Promise<Matrix> {
    const lt = typeOf(e.lhs);
    const rt = typeOf(e.rhs);
    const lhs = await this.eval(e.lhs);
    const rhs = await this.eval(e.rhs);
    const op = e.op;
    if (lt === 'scalar' && rt === 'scalar') {
      return this.rangeEval([lhs, rhs], null, (v) => [{labels: [], v: scalarBinop(op, v[0][0].v, v[1][0].v), h: ''}]);
    }
    if (lt === 'vector' && rt === 'vector') {
      const matching = e.matching!;
      const names = new Set(matching.labels);
      const sig = matching.on ? (ls: readonly Label[]) => keyWith(ls, names) : (ls: readonly Label[]) => keyWithout(ls, names);
      const resultCache = new Map<string, readonly Label[]>();
      switch (op) {
        case 'and':
          return this.rangeEval([lhs, rhs], sig, (v) => vectorAnd(v[0], v[1]));
        case 'or':
          return this.rangeEval([lhs, rhs], sig, (v) => vectorOr(v[0], v[1]));
        case 'unless':
          return this.rangeEval([lhs, rhs], sig, (v) => vectorUnless(v[0], v[1]));
        default:
          return this.rangeEval([lhs, rhs], sig, (v) => vectorBinop(op, v[0], v[1], matching, e.returnBool, resultCache));
      }
    }
    const swap = lt === 'scalar';
    const vec = swap ? rhs : lhs;
    const sc = swap ? lhs : rhs;
    return this.rangeEval([vec, sc], null, (v) => vectorScalarBinop(op, v[0], v[1][0].v, swap, e.returnBool));
  }

  // --- aggregation ----------------------------------------------------------------------

  private async aggregate(e: AggregateExpr): Promise<Matrix> {
    const grouping = [...e.grouping].sort();
    const groupSet = new Set(grouping);
    const prep = e.without ? (ls: readonly Label[]) => keyWithout(ls, groupSet) : (ls: readonly Label[]) => keyWith(ls, groupSet);
    const labelCache = new Map<string, readonly Label[]>();
    const outLabels = (ls: readonly Label[], key: string, names: ReadonlySet<string>): readonly Label[] => {
      let out = labelCache.get(key);
      if (!out) {
        out = e.without ? removeLabels(ls, new Set([...names, METRIC_NAME])) : keepLabels(ls, names);
        labelCache.set(key, out);
      }
      return out;
    };
    if (e.op === 'count_values') {
      const valueLabel = (e.param as {value: string}).value;
      if (!/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(valueLabel)) throw execError(`invalid label name ${JSON.stringify(valueLabel)}`);
      const names = e.without ? groupSet : new Set([...grouping, valueLabel]);
      const input = await this.eval(e.expr);
      return this.rangeEval([input], null, (v) => {
        const groups = new Map<string, {labels: readonly Label[]; count: number}>();
        for (const s of v[0]) {
          const metric = setLabel(s.labels, valueLabel, formatGoFloat(s.v));
          const key = e.without ? keyWithout(metric, names) : keyWith(metric, names);
          const g = groups.get(key);
          if (g) g.count++;
          else groups.set(key, {labels: outLabels(metric, key, names), count: 1});
        }
        return [...groups.values()].map((g) => ({labels: g.labels, v: g.count, h: ''}));
      });
    }
    const param = e.param ? await this.eval(e.param) : null;
    const input = await this.eval(e.expr);
    if (this.steps > 1 && SERIESWISE_AGGREGATES.has(e.op)) {
      return this.aggregateSeriesWise(e.op, input, prep, (ls, key) => outLabels(ls, key, groupSet));
    }
    return this.rangeEval([param, input], prep, (v, _ts, step) => {
      const p = param ? this.scalarAt(param, step) : 0;
      return aggregateStep(e.op, p, v[1], (s) => outLabels(s.labels, s.h, groupSet));
    });
  }

  /**
   * Range-query fast path for the simple aggregations: walks each input series once and
   * accumulates into per-group arrays indexed by step, instead of building a vector per
   * step. Per step, series are added in the same order as the step-wise path, so results
   * are bit-identical (including Prometheus' first-value and NaN rules).
   */
  private async aggregateSeriesWise(
    op: string,
    input: Matrix,
    keyOf: (ls: readonly Label[]) => string,
    labelsOf: (ls: readonly Label[], key: string) => readonly Label[],
  ): Promise<Matrix> {
    interface Acc {
      labels: readonly Label[];
      value: Float64Array;
      mean: Float64Array;
      count: Float64Array;
    }
    const steps = this.steps;
    const groups = new Map<string, Acc>();
    for (const s of input) {
      const key = keyOf(s.labels);
      let g = groups.get(key);
      if (!g) {
        g = {labels: labelsOf(s.labels, key), value: new Float64Array(steps), mean: new Float64Array(steps), count: new Float64Array(steps)};
        groups.set(key, g);
      }
      const {value, mean, count} = g;
      for (let i = 0; i < s.t.length; i++) {
        const step = (s.t[i] - this.start) / this.interval;
        const v = s.v[i];
        const c = count[step];
        if (c === 0) {
          count[step] = 1;
          mean[step] = v;
          value[step] = op === 'stddev' || op === 'stdvar' ? 0 : op === 'group' ? 1 : v;
          continue;
        }
        const n = c + 1;
        count[step] = n;
        switch (op) {
          case 'sum':
            value[step] += v;
            break;
          case 'avg': {
            const m = mean[step];
            if (isInf(m)) {
              if (isInf(v) && m > 0 === v > 0) break;
              if (Number.isFinite(v)) break;
            }
            mean[step] = m + (v / n - m / n);
            break;
          }
          case 'max':
            if (value[step] < v || Number.isNaN(value[step])) value[step] = v;
            break;
          case 'min':
            if (value[step] > v || Number.isNaN(value[step])) value[step] = v;
            break;
          case 'stddev':
          case 'stdvar': {
            const delta = v - mean[step];
            mean[step] += delta / n;
            value[step] += delta * (v - mean[step]);
            break;
          }
        }
      }
      await this.check();
    }
    const out: Matrix = [];
    let produced = 0;
    for (const g of groups.values()) {
      const t: number[] = [];
      const v: number[] = [];
      for (let step = 0, ts = this.start; step < steps; step++, ts += this.interval) {
        const c = g.count[step];
        if (c === 0) continue;
        t.push(ts);
        switch (op) {
          case 'avg':
            v.push(g.mean[step]);
            break;
          case 'count':
            v.push(c);
            break;
          case 'stdvar':
            v.push(g.value[step] / c);
            break;
          case 'stddev':
            v.push(Math.sqrt(g.value[step] / c));
            break;
          default:
            v.push(g.value[step]);
        }
      }
      produced += t.length;
      out.push({labels: g.labels, t, v});
    }
    this.ctx.current += produced - totalPoints(input);
    if (this.ctx.current > this.ctx.maxSamples) throw tooManySamples();
    return out;
  }

  // --- functions ------------------------------------------------------------------------

  private async call(e: Call): Promise<Matrix> {
    const name = e.func;
    if (name === 'timestamp' && e.args[0].kind === 'vector') return this.vectorSelector(e.args[0], true);
    const matrixIdx = e.args.findIndex((a) => a.kind === 'matrix' || a.kind === 'subquery');
    if (matrixIdx >= 0) return this.rangeFunction(e, matrixIdx);

    const inputs: (Matrix | null)[] = [];
    for (const a of e.args) inputs.push(typeOf(a) === 'string' ? null : await this.eval(a));
    const simple = SIMPLE_FUNCTIONS[name];
    if (simple) return this.rangeEval(inputs, null, (v) => v[0].map((s) => ({labels: dropMetricName(s.labels), v: simple(s.v), h: ''})));
    const date = DATE_FUNCTIONS[name];
    if (date) {
      if (inputs.length === 0) return this.rangeEval([], null, (_v, ts) => [{labels: [], v: date(dateFromSeconds(Math.trunc(ts / 1000))), h: ''}]);
      return this.rangeEval(inputs, null, (v) => v[0].map((s) => ({labels: dropMetricName(s.labels), v: date(dateFromSeconds(s.v)), h: ''})));
    }
    switch (name) {
      case 'time':
        return this.rangeEval([], null, (_v, ts) => [{labels: [], v: ts / 1000, h: ''}]);
      case 'pi':
        return this.constant(Math.PI);
      case 'vector':
        return this.rangeEval(inputs, null, (v) => [{labels: [], v: v[0][0].v, h: ''}]);
      case 'scalar':
        return this.rangeEval(inputs, null, (v) => [{labels: [], v: v[0].length === 1 ? v[0][0].v : NaN, h: ''}]);
      case 'timestamp':
        return this.rangeEval(inputs, null, (v, ts) => v[0].map((s) => ({labels: dropMetricName(s.labels), v: ts / 1000, h: ''})));
      case 'clamp':
        return this.rangeEval(inputs, null, (v) => {
          const min = v[1][0].v;
          const max = v[2][0].v;
          if (max < min) return [];
          return v[0].map((s) => ({labels: dropMetricName(s.labels), v: goMax(min, goMin(max, s.v)), h: ''}));
        });
      case 'clamp_min':
        return this.rangeEval(inputs, null, (v) => v[0].map((s) => ({labels: dropMetricName(s.labels), v: goMax(v[1][0].v, s.v), h: ''})));
      case 'clamp_max':
        return this.rangeEval(inputs, null, (v) => v[0].map((s) => ({labels: dropMetricName(s.labels), v: goMin(v[1][0].v, s.v), h: ''})));
      case 'round':
        return this.rangeEval(inputs, null, (v) => {
          const toNearest = v.length > 1 ? v[1][0].v : 1;
          const inv = 1 / toNearest;
          return v[0].map((s) => ({labels: dropMetricName(s.labels), v: Math.floor(s.v * inv + 0.5) / inv, h: ''}));
        });
      case 'sort':
      case 'sort_desc': {
        const dir = name === 'sort' ? 1 : -1;
        return this.rangeEval(inputs, null, (v) => v[0].slice().sort((a, b) => dir * lessNaNFirst(a.v, b.v)));
      }
      case 'absent': {
        const labels = absentLabels(e.args[0]);
        return this.rangeEval(inputs, null, (v) => (v[0].length > 0 ? [] : [{labels, v: 1, h: ''}]));
      }
      case 'histogram_quantile': {
        const cache: BucketCache = new Map();
        return this.rangeEval(inputs, null, (v) => histogramQuantileStep(v[0][0].v, v[1], cache));
      }
      case 'label_replace':
        return this.labelReplace(e, inputs[0]!);
      case 'label_join':
        return this.labelJoin(e, inputs[0]!);
      case 'histogram_count':
      case 'histogram_sum':
      case 'histogram_fraction':
        // Native histograms only; this store holds float samples.
        return [];
      default:
        throw execError(`function ${JSON.stringify(name)} is not implemented`);
    }
  }

  private labelReplace(e: Call, input: Matrix): Promise<Matrix> {
    const [dst, repl, src, regexStr] = e.args.slice(1).map((a) => (a as {value: string}).value);
    let re: RegExp;
    try {
      re = compileAnchored(regexStr);
    } catch {
      throw execError(`invalid regular expression in label_replace(): ${regexStr}`);
    }
    if (!/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(dst)) throw execError(`invalid destination label name in label_replace(): ${dst}`);
    const cache = new Map<string, readonly Label[]>();
    return this.rangeEval([input], null, (v) =>
      v[0].map((s) => {
        const k = labelsKey(s.labels);
        let out = cache.get(k);
        if (!out) {
          const m = re.exec(getLabel(s.labels, src));
          out = m ? setLabel(s.labels, dst, expandTemplate(repl, m)) : s.labels;
          cache.set(k, out);
        }
        return {labels: out, v: s.v, h: ''};
      }),
    );
  }

  private labelJoin(e: Call, input: Matrix): Promise<Matrix> {
    const strs = e.args.slice(1).map((a) => (a as {value: string}).value);
    const [dst, sep, ...srcs] = strs;
    for (const s of srcs) if (!/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(s)) throw execError(`invalid source label name in label_join(): ${s}`);
    if (!/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(dst)) throw execError(`invalid destination label name in label_join(): ${dst}`);
    return this.rangeEval([input], null, (v) =>
      v[0].map((s) => ({labels: setLabel(s.labels, dst, srcs.map((n) => getLabel(s.labels, n)).join(sep)), v: s.v, h: ''})),
    );
  }

  /** Functions over a range vector (selector or subquery): one sliding window per series. */
  private async rangeFunction(e: Call, matrixIdx: number): Promise<Matrix> {
    const name = e.func;
    const f = RANGE_FUNCTIONS[name];
    if (!f) throw execError(`function ${JSON.stringify(name)} is not implemented`);
    const scalarArgs: (Matrix | null)[] = [];
    for (let i = 0; i < e.args.length; i++) scalarArgs.push(i === matrixIdx ? null : await this.eval(e.args[i]));
    const arg = e.args[matrixIdx] as MatrixSelector | SubqueryExpr;
    let series: AsyncIterable<RawSeries> | Iterable<RawSeries>;
    let subquerySamples = 0;
    let at: number | undefined;
    let offset: number;
    const rangeMs = arg.rangeMs;
    if (arg.kind === 'matrix') {
      at = this.resolveAt(arg.vector.at);
      offset = arg.vector.offset;
      series = this.loadEach(arg.vector, (at ?? this.start) - offset - rangeMs, (at ?? this.end) - offset, false);
    } else {
      at = this.resolveAt(arg.at);
      offset = arg.offset;
      const m = await this.subquery(arg);
      series = m.map((s) => ({labels: s.labels, t: Float64Array.from(s.t), v: Float64Array.from(s.v), stale: null}));
      subquerySamples = totalPoints(m);
    }
    const out: Matrix = [];
    const rctx: RangeContext = {rangeStart: 0, rangeEnd: 0, rangeMs, ts: 0, scalars: new Array<number>(e.args.length).fill(0)};
    const keepName = name === 'last_over_time';
    // With @ the window is the same at every step: compute once (Prometheus evaluates such
    // step-invariant calls once, at the start). predict_linear uses the step time, so not it.
    const invariant = at !== undefined && name !== 'predict_linear' && e.args.every((a, i) => i === matrixIdx || a.kind === 'number');
    const steps = invariant ? 1 : this.steps;
    const extrapolated = invariant ? undefined : EXTRAPOLATED_FUNCTIONS.get(name);
    let work = 0;
    for await (const s of series) {
      const pt: number[] = [];
      const pv: number[] = [];
      if (extrapolated !== undefined) {
        const w: ExtrapolationWalk = {step: 0, lo: 0, hi: 0};
        while (w.step < steps) {
          this.extrapolatedSteps(s, w, at, offset, rangeMs, extrapolated[0], extrapolated[1], pt, pv);
          if (w.step < steps) await this.check();
        }
        if (pt.length > 0) {
          this.addSamples(pt.length);
          out.push({labels: dropMetricName(s.labels), t: pt, v: pv});
        }
        await this.check();
        continue;
      }
      const n = s.t.length;
      let lo = 0;
      let hi = 0;
      for (let step = 0, ts = this.start; step < steps; step++, ts += this.interval) {
        const ref = (at ?? ts) - offset;
        const mint = ref - rangeMs;
        while (hi < n && s.t[hi] <= ref) hi++;
        while (lo < hi && s.t[lo] < mint) lo++;
        if (hi === lo) continue;
        for (let j = 0; j < scalarArgs.length; j++) {
          const sa = scalarArgs[j];
          if (sa) rctx.scalars[j] = this.scalarAt(sa, step);
        }
        rctx.rangeStart = mint;
        rctx.rangeEnd = ref;
        rctx.ts = ts;
        let val: number | undefined;
        try {
          val = f(s.t, s.v, lo, hi, rctx);
        } catch (err) {
          if (err instanceof RangeError) throw execError(err.message);
          throw err;
        }
        // Long windows (e.g. [30d] every step) must not hold the event loop for one series.
        work += hi - lo;
        if (work > 500_000) {
          work = 0;
          await this.check();
        }
        if (val !== undefined) {
          if (invariant) {
            for (let i = 0, t = this.start; i < this.steps; i++, t += this.interval) {
              pt.push(t);
              pv.push(val);
            }
          } else {
            pt.push(ts);
            pv.push(val);
          }
        }
      }
      if (pt.length > 0) {
        this.addSamples(pt.length);
        out.push({labels: keepName ? s.labels : dropMetricName(s.labels), t: pt, v: pv});
      }
      await this.check();
    }
    this.ctx.current -= subquerySamples;
    if (name === 'absent_over_time') return this.absentOverTime(out, e.args[matrixIdx]);
    checkUniqueLabelsets(out.map((s) => s.labels));
    return out;
  }

  /**
   * rate / increase / delta of one series, the generic step loop with the function
   * inlined (no per-step closure call or boxed result). Continues `w` from its step
   * and returns after the last step or after ~500k window samples, to let the caller yield.
   */
  private extrapolatedSteps(
    s: RawSeries,
    w: ExtrapolationWalk,
    at: number | undefined,
    offset: number,
    rangeMs: number,
    isCounter: boolean,
    isRate: boolean,
    pt: number[],
    pv: number[],
  ): void {
    const {t, v} = s;
    const n = t.length;
    const steps = this.steps;
    const interval = this.interval;
    let {lo, hi, step} = w;
    let ts = this.start + step * interval;
    let work = 0;
    for (; step < steps; step++, ts += interval) {
      const ref = (at ?? ts) - offset;
      const mint = ref - rangeMs;
      while (hi < n && t[hi] <= ref) hi++;
      while (lo < hi && t[lo] < mint) lo++;
      if (hi - lo < 2) continue;
      pt.push(ts);
      pv.push(extrapolatedValue(t, v, lo, hi, mint, ref, rangeMs, isCounter, isRate));
      work += hi - lo;
      if (work > 500_000) {
        step++;
        break;
      }
    }
    w.lo = lo;
    w.hi = hi;
    w.step = step;
  }

  private absentOverTime(mat: Matrix, arg: Expr): Matrix {
    for (const s of mat) if (s.t.length === this.steps) return [];
    const found = new Set<number>();
    for (const s of mat) for (const t of s.t) found.add(t);
    if (found.size === this.steps) return [];
    const t: number[] = [];
    for (let i = 0, ts = this.start; i < this.steps; i++, ts += this.interval) if (!found.has(ts)) t.push(ts);
    return [{labels: absentLabels(arg), t, v: t.map(() => 1)}];
  }
}

// --- per-step helpers -------------------------------------------------------------------

/** Go's math.Max / math.Min: NaN wins, and +0 > -0. */
function goMax(a: number, b: number): number {
  if (Number.isNaN(a) || Number.isNaN(b)) return NaN;
  return Math.max(a, b);
}

function goMin(a: number, b: number): number {
  if (Number.isNaN(a) || Number.isNaN(b)) return NaN;
  return Math.min(a, b);
}

/** Go's math.Mod: result has the sign of x. JS % matches for finite values. */
function goMod(x: number, y: number): number {
  return x % y;
}

function arith(op: string, l: number, r: number): number {
  switch (op) {
    case '+':
      return l + r;
    case '-':
      return l - r;
    case '*':
      return l * r;
    case '/':
      return l / r;
    case '%':
      return goMod(l, r);
    case '^':
      return goPow(l, r);
    case 'atan2':
      return Math.atan2(l, r);
    default:
      throw execError(`operator ${JSON.stringify(op)} not allowed here`);
  }
}

/** Go's math.Pow differs from JS `**` for pow(±1, ±Inf) and pow(1, NaN) (Go: 1). */
function goPow(x: number, y: number): number {
  if (x === 1 || y === 0) return 1;
  if (x === -1 && !Number.isFinite(y) && !Number.isNaN(y)) return 1;
  return x ** y;
}

function compare(op: string, l: number, r: number): boolean {
  switch (op) {
    case '==':
      return l === r;
    case '!=':
      return l !== r;
    case '>':
      return l > r;
    case '<':
      return l < r;
    case '>=':
      return l >= r;
    case '<=':
      return l <= r;
    default:
      return false;
  }
}

function isCompareOp(op: string): boolean {
  return op === '==' || op === '!=' || op === '>' || op === '<' || op === '>=' || op === '<=';
}

function scalarBinop(op: string, l: number, r: number): number {
  if (isCompareOp(op)) return compare(op, l, r) ? 1 : 0;
  return arith(op, l, r);
}

/** Value and keep-flag of op on two vector elements. */
function elemBinop(op: string, l: number, r: number): [number, boolean] {
  if (isCompareOp(op)) return [l, compare(op, l, r)];
  return [arith(op, l, r), true];
}

function dropsMetricName(op: string): boolean {
  return op === '+' || op === '-' || op === '*' || op === '/' || op === '%' || op === '^';
}

function vectorAnd(lhs: VElem[], rhs: VElem[]): VElem[] {
  if (lhs.length === 0 || rhs.length === 0) return [];
  const sigs = new Set(rhs.map((r) => r.h));
  return lhs.filter((l) => sigs.has(l.h));
}

function vectorOr(lhs: VElem[], rhs: VElem[]): VElem[] {
  if (lhs.length === 0) return rhs.slice();
  if (rhs.length === 0) return lhs.slice();
  const sigs = new Set(lhs.map((l) => l.h));
  return lhs.concat(rhs.filter((r) => !sigs.has(r.h)));
}

function vectorUnless(lhs: VElem[], rhs: VElem[]): VElem[] {
  if (lhs.length === 0 || rhs.length === 0) return lhs.slice();
  const sigs = new Set(rhs.map((r) => r.h));
  return lhs.filter((l) => !sigs.has(l.h));
}

function matchedLabelsString(ls: readonly Label[], matching: VectorMatching): string {
  const names = new Set(matching.labels);
  const kept = matching.on ? keepLabels(ls, names) : removeLabels(ls, new Set([...names, METRIC_NAME]));
  return labelsToString(kept);
}

function vectorBinop(
  op: string,
  lhsIn: VElem[],
  rhsIn: VElem[],
  matching: VectorMatching,
  returnBool: boolean,
  resultCache: Map<string, readonly Label[]>,
): VElem[] {
  if (lhsIn.length === 0 || rhsIn.length === 0) return [];
  const oneToMany = matching.card === 'one-to-many';
  const lhs = oneToMany ? rhsIn : lhsIn;
  const rhs = oneToMany ? lhsIn : rhsIn;
  const rightSigs = new Map<string, VElem>();
  for (const rs of rhs) {
    const dup = rightSigs.get(rs.h);
    if (dup) {
      throw execError(
        `found duplicate series for the match group ${matchedLabelsString(rs.labels, matching)} on the ${oneToMany ? 'left' : 'right'} hand-side of the operation: [${labelsToString(rs.labels)}, ${labelsToString(dup.labels)}];many-to-many matching not allowed: matching labels must be unique on one side`,
      );
    }
    rightSigs.set(rs.h, rs);
  }
  const matchedSigs = new Map<string, Set<string> | null>();
  const out: VElem[] = [];
  for (const ls of lhs) {
    const rs = rightSigs.get(ls.h);
    if (!rs) continue;
    let vl = ls.v;
    let vr = rs.v;
    if (oneToMany) [vl, vr] = [vr, vl];
    const [computed, keep] = elemBinop(op, vl, vr);
    let value = computed;
    if (returnBool) {
      value = keep ? 1 : 0;
    } else if (!keep) continue;
    let metric = resultMetric(ls.labels, rs.labels, op, matching, resultCache);
    if (returnBool) metric = dropMetricName(metric);
    const exists = matchedSigs.has(ls.h);
    if (matching.card === 'one-to-one') {
      if (exists) throw execError('multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)');
      matchedSigs.set(ls.h, null);
    } else {
      const insertSig = labelsKey(metric);
      let inserted = matchedSigs.get(ls.h);
      if (!inserted) {
        inserted = new Set();
        matchedSigs.set(ls.h, inserted);
      } else if (inserted.has(insertSig)) {
        throw execError('multiple matches for labels: grouping labels must ensure unique matches');
      }
      inserted.add(insertSig);
    }
    out.push({labels: metric, v: value, h: ''});
  }
  return out;
}

function resultMetric(lhs: readonly Label[], rhs: readonly Label[], op: string, matching: VectorMatching, cache: Map<string, readonly Label[]>): readonly Label[] {
  const key = labelsKey(lhs) + '\u0002' + labelsKey(rhs);
  const hit = cache.get(key);
  if (hit) return hit;
  let out: readonly Label[] = lhs;
  if (dropsMetricName(op)) out = dropMetricName(out);
  if (matching.card === 'one-to-one') {
    const names = new Set(matching.labels);
    out = matching.on ? keepLabels(out, names) : removeLabels(out, names);
  }
  for (const ln of matching.include) out = setLabel(out, ln, getLabel(rhs, ln));
  cache.set(key, out);
  return out;
}

function vectorScalarBinop(op: string, lhs: VElem[], scalar: number, swap: boolean, returnBool: boolean): VElem[] {
  const out: VElem[] = [];
  const comparison = isCompareOp(op);
  for (const s of lhs) {
    let lv = s.v;
    let rv = scalar;
    if (swap) [lv, rv] = [rv, lv];
    let [value, keep] = elemBinop(op, lv, rv);
    if (comparison && swap) value = rv;
    if (returnBool) {
      value = keep ? 1 : 0;
      keep = true;
    }
    if (!keep) continue;
    out.push({labels: dropsMetricName(op) || returnBool ? dropMetricName(s.labels) : s.labels, v: value, h: ''});
  }
  return out;
}

// --- aggregation per step ---------------------------------------------------------------

const SERIESWISE_AGGREGATES = new Set(['sum', 'avg', 'min', 'max', 'count', 'group', 'stddev', 'stdvar']);

interface Group {
  labels: readonly Label[];
  value: number;
  mean: number;
  count: number;
  heap: VElem[];
  values: number[];
}

type Less = (a: VElem, b: VElem) => boolean;

const topLess: Less = (a, b) => Number.isNaN(a.v) || a.v < b.v;
const bottomLess: Less = (a, b) => Number.isNaN(a.v) || a.v > b.v;

// Go's container/heap, step for step, so ties pick the same series as Prometheus.
function heapUp(h: VElem[], j: number, less: Less): void {
  for (;;) {
    const i = Math.trunc((j - 1) / 2);
    if (i === j || !less(h[j], h[i])) break;
    [h[i], h[j]] = [h[j], h[i]];
    j = i;
  }
}

function heapDown(h: VElem[], i0: number, n: number, less: Less): void {
  let i = i0;
  for (;;) {
    const j1 = 2 * i + 1;
    if (j1 >= n) break;
    let j = j1;
    const j2 = j1 + 1;
    if (j2 < n && less(h[j2], h[j1])) j = j2;
    if (!less(h[j], h[i])) break;
    [h[i], h[j]] = [h[j], h[i]];
    i = j;
  }
}

function heapPush(h: VElem[], x: VElem, less: Less): void {
  h.push(x);
  heapUp(h, h.length - 1, less);
}

function heapPop(h: VElem[], less: Less): void {
  const n = h.length - 1;
  [h[0], h[n]] = [h[n], h[0]];
  heapDown(h, 0, n, less);
  h.pop();
}

function isInf(v: number): boolean {
  return v === Infinity || v === -Infinity;
}

function aggregateStep(op: string, param: number, vec: VElem[], labelsOf: (s: VElem) => readonly Label[]): VElem[] {
  let k = 0;
  if (op === 'topk' || op === 'bottomk') {
    if (!(Math.abs(param) < 2 ** 63) && !Number.isNaN(param)) throw execError(`Scalar value ${formatGoFloat(param)} overflows int64`);
    if (Number.isNaN(param)) throw execError(`Scalar value NaN overflows int64`);
    k = Math.trunc(param);
    if (k < 1) return [];
  }
  const groups = new Map<string, Group>();
  const order: Group[] = [];
  const less = op === 'topk' ? topLess : bottomLess;
  for (const s of vec) {
    const g = groups.get(s.h);
    if (!g) {
      const ng: Group = {labels: labelsOf(s), value: s.v, mean: s.v, count: 1, heap: [], values: []};
      if (op === 'stddev' || op === 'stdvar') ng.value = 0;
      else if (op === 'topk' || op === 'bottomk') ng.heap = [s];
      else if (op === 'quantile') ng.values = [s.v];
      else if (op === 'group') ng.value = 1;
      groups.set(s.h, ng);
      order.push(ng);
      continue;
    }
    switch (op) {
      case 'sum':
        g.value += s.v;
        break;
      case 'avg': {
        g.count++;
        if (isInf(g.mean)) {
          if (isInf(s.v) && g.mean > 0 === s.v > 0) break;
          if (Number.isFinite(s.v)) break;
        }
        g.mean += s.v / g.count - g.mean / g.count;
        break;
      }
      case 'max':
        if (g.value < s.v || Number.isNaN(g.value)) g.value = s.v;
        break;
      case 'min':
        if (g.value > s.v || Number.isNaN(g.value)) g.value = s.v;
        break;
      case 'count':
        g.count++;
        break;
      case 'stddev':
      case 'stdvar': {
        g.count++;
        const delta = s.v - g.mean;
        g.mean += delta / g.count;
        g.value += delta * (s.v - g.mean);
        break;
      }
      case 'topk':
      case 'bottomk': {
        const h = g.heap;
        const top = h[0].v;
        const admit = op === 'topk' ? top < s.v : top > s.v;
        if (h.length < k || admit || Number.isNaN(top)) {
          if (h.length === k) {
            if (k === 1) {
              h[0] = s;
              break;
            }
            heapPop(h, less);
          }
          heapPush(h, s, less);
        }
        break;
      }
      case 'quantile':
        g.values.push(s.v);
        break;
      case 'group':
        break;
    }
  }
  const out: VElem[] = [];
  for (const g of order) {
    switch (op) {
      case 'avg':
        out.push({labels: g.labels, v: g.mean, h: ''});
        break;
      case 'count':
        out.push({labels: g.labels, v: g.count, h: ''});
        break;
      case 'stdvar':
        out.push({labels: g.labels, v: g.value / g.count, h: ''});
        break;
      case 'stddev':
        out.push({labels: g.labels, v: Math.sqrt(g.value / g.count), h: ''});
        break;
      case 'topk':
      case 'bottomk': {
        const dir = op === 'topk' ? -1 : 1;
        const sorted = g.heap.slice().sort((a, b) => dir * lessNaNFirst(a.v, b.v));
        for (const s of sorted) out.push({labels: s.labels, v: s.v, h: ''});
        break;
      }
      case 'quantile':
        out.push({labels: g.labels, v: quantile(param, g.values), h: ''});
        break;
      default:
        out.push({labels: g.labels, v: g.value, h: ''});
    }
  }
  return out;
}

// --- histogram_quantile -----------------------------------------------------------------

/** Go's strconv.ParseFloat for `le` values. */
function parseLe(t: string): number | null {
  if (t === '' || t.trim() !== t) return null;
  if (/^[+-]?(inf|infinity)$/i.test(t)) return t.startsWith('-') ? -Infinity : Infinity;
  if (/^[+-]?nan$/i.test(t)) return NaN;
  if (/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(t)) return Number(t);
  return null;
}

/** What histogram_quantile needs of one input series; the same at every step. */
interface BucketSeries {
  /** The parsed `le`, or null if it does not parse (the series is ignored). */
  upperBound: number | null;
  /** Group key: every label but `le` (the metric name included). */
  key: string;
  /** Output labels: without `le` and the metric name. */
  labels: readonly Label[];
}

/** Per-series facts, cached by label set object (series keep theirs across steps). */
type BucketCache = Map<readonly Label[], BucketSeries>;

function bucketSeries(ls: readonly Label[], cache: BucketCache): BucketSeries {
  let b = cache.get(ls);
  if (b === undefined) {
    b = {upperBound: parseLe(getLabel(ls, 'le')), key: keyWithout(ls, LE_SET) + '\u0003' + getLabel(ls, METRIC_NAME), labels: removeLabels(ls, LE_AND_NAME)};
    cache.set(ls, b);
  }
  return b;
}

function histogramQuantileStep(q: number, vec: VElem[], cache: BucketCache): VElem[] {
  const groups = new Map<string, {labels: readonly Label[]; buckets: Bucket[]}>();
  for (const s of vec) {
    const info = bucketSeries(s.labels, cache);
    const ub = info.upperBound;
    if (ub === null) continue;
    let g = groups.get(info.key);
    if (!g) {
      g = {labels: info.labels, buckets: []};
      groups.set(info.key, g);
    }
    g.buckets.push({upperBound: ub, count: s.v});
  }
  const out: VElem[] = [];
  for (const g of groups.values()) out.push({labels: g.labels, v: bucketQuantile(q, g.buckets), h: ''});
  return out;
}

const LE_SET = new Set(['le']);
const LE_AND_NAME = new Set(['le', METRIC_NAME]);

// --- absent -----------------------------------------------------------------------------

function absentLabels(arg: Expr): readonly Label[] {
  const vs = arg.kind === 'vector' ? arg : arg.kind === 'matrix' ? arg.vector : null;
  if (!vs) return [];
  let out: Label[] = [];
  const has = new Set<string>();
  for (const m of vs.matchers) {
    if (m.name === METRIC_NAME) continue;
    if (m.type === '=' && !has.has(m.name)) {
      out = setLabel(out, m.name, m.value);
      has.add(m.name);
    } else {
      out = setLabel(out, m.name, '');
    }
  }
  return out;
}

// --- label_replace templates ------------------------------------------------------------

/** Go's regexp.Expand: $1, ${1}, $name, ${name}, $$; unknown groups expand to "". */
export function expandTemplate(template: string, m: RegExpExecArray): string {
  let out = '';
  let i = 0;
  while (i < template.length) {
    const d = template.indexOf('$', i);
    if (d < 0) {
      out += template.slice(i);
      break;
    }
    out += template.slice(i, d);
    i = d + 1;
    if (template[i] === '$') {
      out += '$';
      i++;
      continue;
    }
    let name = '';
    let j = i;
    if (template[j] === '{') {
      j++;
      const start = j;
      while (j < template.length && /[\p{L}\p{Nd}_]/u.test(template[j])) j++;
      if (j === start || template[j] !== '}') {
        out += '$';
        continue;
      }
      name = template.slice(start, j);
      j++;
    } else {
      const start = j;
      while (j < template.length && /[\p{L}\p{Nd}_]/u.test(template[j])) j++;
      if (j === start) {
        out += '$';
        continue;
      }
      name = template.slice(start, j);
    }
    i = j;
    if (/^\d+$/.test(name)) {
      const num = Number(name);
      if (num < m.length && m[num] !== undefined) out += m[num];
    } else if (m.groups && m.groups[name] !== undefined) {
      out += m.groups[name];
    }
  }
  return out;
}
