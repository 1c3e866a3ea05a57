// Prometheus text exposition format 0.0.4: a port of model/textparse/promlex.l(.go) and
// promparse.go (Prometheus 2.42–2.48; identical acceptance in both). The lexer below
// follows the generated golex DFA state by state (no backtracking, longest match, NUL
// handling) so that exactly the same inputs are accepted; see README.md for the rules.

import {NL, SP, isL, isLD, isM, isMD} from './chars.ts';
import {SyntaxFailure} from './errors.ts';
import {lastFloatError, parseDigitsInt64, parseGoFloat, plainDecimalAt} from './float.ts';
import {type EntrySink, SeriesTokens, type Source, unescapeHelp} from './source.ts';

// Tokens (names as Prometheus prints them in errors).
const T_INVALID = -1;
const T_EOF = 0;
const T_LINEBREAK = 1;
const T_WS = 2;
const T_HELP = 3;
const T_TYPE = 4;
const T_TEXT = 5;
const T_COMMENT = 6;
const T_MNAME = 7;
const T_BOPEN = 8;
const T_BCLOSE = 9;
const T_LNAME = 10;
const T_LVALUE = 11;
const T_COMMA = 12;
const T_EQUAL = 13;
const T_TIMESTAMP = 14;
const T_VALUE = 15;

export const TOKEN_NAMES: Record<number, string> = {
  [T_INVALID]: 'INVALID',
  [T_EOF]: 'EOF',
  [T_LINEBREAK]: 'LINEBREAK',
  [T_WS]: 'WHITESPACE',
  [T_HELP]: 'HELP',
  [T_TYPE]: 'TYPE',
  [T_TEXT]: 'TEXT',
  [T_COMMENT]: 'COMMENT',
  [T_MNAME]: 'MNAME',
  [T_BOPEN]: 'BOPEN',
  [T_BCLOSE]: 'BCLOSE',
  [T_LNAME]: 'LNAME',
  [T_LVALUE]: 'LVALUE',
  [T_COMMA]: 'COMMA',
  [T_EQUAL]: 'EQUAL',
  [T_TIMESTAMP]: 'TIMESTAMP',
  [T_VALUE]: 'VALUE',
};

// Lexer start conditions.
const S_INIT = 0;
const S_COMMENT = 1;
const S_META1 = 2;
const S_META2 = 3;
const S_LABELS = 4;
const S_LVALUE = 5;
const S_VALUE = 6;
const S_TIMESTAMP = 7;

const TAB = 9;

export const TYPES_TEXT: Record<string, string> = {
  counter: 'counter',
  gauge: 'gauge',
  histogram: 'histogram',
  summary: 'summary',
  untyped: 'unknown',
};

/** Parses a whole text-format body, reporting entries to `sink`. Throws SyntaxFailure. */
export function parseText(src: Source, sink: EntrySink): void {
  new TextParser(src).run(sink);
}

/**
 * A text parser that can stop between entries: `run(sink, pause)` returns false when
 * `pause()` asked it to stop, and carries on from there when called again.
 */
export function textParser(src: Source): {run(sink: EntrySink, pause?: () => boolean): boolean} {
  return new TextParser(src);
}

class TextParser {
  private readonly s: string;
  /** Length including the virtual '\n' Prometheus appends (NewPromParser: append(b, '\n')). */
  private readonly n: number;
  private i = 0;
  private start = 0;
  private state = S_INIT;
  private entryStart = 0;
  private readonly tokens: SeriesTokens;

  constructor(private readonly src: Source) {
    this.s = src.s;
    this.n = src.s.length + 1;
    this.tokens = new SeriesTokens(src);
  }

  private ch(i: number): number {
    // The appended '\n' lives at index s.length.
    return i < this.s.length ? this.s.charCodeAt(i) : NL;
  }

  /** promlexer.next(): advance; NULs are skipped inside label values, HELP text and comments. */
  private next(): number {
    let i = ++this.i;
    if (i >= this.n) return 0;
    const st = this.state;
    if (st === S_LVALUE || st === S_META2 || st === S_COMMENT) {
      // The trailing '\n' guarantees termination (Go has no bounds check here either).
      while (this.ch(i) === 0) i = ++this.i;
    }
    return this.ch(i);
  }

  private consumeComment(): number {
    for (let c = this.i < this.n ? this.ch(this.i) : 0; ; c = this.next()) {
      if (c === 0) return T_EOF;
      if (c === NL) {
        this.state = S_INIT;
        return T_COMMENT;
      }
    }
  }

  private lex(): number {
    if (this.i >= this.n) {
      this.start = this.i;
      return T_EOF;
    }
    let c = this.ch(this.i);
    this.start = this.i;
    for (;;) {
      switch (this.state) {
        case S_INIT:
          if (c === 35 /* # */) {
            c = this.next();
            if (c === SP || c === TAB) {
              do c = this.next();
              while (c === SP || c === TAB);
              this.state = S_COMMENT;
              continue; // goto yystate0 with the current character
            }
            return this.consumeComment();
          }
          if (isM(c)) {
            let i = this.i + 1;
            while (i < this.s.length && isMD(this.s.charCodeAt(i))) i++;
            this.i = i;
            this.state = S_VALUE;
            return T_MNAME;
          }
          if (c === NL) {
            this.next();
            this.state = S_INIT;
            return T_LINEBREAK;
          }
          if (c === SP || c === TAB) return this.ws();
          if (c === 0) {
            this.next();
            return T_EOF;
          }
          return T_INVALID;

        case S_COMMENT:
          if (c === 72 /* H */) {
            if (this.next() !== 69 || this.next() !== 76 || this.next() !== 80) return this.abort();
            return this.metaKeyword(T_HELP);
          }
          if (c === 84 /* T */) {
            if (this.next() !== 89 || this.next() !== 80 || this.next() !== 69) return this.abort();
            return this.metaKeyword(T_TYPE);
          }
          if (c === SP || c === TAB) return this.ws();
          return this.abort();

        case S_META1:
          if (isM(c)) {
            do c = this.next();
            while (isMD(c));
            this.state = S_META2;
            return T_MNAME;
          }
          if (c === SP || c === TAB) return this.ws();
          return T_INVALID;

        case S_META2:
          if (c === SP || c === TAB) {
            do c = this.next();
            while (c === SP || c === TAB);
            if (c === 0 || c === NL) return T_WS; // yystate23 default: plain whitespace
          }
          if (c !== 0 && c !== NL) {
            do c = this.next();
            while (c !== 0 && c !== NL);
          }
          this.state = S_INIT;
          return T_TEXT; // possibly empty ({C}*)

        case S_LABELS:
          if (c === 44 /* , */) {
            this.next();
            return T_COMMA;
          }
          if (c === 61 /* = */) {
            this.next();
            this.state = S_LVALUE;
            return T_EQUAL;
          }
          if (c === 125 /* } */) {
            this.next();
            this.state = S_VALUE;
            return T_BCLOSE;
          }
          if (isL(c)) {
            let i = this.i + 1;
            while (i < this.s.length && isLD(this.s.charCodeAt(i))) i++;
            this.i = i;
            return T_LNAME;
          }
          if (c === SP || c === TAB) return this.ws();
          return T_INVALID;

        case S_LVALUE:
          if (c === 34 /* " */) return this.quoted();
          if (c === SP || c === TAB) return this.ws();
          return T_INVALID;

        case S_VALUE:
          if (c === SP || c === TAB) return this.ws();
          if (c === 123 /* { */) {
            this.next();
            this.state = S_LABELS;
            return T_BOPEN;
          }
          if (c !== 0 && c !== NL) {
            // [^{ \t\n]+
            let i = this.i + 1;
            const s = this.s;
            for (; i < s.length; i++) {
              const d = s.charCodeAt(i);
              if (d === 0 || d === NL || d === SP || d === TAB || d === 123) break;
            }
            this.i = i;
            this.state = S_TIMESTAMP;
            return T_VALUE;
          }
          return T_INVALID;

        case S_TIMESTAMP:
          if (c === NL) {
            this.next();
            this.state = S_INIT;
            return T_LINEBREAK;
          }
          if (c === SP || c === TAB) return this.ws();
          if (c >= 48 && c <= 57) {
            do c = this.next();
            while (c >= 48 && c <= 57);
            return T_TIMESTAMP;
          }
          return T_INVALID;
      }
      return T_INVALID;
    }
  }

  // \"(\\.|[^\\"])*\"  (raw newlines are allowed, `\` + newline is not; NULs are skipped)
  private quoted(): number {
    const s = this.s;
    const len = s.length; // the appended '\n' at s.length can only end the token as invalid
    let i = this.i + 1;
    for (;;) {
      if (i >= len) break;
      const c = s.charCodeAt(i);
      if (c === 34) {
        this.i = i + 1;
        this.state = S_LABELS;
        return T_LVALUE;
      }
      if (c === 92) {
        i++;
        while (i < len && s.charCodeAt(i) === 0) i++;
        if (i >= len) break;
        if (s.charCodeAt(i) === NL) break;
        i++;
        continue;
      }
      i++;
    }
    this.i = Math.min(i, this.n);
    return T_INVALID;
  }

  private ws(): number {
    let c: number;
    do c = this.next();
    while (c === SP || c === TAB);
    return T_WS;
  }

  // HELP[\t ]+ / TYPE[\t ]+ after the keyword letters.
  private metaKeyword(tok: number): number {
    let c = this.next();
    if (c !== SP && c !== TAB) return this.abort();
    do c = this.next();
    while (c === SP || c === TAB);
    this.state = S_META1;
    return tok;
  }

  // yyabort: in a comment, swallow the rest of the line.
  private abort(): number {
    if (this.state === S_COMMENT) return this.consumeComment();
    return T_INVALID;
  }

  private nextToken(): number {
    for (;;) {
      const t = this.lex();
      if (t !== T_WS) return t;
    }
  }

  private fail(exp: string, got: number): never {
    const e = Math.min(this.i + 1, this.n);
    const tok = this.slice(this.start, e);
    throw new SyntaxFailure(`${exp}, got ${JSON.stringify(tok)} (${TOKEN_NAMES[got]})`, this.start, this.entryStart, e);
  }

  private failAt(reason: string): never {
    throw new SyntaxFailure(reason, this.start, this.entryStart, this.i);
  }

  private slice(a: number, b: number): string {
    return b > this.s.length ? this.s.slice(a) + '\n' : this.s.slice(a, b);
  }

  run(sink: EntrySink, pause?: () => boolean): boolean {
    for (;;) {
      // Between entries the lexer is at a line start in S_INIT: nothing else to keep.
      if (pause !== undefined && pause()) return false;
      this.entryStart = this.i;
      const t = this.nextToken();
      switch (t) {
        case T_EOF:
          return true;
        case T_LINEBREAK:
          continue;
        case T_HELP:
        case T_TYPE:
          this.meta(t, sink);
          continue;
        case T_COMMENT: {
          const t2 = this.nextToken();
          if (t2 !== T_LINEBREAK) this.fail('linebreak expected after comment', t2);
          continue;
        }
        case T_MNAME:
          this.series(sink);
          continue;
        default:
          this.fail('expected a valid start token', t);
      }
    }
  }

  private meta(t: number, sink: EntrySink): void {
    const kw = TOKEN_NAMES[t];
    let t2 = this.nextToken();
    if (t2 !== T_MNAME) this.fail(`expected metric name after ${kw}`, t2);
    const name = this.s.slice(this.start, this.i);
    t2 = this.nextToken();
    if (t2 !== T_TEXT) this.failAt(`expected text in ${kw}`);
    const a = this.start;
    const b = this.i;
    let text = b - a > 1 ? this.slice(a + 1, b) : '';
    if (t === T_TYPE) {
      const ty = TYPES_TEXT[text];
      if (ty === undefined) this.failAt(`invalid metric type ${JSON.stringify(this.src.text(text))}`);
      text = ty;
    } else {
      if (b - a > 1 && !this.src.validUtf8(a + 1, Math.min(b, this.s.length))) {
        this.failAt(`help text ${JSON.stringify(text)} is not a valid utf8 string`);
      }
      text = this.src.text(unescapeHelp(text));
    }
    const t3 = this.nextToken();
    if (t3 !== T_LINEBREAK) this.fail('linebreak expected after metadata', t3);
    sink.meta(t === T_HELP ? 0 : 1, name, text);
  }

  private series(sink: EntrySink): void {
    const series = this.tokens;
    series.begin(this.start, this.i);
    if (this.start !== this.entryStart) {
      // promparse takes the metric name from the entry start, so leading blanks become part of
      // it and the scrape fails Prometheus' label validation.
      this.failAt(`invalid metric name or label names: metric name ${JSON.stringify(this.s.slice(this.entryStart, this.i))}`);
    }
    let t: number;
    const known = sink.expected();
    if (known !== undefined && known.charCodeAt(known.length - 1) === 125 /* } */ && this.s.startsWith(known, this.start)) {
      // The same characters lex to the same tokens: go on after the `}` as the token path would.
      series.known = known;
      series.end = this.i = this.start + known.length;
      this.state = S_VALUE;
      t = this.nextToken();
    } else {
      t = this.nextToken();
      if (t === T_BOPEN) {
        if (!this.plainLabels(series)) this.labels(series);
        series.end = this.i;
        t = this.nextToken();
      }
    }
    if (t !== T_VALUE) this.fail('expected value after metric', t);
    let v = plainDecimalAt(this.s, this.start, this.i);
    if (v !== v) {
      const raw = this.slice(this.start, this.i);
      const parsed = parseGoFloat(raw);
      if (parsed === undefined) {
        this.failAt(
          lastFloatError === 'unsupported character in float'
            ? lastFloatError
            : `strconv.ParseFloat: parsing ${JSON.stringify(this.src.text(raw))}: ${lastFloatError}`,
        );
      }
      v = parsed;
    }
    let ts: number | undefined;
    t = this.nextToken();
    if (t === T_TIMESTAMP) {
      const digits = this.s.slice(this.start, this.i);
      ts = parseDigitsInt64(digits);
      if (ts === undefined) this.failAt(`strconv.ParseInt: parsing ${JSON.stringify(digits)}: value out of range`);
      t = this.nextToken();
      if (t !== T_LINEBREAK) this.fail('expected next entry after timestamp', t);
    } else if (t !== T_LINEBREAK) {
      this.fail('expected timestamp or new record', t);
    }
    sink.series(series, v, ts, this.entryStart);
  }

  /**
   * The label set every client library prints — `name="value"` pairs, single commas, no
   * blanks, no escapes or NULs in values — in one pass instead of ~4 tokens per label (most
   * of a scrape's lexing). Whatever it accepts gives the same offsets, checks and lexer
   * state as the token path; anything else returns false with nothing consumed, and the
   * token path (labels()) takes over from the `{`.
   */
  private plainLabels(series: SeriesTokens): boolean {
    const s = this.s;
    const len = s.length;
    let i = this.i;
    while (i < len) {
      let c = s.charCodeAt(i);
      if (c === 125 /* } */) {
        this.i = i + 1;
        this.state = S_VALUE;
        return true;
      }
      if (!isL(c)) break;
      const nameStart = i;
      do c = s.charCodeAt(++i);
      while (isLD(c)); // NaN past the end
      if (c !== 61 /* = */ || s.charCodeAt(i + 1) !== 34 /* " */) break;
      const nameEnd = i;
      const valueStart = i + 2;
      for (i = valueStart; i < len; i++) {
        c = s.charCodeAt(i);
        if (c === 34 || c === 92 /* \ */ || c === 0) break;
      }
      if (i >= len || c !== 34 || !this.src.validUtf8(valueStart - 1, i + 1)) break;
      series.add(nameStart, nameEnd, valueStart, i);
      c = s.charCodeAt(++i);
      if (c === 44 /* , */) i++;
      else if (c !== 125) break;
    }
    series.n = 0;
    return false;
  }

  // promparse parseLVals: commas between pairs are optional, one trailing comma allowed.
  private labels(series: SeriesTokens): void {
    let t = this.nextToken();
    for (;;) {
      if (t === T_BCLOSE) return;
      if (t !== T_LNAME) this.fail('expected label name', t);
      const nameStart = this.start;
      const nameEnd = this.i;
      t = this.nextToken();
      if (t !== T_EQUAL) this.fail('expected equal', t);
      t = this.nextToken();
      if (t !== T_LVALUE) this.fail('expected label value', t);
      if (!this.src.validUtf8(this.start, this.i)) {
        this.failAt(`invalid UTF-8 label value: ${JSON.stringify(this.s.slice(this.start, this.i))}`);
      }
      series.add(nameStart, nameEnd, this.start + 1, this.i - 1);
      t = this.nextToken();
      if (t === T_COMMA) t = this.nextToken();
    }
  }
}
