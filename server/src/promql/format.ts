// Number formatting as Prometheus' HTTP API does it.

/**
 * Go's strconv.FormatFloat(v, 'f', -1, 64): the shortest digits that round-trip, never in
 * exponent form; "NaN", "+Inf", "-Inf" for the specials (Prometheus' JSON spelling).
 */
export function formatGoFloat(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  if (v === 0) return Object.is(v, -0) ? '-0' : '0';
  const s = String(v);
  const e = s.indexOf('e');
  if (e < 0) return s;
  // JS switches to exponent form below 1e-6 and from 1e21; expand the shortest digits.
  const neg = s.startsWith('-');
  const mantissa = s.slice(neg ? 1 : 0, e);
  const exp = Number(s.slice(e + 1));
  const dot = mantissa.indexOf('.');
  const digits = dot < 0 ? mantissa : mantissa.slice(0, dot) + mantissa.slice(dot + 1);
  const intLen = (dot < 0 ? mantissa.length : dot) + exp;
  let out: string;
  if (intLen <= 0) out = '0.' + '0'.repeat(-intLen) + digits;
  else if (intLen >= digits.length) out = digits + '0'.repeat(intLen - digits.length);
  else out = digits.slice(0, intLen) + '.' + digits.slice(intLen);
  return (neg ? '-' : '') + out;
}

/** Milliseconds → the API's seconds number (at most 3 decimals, exact for integer ms). */
export function formatTimestamp(ms: number): number {
  return ms / 1000;
}
