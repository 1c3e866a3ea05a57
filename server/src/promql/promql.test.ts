// Unit tests of the evaluator on small in-memory series with hand-computed answers.
// Exact Prometheus parity over realistic data is prometheus.test.ts's job.

import assert from 'node:assert/strict';
import {describe, test} from 'node:test';
import {memorySource} from '../tsdb/querier/mod.ts';
import {expandTemplate} from './engine.ts';
import {formatGoFloat} from './format.ts';
import {PromQLError, type QueryResult, instantQuery, parseQuery, rangeQuery, toPrometheusData} from './mod.ts';

const S = 1000;
const MIN = 60 * S;

/** x{i="a"}: 0, 10, 20, … every 15 s from t=0 (counter); g: a gauge with a stale marker and a gap. */
const src = memorySource([
  {labels: {__name__: 'x', job: 'j', i: 'a'}, samples: Array.from({length: 41}, (_, k) => ({t: k * 15 * S, v: k * 10}))},
  {labels: {__name__: 'x', job: 'j', i: 'b'}, samples: Array.from({length: 41}, (_, k) => ({t: k * 15 * S, v: k < 20 ? k * 5 : (k - 20) * 5}))},
  {
    labels: {__name__: 'g', i: 'a'},
    samples: [
      {t: 0, v: 1},
      {t: 60 * S, v: 2},
      {t: 120 * S, v: 0, stale: true},
      {t: 600 * S, v: 5},
    ],
  },
  {labels: {__name__: 'g', i: 'b'}, samples: [{t: 0, v: 7}]},
  {labels: {__name__: 'y', job: 'j', i: 'a'}, samples: Array.from({length: 41}, (_, k) => ({t: k * 15 * S, v: 1}))},
  ...[
    ['0.1', 10],
    ['0.5', 8], // non-monotonic on purpose
    ['1', 30],
    ['+Inf', 40],
  ].map(([le, v]) => ({labels: {__name__: 'h_bucket', le: le as string}, samples: [{t: 0, v: v as number}]})),
]);

function vec(r: QueryResult): Record<string, number> {
  assert.equal(r.resultType, 'vector');
  const out: Record<string, number> = {};
  for (const e of r.result as {metric: Record<string, string>; v: number}[]) out[JSON.stringify(e.metric)] = e.v;
  return out;
}

async function one(q: string, t: number): Promise<number[]> {
  const r = await instantQuery(src, q, t);
  if (r.resultType === 'scalar') return [r.result.v];
  assert.equal(r.resultType, 'vector');
  return (r.result as {v: number}[]).map((e) => e.v).sort((a, b) => a - b);
}

async function rejects(p: Promise<unknown>, type: PromQLError['type'], re: RegExp): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof PromQLError, String(err));
    assert.equal(err.type, type);
    assert.match(err.message, re);
    return true;
  });
}

describe('parsing', () => {
  test('errors are bad_data with a position', () => {
    for (const [q, re] of [
      ['sum(x', /unexpected end of input/],
      ['foo(x)', /unknown function with name "foo"/],
      ['rate(x)', /expected type range vector in call to function "rate", got instant vector/],
      ['x[5m] + 1', /binary expression must contain only scalar and instant vector types/],
      ['1 > 2', /comparisons between scalars must use BOOL modifier/],
      ['x offset 1m offset 2m', /offset may not be set multiple times/],
      ['{}', /at least one non-empty matcher/],
      ['x{a=~"("}', /error parsing regexp/],
      ['sum(x) offset 5m', /offset modifier must be preceded by/],
      ['1 and 2', /set operator "and" not allowed in binary scalar expression/],
      ['x + bool x', /bool modifier can only be used on comparison operators/],
      ['', /no expression found/],
    ] as const) {
      assert.throws(
        () => parseQuery(q),
        (err: unknown) => err instanceof PromQLError && err.type === 'bad_data' && re.test(err.message) && typeof err.position === 'number',
        q,
      );
    }
  });

  test('newer syntax is refused naming the construct', () => {
    for (const [q, what] of [
      ['first_over_time(x[5m])', 'function "first_over_time"'],
      ['limitk(2, x)', 'aggregation "limitk"'],
      ['x[5m+1m]', 'duration expressions'],
      ['{"x"}', 'quoted label names'],
      ['x + fill(0) x', 'fill modifiers'],
    ] as const) {
      assert.throws(() => parseQuery(q), (err: unknown) => err instanceof PromQLError && err.type === 'bad_data' && err.message.includes(`unsupported: ${what}`), q);
    }
  });

  test('precedence: ^ is right-associative and binds tighter than unary minus', async () => {
    assert.deepEqual(await one('2 ^ 3 ^ 2', 0), [512]);
    assert.deepEqual(await one('-2 ^ 2', 0), [-4]);
    assert.deepEqual(await one('1 + 2 * 3 - 4 / 2 % 3', 0), [5]);
    assert.deepEqual(await one('2 * 3 > bool 5 + 1', 0), [0]);
    assert.deepEqual(await one('5m + 0x10 + 1e1', 0), [300 + 16 + 10]);
  });
});

describe('selectors, lookback and staleness', () => {
  test('instant selector: 5-minute lookback inclusive, stale marker hides the series', async () => {
    assert.deepEqual(vec(await instantQuery(src, 'g{i="b"}', 300 * S)), {'{"__name__":"g","i":"b"}': 7});
    assert.deepEqual(vec(await instantQuery(src, 'g{i="b"}', 300 * S + 1)), {});
    assert.deepEqual(await one('g{i="a"}', 119 * S), [2]);
    assert.deepEqual(await one('g{i="a"}', 121 * S), []); // stale
    assert.deepEqual(await one('g{i="a"}', 600 * S), [5]);
    assert.deepEqual(await one('g{i="a"}', 200 * S, ), []);
  });

  test('range windows are closed [t-range, t] (Prometheus 2.x) and skip stale markers', async () => {
    assert.deepEqual(await one('count_over_time(x{i="a"}[1m])', 60 * S), [5]);
    assert.deepEqual(await one('count_over_time(g{i="a"}[10m])', 600 * S), [3]);
  });

  test('offset (negative too) and @ with start()/end()', async () => {
    assert.deepEqual(await one('x{i="a"} offset 1m', 120 * S), [40]);
    assert.deepEqual(await one('x{i="a"} offset -1m', 120 * S), [120]);
    assert.deepEqual(await one('x{i="a"} @ 30', 600 * S), [20]);
    assert.deepEqual(await one('x{i="a"} - x{i="a"} offset 1m', 120 * S), [40]);
    assert.deepEqual(await one('-x{i="a"} @ 30', 600 * S), [-20]);
    assert.deepEqual(await one('x{i="a"} offset 1m @ 90', 600 * S), [20]);
    const r = await rangeQuery(src, 'x{i="a"} @ end() - x{i="a"} @ start()', 60 * S, 120 * S, 30 * S);
    assert.equal(r.resultType, 'matrix');
    assert.deepEqual(
      (r.result as {values: {v: number}[]}[]).map((s) => s.values.map((p) => p.v)),
      [[40, 40, 40]],
    );
  });

  test('regex matchers are anchored; RE2 (?i) and (?P<name>) work', async () => {
    assert.deepEqual(await one('count(x{i=~"a|b"})', 0), [2]);
    assert.deepEqual(await one('count(x{i=~"A", job=~"(?i)J"})', 0), []);
    assert.deepEqual(await one('count(x{i=~"(?i)A"})', 0), [1]);
    assert.deepEqual(await one('count(x{i=~"(?P<n>a)"})', 0), [1]);
    assert.deepEqual(await one('count(x{i!~"a"})', 0), [1]);
  });
});

describe('functions', () => {
  test('rate/increase extrapolate like Prometheus; counter resets are handled', async () => {
    // 10 per 15 s; samples at 0..60 s in [0, 60] → 40 over 60 s, no extrapolation needed.
    assert.deepEqual(await one('rate(x{i="a"}[1m])', 60 * S), [40 / 60]);
    assert.deepEqual(await one('increase(x{i="a"}[1m])', 60 * S), [40]);
    // window [40 s, 100 s]: samples 45..90 (4), extrapolated by 5 s at the start and 10 s at the end
    assert.deepEqual(await one('increase(x{i="a"}[1m])', 100 * S), [(30 * (45 + 5 + 10)) / 45]);
    // window [50 s, 110 s]: samples 60..105; 10 s to start, 5 s to end: both within 1.1 × 15 s
    assert.deepEqual(await one('increase(x{i="a"}[1m] offset 10s)', 120 * S), [(30 * (45 + 10 + 5)) / 45]);
    // i=b resets at k=20 (t=300 s): 95 → 0
    assert.deepEqual(await one('resets(x{i="b"}[1m])', 330 * S), [1]);
    // 90, 95, 0, 5, 10: 10 - 90 + 95
    assert.deepEqual(await one('increase(x{i="b"}[1m])', 330 * S), [15]);
    assert.deepEqual(await one('irate(x{i="b"}[1m])', 300 * S), [0]);
    assert.deepEqual(await one('delta(x{i="a"}[1m])', 60 * S), [40]);
    assert.deepEqual(await one('deriv(x{i="a"}[5m])', 300 * S), [10 / 15]);
  });

  test('*_over_time', async () => {
    const at = 60 * S; // x{i="a"} window: 0,10,20,30,40
    assert.deepEqual(await one('avg_over_time(x{i="a"}[1m])', at), [20]);
    assert.deepEqual(await one('sum_over_time(x{i="a"}[1m])', at), [100]);
    assert.deepEqual(await one('min_over_time(x{i="a"}[1m])', at), [0]);
    assert.deepEqual(await one('max_over_time(x{i="a"}[1m])', at), [40]);
    assert.deepEqual(await one('last_over_time(x{i="a"}[1m])', at), [40]);
    assert.deepEqual(await one('quantile_over_time(0.5, x{i="a"}[1m])', at), [20]);
    assert.deepEqual(await one('stdvar_over_time(x{i="a"}[1m])', at), [200]);
    assert.deepEqual(await one('stddev_over_time(x{i="a"}[1m])', at), [Math.sqrt(200)]);
    assert.deepEqual(await one('present_over_time(x{i="a"}[1m])', at), [1]);
    const last = vec(await instantQuery(src, 'last_over_time(x{i="a"}[1m])', at));
    assert.ok('{"__name__":"x","i":"a","job":"j"}' in last, 'last_over_time keeps the metric name');
  });

  test('histogram_quantile: monotonicity fix, missing +Inf, φ out of range, scalar φ', async () => {
    // buckets 0.1:10, 0.5:8→10, 1:30, +Inf:40; rank 0.5*40=20 → in (0.5, 1]: 0.5 + 0.5*(10/20)
    assert.deepEqual(await one('histogram_quantile(0.5, h_bucket)', 0), [0.75]);
    assert.deepEqual(await one('histogram_quantile(scalar(vector(0.5)), h_bucket)', 0), [0.75]);
    assert.deepEqual(await one('histogram_quantile(-1, h_bucket)', 0), [-Infinity]);
    assert.deepEqual(await one('histogram_quantile(2, h_bucket)', 0), [Infinity]);
    assert.deepEqual(await one('histogram_quantile(0.99, h_bucket)', 0), [1]);
    assert.ok(Number.isNaN((await one('histogram_quantile(0.5, h_bucket{le!="+Inf"})', 0))[0]));
  });

  test('math, clamp, round, time, vector, scalar, timestamp, absent, label_replace', async () => {
    assert.deepEqual(await one('abs(-x{i="a"})', 60 * S), [40]);
    assert.deepEqual(await one('clamp_min(x{i="a"}, 50)', 60 * S), [50]);
    assert.deepEqual(await one('clamp_max(x{i="a"}, 5)', 60 * S), [5]);
    assert.deepEqual(await one('clamp(x{i="a"}, 0, 5)', 60 * S), [5]);
    assert.deepEqual(await one('clamp(x{i="a"}, 5, 0)', 60 * S), []);
    assert.deepEqual(await one('round(x{i="a"} / 3)', 60 * S), [13]);
    assert.deepEqual(await one('round(x{i="a"} / 3, 0.5)', 60 * S), [13.5]);
    assert.deepEqual(await one('time()', 60 * S), [60]);
    assert.deepEqual(await one('vector(time())', 60 * S), [60]);
    assert.deepEqual(await one('scalar(x)', 60 * S), [NaN]);
    assert.deepEqual(await one('timestamp(g{i="b"})', 200 * S), [0]);
    assert.deepEqual(vec(await instantQuery(src, 'absent(nope{a="b", c=~"d"})', 0)), {'{"a":"b"}': 1});
    assert.deepEqual(await one('absent(x)', 0), []);
    assert.deepEqual(vec(await instantQuery(src, 'label_replace(g{i="b"}, "dst", "<$1>", "i", "(.)")', 0)), {'{"__name__":"g","dst":"<b>","i":"b"}': 7});
  });

  test('Go template expansion for label_replace', () => {
    const m = /^(?<word>a)(b)?$/u.exec('a')!;
    assert.equal(expandTemplate('$1-${1}-$1x-$$-$word-${word}-$2-$', m), 'a-a--$-a-a--$');
  });
});

describe('aggregation and operators', () => {
  test('aggregations with by/without before or after', async () => {
    const at = 60 * S; // x: a=40, b=20
    assert.deepEqual(await one('sum(x)', at), [60]);
    assert.deepEqual(await one('sum by (i) (x)', at), [20, 40]);
    assert.deepEqual(await one('sum(x) without (i)', at), [60]);
    assert.deepEqual(await one('avg(x)', at), [30]);
    assert.deepEqual(await one('min(x)', at), [20]);
    assert.deepEqual(await one('max(x)', at), [40]);
    assert.deepEqual(await one('count(x)', at), [2]);
    assert.deepEqual(await one('stddev(x)', at), [10]);
    assert.deepEqual(await one('stdvar(x)', at), [100]);
    assert.deepEqual(await one('quantile(0.5, x)', at), [30]);
    assert.deepEqual(await one('topk(1, x)', at), [40]);
    assert.deepEqual(await one('bottomk(1, x)', at), [20]);
    assert.deepEqual(await one('group(x)', at), [1]);
    assert.deepEqual(vec(await instantQuery(src, 'count_values("v", x)', at)), {'{"v":"40"}': 1, '{"v":"20"}': 1});
    const without = vec(await instantQuery(src, 'sum without (i) (x)', at));
    assert.deepEqual(without, {'{"job":"j"}': 60});
  });

  test('arithmetic drops the metric name; comparisons filter unless bool', async () => {
    const at = 60 * S;
    assert.deepEqual(vec(await instantQuery(src, 'x{i="a"} * 2', at)), {'{"i":"a","job":"j"}': 80});
    assert.deepEqual(vec(await instantQuery(src, 'x > 30', at)), {'{"__name__":"x","i":"a","job":"j"}': 40});
    assert.deepEqual(vec(await instantQuery(src, 'x > bool 30', at)), {'{"i":"a","job":"j"}': 1, '{"i":"b","job":"j"}': 0});
    assert.deepEqual(await one('30 < x', at), [40]);
    assert.deepEqual(await one('x % 7', at), [5, 6]);
    assert.deepEqual(await one('x ^ 0.5', at), [Math.sqrt(20), Math.sqrt(40)]);
  });

  test('vector matching: on/ignoring, group_left/right, and/or/unless, and errors', async () => {
    const at = 60 * S;
    assert.deepEqual(await one('x / on(i) x', at), [1, 1]);
    assert.deepEqual(await one('x / ignoring(job) x', at), [1, 1]);
    assert.deepEqual(vec(await instantQuery(src, 'g * on(i) group_left(job) x', at)), {'{"i":"a","job":"j"}': 80, '{"i":"b","job":"j"}': 140});
    assert.deepEqual(await one('x * on(i) group_right g', at), [80, 140]);
    assert.deepEqual(await one('x and on(i) g{i="a"}', at), [40]);
    assert.deepEqual(await one('x unless on(i) g{i="a"}', at), [20]);
    assert.deepEqual(await one('x{i="a"} or g', at), [2, 7, 40]);
    await rejects(instantQuery(src, 'x * on(job) x', at), 'execution', /many-to-many matching not allowed/);
    await rejects(instantQuery(src, 'rate({__name__=~"x|y"}[5m])', 600 * S), 'execution', /same labelset/);
  });
});

describe('subqueries', () => {
  test('aligned to the subquery step, evaluated per outer step', async () => {
    // steps at 0, 30, 60 s (aligned): x{i="a"} = 0, 20, 40
    assert.deepEqual(await one('avg_over_time(x{i="a"}[1m:30s])', 60 * S), [20]);
    assert.deepEqual(await one('max_over_time(rate(x{i="a"}[1m])[2m:30s])', 180 * S), [40 / 60]);
  });
});

describe('query API', () => {
  test('range queries: scalars become a series, matrix and string are refused', async () => {
    const r = await rangeQuery(src, '1 + 1', 0, 60 * S, 30 * S);
    assert.deepEqual(r, {resultType: 'matrix', result: [{metric: {}, values: [0, 30, 60].map((t) => ({t: t * S, v: 2}))}]});
    await rejects(rangeQuery(src, 'x[1m]', 0, 60 * S, 30 * S), 'bad_data', /invalid expression type "range vector" for range query/);
    await rejects(rangeQuery(src, '"s"', 0, 60 * S, 30 * S), 'bad_data', /invalid expression type "string"/);
    await rejects(rangeQuery(src, 'x', 60 * S, 0, 30 * S), 'bad_data', /end timestamp must not be before start/);
    await rejects(rangeQuery(src, 'x', 0, 60 * S, 0), 'bad_data', /zero or negative/);
    await rejects(rangeQuery(src, 'x', 0, 20_000 * S, S), 'bad_data', /11,000 points/);
  });

  test('instant results: matrix, scalar, string', async () => {
    const m = await instantQuery(src, 'x{i="a"}[30s]', 30 * S);
    assert.deepEqual(m, {resultType: 'matrix', result: [{metric: {__name__: 'x', i: 'a', job: 'j'}, values: [0, 15, 30].map((t) => ({t: t * S, v: (t / 15) * 10}))}]});
    assert.deepEqual(await instantQuery(src, '"hi"', 5 * S), {resultType: 'string', result: {t: 5 * S, v: 'hi'}});
    assert.deepEqual(toPrometheusData(await instantQuery(src, '1/0', 1500)), {resultType: 'scalar', result: [1.5, '+Inf']});
  });

  test('toPrometheusData formats like Go', async () => {
    assert.deepEqual(toPrometheusData(await instantQuery(src, 'x{i="a"} / 3', 15 * S)), {
      resultType: 'vector',
      result: [{metric: {i: 'a', job: 'j'}, value: [15, '3.3333333333333335']}],
    });
    for (const [v, s] of [
      [NaN, 'NaN'],
      [-Infinity, '-Inf'],
      [-0, '-0'],
      [1e21, '1000000000000000000000'],
      [1.5e-7, '0.00000015'],
      [123.456, '123.456'],
      [-2.5e-10, '-0.00000000025'],
      [1.2345e22, '12345000000000000000000'],
    ] as const) {
      assert.equal(formatGoFloat(v), s);
    }
  });

  test('max samples, timeout and cancellation', async () => {
    await rejects(rangeQuery(src, 'x', 0, 600 * S, S, {maxSamples: 100}), 'too_many_samples', /too many samples/);
    await rejects(rangeQuery(src, 'sum(rate(x[1m]))', 0, 600 * S, S, {timeoutMs: 0}), 'timeout', /timed out/);
    const ac = new AbortController();
    ac.abort();
    await rejects(rangeQuery(src, 'x', 0, 600 * S, S, {signal: ac.signal}), 'canceled', /canceled/);
  });

  test('selectors stream series: maxSamples bounds what is held at once, not the total read', async () => {
    const many = memorySource(
      Array.from({length: 100}, (_, s) => ({labels: {__name__: 'c', s: String(s)}, samples: Array.from({length: 100}, (_, k) => ({t: k * 15 * S, v: k}))})),
    );
    const r = await instantQuery(many, 'sum(count_over_time(c[1h]))', 1500 * S, {maxSamples: 1000});
    assert.deepEqual(r.result, [{metric: {}, t: 1500 * S, v: 10_000}]);
    await rejects(instantQuery(many, 'c[1h]', 1500 * S, {maxSamples: 1000}), 'too_many_samples', /too many samples/);
  });

  test('a long evaluation yields to the event loop', async () => {
    const big = memorySource(
      Array.from({length: 120}, (_, s) => ({labels: {__name__: 'c', s: String(s)}, samples: Array.from({length: 1500}, (_, k) => ({t: k * 15 * S, v: k}))})),
    );
    // Counted, not timed: a loaded machine (or a GC pause) may delay any single tick.
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    const t0 = performance.now();
    try {
      await rangeQuery(big, 'sum by (s) (rate(c[5m])) / on(s) sum by (s) (rate(c[10m]))', 0, 1500 * 15 * S, 15 * S);
    } finally {
      clearInterval(timer);
    }
    const took = performance.now() - t0;
    assert.ok(took > 100, `query too small to judge (${took} ms)`);
    assert.ok(ticks >= took / 50, `only ${ticks} timer ticks in ${took.toFixed(0)} ms`);
  });
});

describe('lookback option', () => {
  test('lookbackDeltaMs changes how far back an instant selector looks', async () => {
    assert.deepEqual(await one('g{i="b"}', 300 * S), [7]);
    const r = await instantQuery(src, 'g{i="b"}', 300 * S, {lookbackDeltaMs: MIN});
    assert.deepEqual(r.result, []);
  });
});
