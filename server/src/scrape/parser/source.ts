// The decoded body shared by both lexers, plus the helpers they need for label values.
//
// UTF-8 bodies (the normal case) are decoded once to a JS string and lexed in UTF-16 units;
// bodies with invalid UTF-8 are decoded as latin1 (one char per byte) so that byte-level
// checks (Prometheus validates label values and HELP text with utf8.Valid) stay exact.
// All lexer character classes are ASCII-based; every unit >= 0x80 behaves the same in both
// modes (it matches the negated classes exactly like Go's bytes 0x80–0xFF do).

import {isUtf8} from 'node:buffer';

export class Source {
  /** The body as lexed. */
  readonly s: string;
  /** True when `s` is latin1 (body was not valid UTF-8). */
  readonly bytes: boolean;
  private readonly buf: Buffer | null;
  /** False only for string input with lone surrogates (not representable as UTF-8). */
  private readonly wellFormed: boolean;

  constructor(body: Buffer | Uint8Array | string) {
    if (typeof body === 'string') {
      this.s = body;
      this.bytes = false;
      this.buf = null;
      this.wellFormed = body.isWellFormed();
    } else {
      const b = Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
      if (isUtf8(b)) {
        this.s = b.toString('utf8');
        this.bytes = false;
        this.buf = null;
      } else {
        this.s = b.toString('latin1');
        this.bytes = true;
        this.buf = b;
      }
      this.wellFormed = true;
    }
  }

  /** utf8.Valid on s[a:b]. */
  validUtf8(a: number, b: number): boolean {
    if (this.buf) {
      const s = this.s;
      for (let i = a; i < b; i++) if (s.charCodeAt(i) >= 0x80) return isUtf8(this.buf.subarray(a, b));
      return true;
    }
    return this.wellFormed || this.s.slice(a, b).isWellFormed();
  }

  /** Decodes raw text s[a:b] (already unescaped by the caller if needed) to a JS string. */
  text(raw: string): string {
    if (!this.bytes) return raw;
    for (let i = 0; i < raw.length; i++) if (raw.charCodeAt(i) >= 0x80) return Buffer.from(raw, 'latin1').toString('utf8');
    return raw;
  }

  /** A label value token's contents s[a:b] with Prometheus' label escapes applied. */
  labelValue(a: number, b: number): string {
    const raw = this.s.slice(a, b);
    const v = raw.indexOf('\\') < 0 ? raw : unescapeLabelValue(raw);
    return this.bytes ? this.text(v) : v;
  }
}

/** Prometheus lvalReplacer: `\"` → `"`, `\\` → `\`, `\n` → newline; any other `\x` stays as is. */
export function unescapeLabelValue(v: string): string {
  let out = '';
  let last = 0;
  for (let i = v.indexOf('\\'); i >= 0 && i < v.length; i = v.indexOf('\\', i)) {
    const c = v.charCodeAt(i + 1);
    if (c === 34 /* " */ || c === 92 /* \ */ || c === 110 /* n */) {
      out += v.slice(last, i) + (c === 110 ? '\n' : String.fromCharCode(c));
      i += 2;
      last = i;
    } else {
      i += 1;
    }
  }
  return out + v.slice(last);
}

/** Prometheus helpReplacer (text format HELP): `\\` → `\`, `\n` → newline. */
export function unescapeHelp(v: string): string {
  if (v.indexOf('\\') < 0) return v;
  let out = '';
  let last = 0;
  for (let i = v.indexOf('\\'); i >= 0 && i < v.length; i = v.indexOf('\\', i)) {
    const c = v.charCodeAt(i + 1);
    if (c === 92 || c === 110) {
      out += v.slice(last, i) + (c === 110 ? '\n' : '\\');
      i += 2;
      last = i;
    } else {
      i += 1;
    }
  }
  return out + v.slice(last);
}

/**
 * The current sample's series as offsets into `Source.s`; the parsers reuse one per body.
 * Strings are made only on demand: a scrape cache that knows the series text (`text()`)
 * never decodes the labels.
 */
export class SeriesTokens {
  nameStart = 0;
  nameEnd = 0;
  /** End of the label set (after `}`), or `nameEnd` without one. */
  end = 0;
  /** Label pairs (without `__name__`). */
  n = 0;
  /** Set when the parser matched the sink's expected text and skipped the labels (n = 0). */
  known: string | undefined;
  /** Per pair: name start, name end, value start, value end (inside the quotes, escapes still in). */
  private readonly offs: number[] = [];

  constructor(private readonly src: Source) {}

  begin(nameStart: number, nameEnd: number): void {
    this.nameStart = nameStart;
    this.nameEnd = nameEnd;
    this.end = nameEnd;
    this.n = 0;
    this.known = undefined;
  }

  /** Adds a label; the value token's UTF-8 validity is the parser's to check. */
  add(nameStart: number, nameEnd: number, valueStart: number, valueEnd: number): void {
    const o = this.offs;
    const k = 4 * this.n++;
    o[k] = nameStart;
    o[k + 1] = nameEnd;
    o[k + 2] = valueStart;
    o[k + 3] = valueEnd;
  }

  name(): string {
    return this.src.s.slice(this.nameStart, this.nameEnd);
  }

  /** The series as exposed: metric name and label set (a scrape cache key). */
  text(): string {
    return this.known ?? this.src.s.slice(this.nameStart, this.end);
  }

  /** Fills `pairs` with `[name0, value0, name1, value1, …]` (label escapes applied). */
  decode(pairs: string[]): void {
    const o = this.offs;
    const s = this.src.s;
    for (let k = 0; k < this.n; k++) {
      pairs[2 * k] = s.slice(o[4 * k], o[4 * k + 1]);
      pairs[2 * k + 1] = this.src.labelValue(o[4 * k + 2], o[4 * k + 3]);
    }
  }
}

/** What a parser reports, in exposition order. */
export interface EntrySink {
  /** One sample; `series` is valid only during the call. */
  series(series: SeriesTokens, value: number, ts: number | undefined, entryStart: number): void;
  /**
   * The series text (name and label set) the sink expects next, if any. Where a series
   * reads exactly so and the text ends with its label set, the parser may skip lexing the
   * labels and report `series.known` — the sink must have accepted that text before.
   */
  expected(): string | undefined;
  /** A `# HELP` (0), `# TYPE` (1) or `# UNIT` (2) line; text already unescaped/validated. */
  meta(kind: 0 | 1 | 2, name: string, text: string): void;
}
