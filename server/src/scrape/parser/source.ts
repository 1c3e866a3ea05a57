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

/** What a parser reports, in exposition order. */
export interface EntrySink {
  /**
   * One sample. `pairs` is a reused flat array `[name0, value0, name1, value1, …]` holding
   * `n` decoded label pairs (without `__name__`), valid only during the call.
   */
  series(name: string, pairs: string[], n: number, value: number, ts: number | undefined, entryStart: number): void;
  /** A `# HELP` (0), `# TYPE` (1) or `# UNIT` (2) line; text already unescaped/validated. */
  meta(kind: 0 | 1 | 2, name: string, text: string): void;
}
