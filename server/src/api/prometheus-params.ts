// Request parameters the way Prometheus' HTTP API reads them (2.42, checked against the
// real server): times as unix seconds (float) or RFC 3339, durations as float seconds or
// Prometheus durations, repeated match[] series selectors, query string and form body.

import {parser} from '@prometheus-io/lezer-promql';

import {type Matcher, type MatchType, compileAnchored, matcherTest} from '../tsdb/labels/mod.ts';

/** A bad_data error of the Prometheus API (400). */
export class BadDataError extends Error {
  override name = 'BadDataError';
}

/** Prometheus' "-292273086-05-16T16:47:06Z" … "292277025-08-18T07:12:54.999999999Z", as ms. */
export const MIN_TIME_MS = -9_223_309_901_257_974_000;
export const MAX_TIME_MS = 9_223_309_901_257_974 * 1000 + 999;
const MIN_TIME_FORMATTED = '-292273086-05-16T16:47:06Z';
const MAX_TIME_FORMATTED = '292277025-08-18T07:12:54.999999999Z';

const FLOAT_RE = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;
const RFC3339_RE = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:(Z)|([+-])(\d{2}):(\d{2}))$/;

/** Go's math.Round: halves away from zero. */
const roundAway = (x: number): number => Math.sign(x) * Math.round(Math.abs(x));

/** Go's rule for digit separators: `_` only between digits, or after a base prefix. */
function underscoreOK(s: string): boolean {
  let saw = '^';
  let i = 0;
  if (s[0] === '-' || s[0] === '+') s = s.slice(1);
  let hex = false;
  if (s.length >= 2 && s[0] === '0' && 'bBoOxX'.includes(s[1])) {
    i = 2;
    saw = '0';
    hex = s[1] === 'x' || s[1] === 'X';
  }
  for (; i < s.length; i++) {
    const c = s[i];
    if ((c >= '0' && c <= '9') || (hex && /[a-fA-F]/.test(c))) {
      saw = '0';
      continue;
    }
    if (c === '_') {
      if (saw !== '0') return false;
      saw = '_';
      continue;
    }
    if (saw === '_') return false;
    saw = '!';
  }
  return saw !== '_';
}

const HEX_FLOAT_RE = /^([+-]?)0[xX]([0-9a-fA-F]*)(?:\.([0-9a-fA-F]*))?[pP]([+-]?\d+)$/;

/** strconv.ParseFloat(s, 64): decimal and hex floats, `_` separators, inf/nan; null where Go returns an error (out of range included). */
export function goParseFloat(s: string): number | null {
  if (s.includes('_')) {
    if (!underscoreOK(s)) return null;
    s = s.replaceAll('_', '');
  }
  const special = /^([+-]?)(inf|infinity|nan)$/i.exec(s);
  if (special) return special[2].toLowerCase() === 'nan' ? NaN : special[1] === '-' ? -Infinity : Infinity;
  if (FLOAT_RE.test(s)) {
    const v = Number(s);
    return Number.isFinite(v) ? v : null;
  }
  const hex = HEX_FLOAT_RE.exec(s);
  if (hex && (hex[2] + (hex[3] ?? '')).length > 0) {
    const frac = hex[3] ?? '';
    const v = (parseInt(hex[2] + frac || '0', 16) / 16 ** frac.length) * 2 ** Number(hex[4]);
    return Number.isFinite(v) ? (hex[1] === '-' ? -v : v) : null;
  }
  return null;
}

/**
 * A timestamp parameter → ms; throws BadDataError `cannot parse "x" to a valid timestamp`.
 * Unlike Prometheus, inf/nan and times beyond ±292 years of nanoseconds are refused
 * (Prometheus turns them into overflowed garbage times).
 */
export function parseTime(s: string): number {
  const t = goParseFloat(s);
  if (t !== null && Number.isFinite(t) && Math.abs(t) < 9_223_372_036) {
    const whole = Math.trunc(t);
    return whole * 1000 + roundAway((t - whole) * 1000);
  }
  const m = RFC3339_RE.exec(s);
  if (m) {
    const [, y, mo, d, h, mi, sec, frac, z, sign, oh, om] = m;
    const base = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(sec));
    const valid = Number(mo) >= 1 && Number(mo) <= 12 && Number(d) >= 1 && Number(d) <= 31 && Number(h) < 24 && Number(mi) < 60 && Number(sec) < 60;
    if (valid && Number.isFinite(base) && new Date(base).getUTCDate() === Number(d)) {
      const offset = z ? 0 : (sign === '-' ? -1 : 1) * (Number(oh) * 60 + Number(om)) * 60_000;
      // Prometheus keeps whole milliseconds (timestamp.FromTime truncates the nanoseconds).
      const ms = frac ? Number(frac.padEnd(9, '0').slice(0, 3)) : 0;
      return base + ms - offset;
    }
  }
  if (s === MIN_TIME_FORMATTED) return MIN_TIME_MS;
  if (s === MAX_TIME_FORMATTED) return MAX_TIME_MS;
  throw new BadDataError(`cannot parse ${JSON.stringify(s)} to a valid timestamp`);
}

const MODEL_DURATION_RE = /^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$/;

/** A duration parameter → ms (may be fractional or ≤ 0; callers check). */
export function parseDurationParam(s: string): number {
  const d = goParseFloat(s);
  if (d !== null) {
    const ns = d * 1e9;
    if (ns >= 9.223372036854776e18 || ns < -9.223372036854776e18) throw new BadDataError(`cannot parse ${JSON.stringify(s)} to a valid duration. It overflows int64`);
    // time.Duration(NaN) is negative in Go; whole nanoseconds.
    return Number.isNaN(ns) ? -1 : Math.trunc(ns) / 1e6;
  }
  const m = s === '' || s === '0' ? null : MODEL_DURATION_RE.exec(s);
  if (s === '0') return 0;
  if (m) {
    const units = [31_536_000_000, 604_800_000, 86_400_000, 3_600_000, 60_000, 1000, 1];
    return units.reduce((sum, u, i) => sum + (m[i + 1] ? Number(m[i + 1]) * u : 0), 0);
  }
  throw new BadDataError(`cannot parse ${JSON.stringify(s)} to a valid duration`);
}

/**
 * Query string plus (for POST) a form-encoded body, like Go's r.Form: body values
 * come before the query string's for the same key.
 */
export async function requestParams(request: Request): Promise<URLSearchParams> {
  const url = new URL(request.url);
  if (request.method !== 'POST' && request.method !== 'PUT' && request.method !== 'PATCH') return url.searchParams;
  const type = (request.headers.get('content-type') ?? '').split(';')[0].trim().toLowerCase();
  if (type !== 'application/x-www-form-urlencoded') return url.searchParams;
  let body: URLSearchParams;
  try {
    body = new URLSearchParams(await request.text());
  } catch (err) {
    throw new BadDataError(`error parsing form values: ${(err as Error).message}`);
  }
  const out = new URLSearchParams(body);
  for (const [k, v] of url.searchParams) out.append(k, v);
  return out;
}

/** An optional time parameter as Prometheus' parseTimeParam words its errors. */
export function timeParam(params: URLSearchParams, name: string, fallback: number): number {
  const v = params.get(name);
  if (v === null || v === '') return fallback;
  try {
    return parseTime(v);
  } catch (err) {
    throw new BadDataError(`invalid parameter ${JSON.stringify(name)}: Invalid time value for '${name}': ${(err as Error).message}`);
  }
}

const MATCH_OPS: Record<string, MatchType> = {EqlSingle: '=', Neq: '!=', EqlRegex: '=~', NeqRegex: '!~'};

/** Go string literal ("…", '…' or `…`) → its value. */
export function unquote(lit: string): string {
  const q = lit[0];
  if (lit.length < 2 || lit[lit.length - 1] !== q || !`"'\``.includes(q)) throw new BadDataError(`invalid string literal ${lit}`);
  const body = lit.slice(1, -1);
  if (q === '`') return body;
  let out = '';
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (c !== '\\') {
      out += c;
      continue;
    }
    const e = body[++i];
    const simple: Record<string, string> = {a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v', '\\': '\\', '"': '"', "'": "'"};
    if (e in simple) out += simple[e];
    else if (e === 'x' || e === 'u' || e === 'U') {
      const n = e === 'x' ? 2 : e === 'u' ? 4 : 8;
      const hex = body.slice(i + 1, i + 1 + n);
      if (!/^[0-9a-fA-F]+$/.test(hex) || hex.length !== n) throw new BadDataError(`invalid escape in string literal ${lit}`);
      out += e === 'x' ? String.fromCharCode(parseInt(hex, 16)) : String.fromCodePoint(parseInt(hex, 16));
      i += n;
    } else if (/[0-7]/.test(e ?? '')) {
      const oct = body.slice(i, i + 3);
      if (!/^[0-7]{3}$/.test(oct)) throw new BadDataError(`invalid escape in string literal ${lit}`);
      out += String.fromCharCode(parseInt(oct, 8));
      i += 2;
    } else throw new BadDataError(`invalid escape in string literal ${lit}`);
  }
  return out;
}

/** Line:column of an offset, as Prometheus' parser errors start. */
function position(s: string, offset: number): string {
  const before = s.slice(0, offset);
  const line = before.split('\n').length;
  return `${line}:${offset - before.lastIndexOf('\n')}`;
}

/** One series selector (`up{job="x"}`, `{__name__=~"a.*"}`) → matchers; throws BadDataError. */
export function parseSeriesSelector(s: string): Matcher[] {
  const tree = parser.parse(s);
  const top = tree.topNode.firstChild;
  let error: number | null = null;
  tree.iterate({
    enter(n) {
      if (n.type.isError && error === null) error = n.from;
    },
  });
  if (error !== null || !top) throw new BadDataError(`${position(s, error ?? 0)}: parse error: invalid series selector ${JSON.stringify(s)}`);
  if (top.name !== 'VectorSelector' || top.nextSibling) throw new BadDataError(`${position(s, top.from)}: parse error: expected a series selector, got ${JSON.stringify(s)}`);
  const matchers: Matcher[] = [];
  for (let c = top.firstChild; c; c = c.nextSibling) {
    if (c.name === 'Identifier') matchers.push({type: '=', name: '__name__', value: s.slice(c.from, c.to)});
    if (c.name !== 'LabelMatchers') continue;
    for (let m = c.firstChild; m; m = m.nextSibling) {
      if (m.name === 'QuotedLabelName') {
        const lit = m.getChild('StringLiteral');
        if (lit) matchers.push({type: '=', name: '__name__', value: unquote(s.slice(lit.from, lit.to))});
        continue;
      }
      if (m.name !== 'UnquotedLabelMatcher' && m.name !== 'QuotedLabelMatcher') continue;
      const nameNode = m.getChild('LabelName') ?? m.getChild('QuotedLabelName')?.getChild('StringLiteral');
      const op = m.getChild('MatchOp')?.firstChild;
      const value = m.getChild('StringLiteral', 'MatchOp');
      if (!nameNode || !op || !value) throw new BadDataError(`${position(s, m.from)}: parse error: invalid label matcher`);
      const rawName = s.slice(nameNode.from, nameNode.to);
      const name = nameNode.name === 'StringLiteral' ? unquote(rawName) : rawName;
      const type = MATCH_OPS[op.name];
      const matcher: Matcher = {type, name, value: unquote(s.slice(value.from, value.to))};
      if (type === '=~' || type === '!~') {
        try {
          compileAnchored(matcher.value);
        } catch (err) {
          throw new BadDataError(`${position(s, value.from)}: parse error: error parsing regexp: ${(err as Error).message}`);
        }
      }
      matchers.push(matcher);
    }
  }
  if (!matchers.some((m) => !matcherTest(m)(''))) throw new BadDataError('match[] must contain at least one non-empty matcher');
  return matchers;
}


/** Every match[] parameter parsed; empty when none. */
export function matchParams(params: URLSearchParams, prefixErrors: boolean): Matcher[][] {
  return params.getAll('match[]').map((s) => {
    try {
      return parseSeriesSelector(s);
    } catch (err) {
      if (prefixErrors && err instanceof BadDataError) throw new BadDataError(`invalid parameter "match[]": ${err.message}`);
      throw err;
    }
  });
}

/** Prometheus' label name syntax. */
export const LABEL_NAME_RE = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
