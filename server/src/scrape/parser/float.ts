// Number parsing with Go's strconv semantics, restricted the way Prometheus' textparse
// restricts it (model/textparse/promparse.go parseFloat: any of `p`, `P`, `_` is rejected
// before strconv.ParseFloat sees the string, so hex floats and digit separators never pass).

/** Why a value string was rejected; mirrors the Go error text. */
export type FloatError = 'unsupported character in float' | 'invalid syntax' | 'value out of range';

/** Result holder: `parseGoFloat` returns the value, or `undefined` and sets `lastFloatError`. */
export let lastFloatError: FloatError = 'invalid syntax';

const C_PLUS = 43;
const C_MINUS = 45;
const C_DOT = 46;
const C_0 = 48;
const C_9 = 57;

/** Powers of ten a double holds exactly (10^0 … 10^22). */
const EXACT_POW10 = Array.from({length: 23}, (_, k) => 10 ** k);

/** Digits whose value m·10 + d stays exact in a double (10^15 < 2^53). */
const MAX_EXACT_DIGITS = 15;

/**
 * The value of `s[a:b]` when it is a short plain decimal (`-12`, `3.25`, `.5`, `7.`: an
 * optional minus, at most 15 digits, an optional dot, no exponent), else NaN — the caller then
 * slices the text for parseGoFloat. Reads the body in place, so the usual exporter value
 * costs no string. Correctly rounded like ParseFloat: the digits as an integer m < 2^53 and
 * 10^k are exact doubles, and one IEEE division m / 10^k rounds correctly (Clinger's fast
 * path).
 */
export function plainDecimalAt(s: string, a: number, b: number): number {
  let i = a;
  const negative = i < b && s.charCodeAt(i) === C_MINUS;
  if (negative) i++;
  let m = 0;
  let digits = 0;
  let fraction = -1; // digits after the dot; -1: no dot yet
  for (; i < b; i++) {
    const c = s.charCodeAt(i);
    if (c >= C_0 && c <= C_9) {
      m = m * 10 + (c - C_0);
      digits++;
      if (fraction >= 0) fraction++;
    } else if (c === C_DOT && fraction < 0) {
      fraction = 0;
    } else {
      return NaN;
    }
  }
  if (digits === 0 || digits > MAX_EXACT_DIGITS) return NaN;
  const v = fraction > 0 ? m / EXACT_POW10[fraction] : m;
  return negative ? -v : v;
}

/**
 * Prometheus' parseFloat: strconv.ParseFloat(s, 64) after rejecting `p`, `P`, `_`.
 * Accepts decimal floats (`1`, `-1.5e-3`, `.5`, `5.`), `inf`/`infinity` with an optional
 * sign and `nan` without sign, all case-insensitive (`NaN`, `Nan`, `+Inf`, `-Inf`).
 * Overflow (`1e400`) is an error like Go's ErrRange; underflow rounds to 0 silently.
 * Decimal rounding: JS Number() and Go's ParseFloat are both correctly rounded.
 */
export function parseGoFloat(s: string): number | undefined {
  const n = s.length;
  let i = 0;
  let c = n > 0 ? s.charCodeAt(0) : 0;
  // Fast path: plain decimal grammar, validated by hand (no regex, no allocation).
  if (c === C_PLUS || c === C_MINUS) {
    i = 1;
    c = n > 1 ? s.charCodeAt(1) : 0;
  }
  let digits = 0;
  while (i < n && (c = s.charCodeAt(i)) >= C_0 && c <= C_9) {
    i++;
    digits++;
  }
  if (i < n && c === C_DOT) {
    i++;
    while (i < n && (c = s.charCodeAt(i)) >= C_0 && c <= C_9) {
      i++;
      digits++;
    }
  }
  if (digits > 0) {
    if (i < n && (c === 101 || c === 69)) {
      // e / E
      i++;
      if (i < n && ((c = s.charCodeAt(i)) === C_PLUS || c === C_MINUS)) i++;
      let ed = 0;
      while (i < n && (c = s.charCodeAt(i)) >= C_0 && c <= C_9) {
        i++;
        ed++;
      }
      if (ed === 0) return fail(s);
    }
    if (i !== n) return fail(s);
    const v = Number(s);
    if (v === Infinity || v === -Infinity) {
      lastFloatError = 'value out of range';
      return undefined;
    }
    return v;
  }
  return special(s);
}

function fail(s: string): undefined {
  lastFloatError = /[pP_]/.test(s) ? 'unsupported character in float' : 'invalid syntax';
  return undefined;
}

// Go strconv.special: optional sign + "inf"/"infinity", or unsigned "nan"; case-insensitive,
// and the whole string must be consumed.
function special(s: string): number | undefined {
  if (/[pP_]/.test(s)) {
    lastFloatError = 'unsupported character in float';
    return undefined;
  }
  const l = s.toLowerCase();
  switch (l) {
    case 'nan':
      return NaN;
    case 'inf':
    case '+inf':
    case 'infinity':
    case '+infinity':
      return Infinity;
    case '-inf':
    case '-infinity':
      return -Infinity;
  }
  lastFloatError = 'invalid syntax';
  return undefined;
}

const MAX_SAFE_DIGITS = 15;
const INT64_MAX = 9223372036854775807n;

/**
 * strconv.ParseInt(s, 10, 64) for a string of ASCII digits only (the text format's
 * timestamp token). Returns undefined when out of int64 range. Values beyond 2^53 lose
 * precision when converted to a JS number (documented limitation).
 */
export function parseDigitsInt64(s: string): number | undefined {
  if (s.length <= MAX_SAFE_DIGITS) return Number(s);
  const b = BigInt(s);
  if (b > INT64_MAX) return undefined;
  return Number(b);
}

const TWO63 = 9223372036854775808;

/**
 * Go's int64(f) on amd64 for the OpenMetrics timestamp conversion int64(seconds*1000):
 * truncation toward zero; out-of-range values become math.MinInt64 (CVTTSD2SI's
 * "integer indefinite").
 */
export function goInt64(f: number): number {
  if (!(f > -TWO63 && f < TWO63)) return -TWO63;
  return Math.trunc(f) + 0; // + 0 turns -0 into 0
}
