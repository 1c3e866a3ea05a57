// OpenMetrics 1.0 text format as Prometheus 2.48 ingests it: a port of
// model/textparse/openmetricslex.l(.go) and openmetricsparse.go. Like Prometheus, this is
// a tokenizer-level parser: it enforces the line grammar (single spaces, no blank lines,
// mandatory `# EOF` and nothing after it, no trailing comma in label sets, TYPE/UNIT
// checks) but not the family-level rules of the OpenMetrics spec (`_total` suffixes,
// bucket monotonicity, grouping). Exemplars are parsed and validated, then discarded.

import {NL, SP, isL, isLD, isM, isMD} from './chars.ts';
import {SyntaxFailure} from './errors.ts';
import {goInt64, lastFloatError, parseGoFloat} from './float.ts';
import {type EntrySink, SeriesTokens, type Source} from './source.ts';

const T_INVALID = -1;
const T_EOF = 0;
const T_LINEBREAK = 1;
const T_HELP = 3;
const T_TYPE = 4;
const T_UNIT = 5;
const T_EOFWORD = 6;
const T_TEXT = 7;
const T_COMMENT = 8;
const T_MNAME = 9;
const T_BOPEN = 10;
const T_BCLOSE = 11;
const T_LNAME = 12;
const T_LVALUE = 13;
const T_COMMA = 14;
const T_EQUAL = 15;
const T_TIMESTAMP = 16;
const T_VALUE = 17;

const TOKEN_NAMES: Record<number, string> = {
  [T_INVALID]: 'INVALID',
  [T_EOF]: 'EOF',
  [T_LINEBREAK]: 'LINEBREAK',
  [T_HELP]: 'HELP',
  [T_TYPE]: 'TYPE',
  [T_UNIT]: 'UNIT',
  [T_EOFWORD]: 'EOFWORD',
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

const S_INIT = 0;
const S_COMMENT = 1;
const S_META1 = 2;
const S_META2 = 3;
const S_LABELS = 4;
const S_LVALUE = 5;
const S_VALUE = 6;
const S_TIMESTAMP = 7;
const S_EXEMPLAR = 8;
const S_EVALUE = 9;
const S_ETIMESTAMP = 10;

// [^ \n] minus NUL (golex reserves 0 for end of input)
function isV(c: number): boolean {
  return c !== SP && c !== NL && c !== 0;
}

export const TYPES_OM: Record<string, string> = {
  counter: 'counter',
  gauge: 'gauge',
  histogram: 'histogram',
  gaugehistogram: 'gaugehistogram',
  summary: 'summary',
  info: 'info',
  stateset: 'stateset',
  unknown: 'unknown',
};

/** Parses a whole OpenMetrics body, reporting entries to `sink`. Throws SyntaxFailure. */
export function parseOpenMetrics(src: Source, sink: EntrySink, exemplarNameCheck = false): void {
  new OMParser(src, exemplarNameCheck).run(sink);
}

/**
 * An OpenMetrics parser that can stop between entries: `run(sink, pause)` returns false
 * when `pause()` asked it to stop, and carries on from there when called again.
 */
export function openMetricsParser(src: Source, exemplarNameCheck = false): {run(sink: EntrySink, pause?: () => boolean): boolean} {
  return new OMParser(src, exemplarNameCheck);
}

class OMParser {
  private readonly s: string;
  private readonly n: number;
  private i = 0;
  private start = 0;
  private state = S_INIT;
  private entryStart = 0;
  private readonly tokens: SeriesTokens;
  /** Exemplar labels: validated, never decoded. */
  private readonly exemplarTokens: SeriesTokens;

  constructor(
    private readonly src: Source,
    private readonly exemplarNameCheck: boolean,
  ) {
    this.s = src.s;
    this.n = src.s.length;
    this.tokens = new SeriesTokens(src);
    this.exemplarTokens = new SeriesTokens(src);
  }

  private next(): number {
    let i = ++this.i;
    if (i >= this.n) return 0;
    const st = this.state;
    if (st === S_LVALUE || st === S_META2 || st === S_COMMENT) {
      while (this.s.charCodeAt(i) === 0) {
        i = ++this.i;
        if (i >= this.n) return 0;
      }
    }
    return this.s.charCodeAt(i);
  }

  private lex(): number {
    if (this.i >= this.n) {
      this.start = this.i;
      return T_EOF;
    }
    let c = this.s.charCodeAt(this.i);
    this.start = this.i;
    for (;;) {
      switch (this.state) {
        case S_INIT:
          if (c === 35 /* # */) {
            if (this.next() !== SP) return T_INVALID;
            c = this.next();
            this.state = S_COMMENT;
            continue;
          }
          if (isM(c)) {
            this.i = this.scanMD(this.i + 1);
            this.state = S_VALUE;
            return T_MNAME;
          }
          return T_INVALID;

        case S_COMMENT:
          switch (c) {
            case 69 /* E */:
              if (this.next() !== 79 || this.next() !== 70) return T_INVALID;
              if (this.next() === NL) this.next();
              this.state = S_INIT;
              return T_EOFWORD;
            case 72 /* H */:
              if (this.next() !== 69 || this.next() !== 76 || this.next() !== 80) return T_INVALID;
              return this.keyword(T_HELP);
            case 84 /* T */:
              if (this.next() !== 89 || this.next() !== 80 || this.next() !== 69) return T_INVALID;
              return this.keyword(T_TYPE);
            case 85 /* U */:
              if (this.next() !== 78 || this.next() !== 73 || this.next() !== 84) return T_INVALID;
              return this.keyword(T_UNIT);
          }
          return T_INVALID;

        case S_META1:
          if (isM(c)) {
            do c = this.next();
            while (isMD(c));
            this.state = S_META2;
            return T_MNAME;
          }
          return T_INVALID;

        case S_META2:
          // {S}{C}*\n
          if (c !== SP) return T_INVALID;
          for (;;) {
            c = this.next();
            if (c === NL) {
              this.next();
              this.state = S_INIT;
              return T_TEXT;
            }
            if (c === 0) return T_INVALID;
          }

        case S_LABELS:
        case S_EXEMPLAR: {
          const ex = this.state === S_EXEMPLAR;
          if (c === 44 /* , */) {
            this.next();
            return T_COMMA;
          }
          if (c === 61 /* = */) {
            this.next();
            this.state = ex ? S_EVALUE : S_LVALUE;
            return T_EQUAL;
          }
          if (c === 125 /* } */) {
            this.next();
            this.state = ex ? S_EVALUE : S_VALUE;
            return T_BCLOSE;
          }
          if (isL(c)) {
            this.i = this.scanLD(this.i + 1);
            return T_LNAME;
          }
          return T_INVALID;
        }

        case S_LVALUE:
          if (c === 34) return this.quoted(S_LABELS);
          return T_INVALID;

        case S_VALUE:
          if (c === SP) {
            c = this.next();
            if (!isV(c)) return T_INVALID;
            this.i = this.scanV(this.i + 1);
            this.state = S_TIMESTAMP;
            return T_VALUE;
          }
          if (c === 123 /* { */) {
            this.next();
            this.state = S_LABELS;
            return T_BOPEN;
          }
          return T_INVALID;

        case S_TIMESTAMP:
          if (c === NL) {
            this.next();
            this.state = S_INIT;
            return T_LINEBREAK;
          }
          if (c === SP) {
            c = this.next();
            if (c === 35 /* # */) {
              c = this.next();
              if (c === SP) {
                // {S}#{S}\{ — no backtracking to the one-char timestamp "#"
                if (this.next() !== 123) return T_INVALID;
                this.next();
                this.state = S_EXEMPLAR;
                return T_COMMENT;
              }
              while (isV(c)) c = this.next();
              return T_TIMESTAMP;
            }
            if (!isV(c)) return T_INVALID;
            do c = this.next();
            while (isV(c));
            return T_TIMESTAMP;
          }
          return T_INVALID;

        case S_EVALUE:
          if (c === SP) {
            c = this.next();
            if (!isV(c)) return T_INVALID;
            do c = this.next();
            while (isV(c));
            this.state = S_ETIMESTAMP;
            return T_VALUE;
          }
          if (c === 34) return this.quoted(S_EXEMPLAR);
          return T_INVALID;

        case S_ETIMESTAMP:
          if (c === NL) {
            this.next();
            this.state = S_INIT;
            return T_LINEBREAK;
          }
          if (c === SP) {
            c = this.next();
            if (!isV(c)) return T_INVALID;
            do c = this.next();
            while (isV(c));
            return T_TIMESTAMP;
          }
          return T_INVALID;
      }
      return T_INVALID;
    }
  }

  // \"(\\.|[^\\"\n])*\"  — tight loop; NULs are skipped only in S_LVALUE (next() semantics).
  private quoted(after: number): number {
    const s = this.s;
    const n = this.n;
    const skipNul = this.state === S_LVALUE;
    let i = this.i + 1;
    for (;;) {
      if (i >= n) break;
      const c = s.charCodeAt(i);
      if (c === 34) {
        this.i = i + 1;
        this.state = after;
        return T_LVALUE;
      }
      if (c === 92) {
        i++;
        if (skipNul) while (i < n && s.charCodeAt(i) === 0) i++;
        if (i >= n) break;
        const d = s.charCodeAt(i);
        if (d === NL || d === 0) break;
        i++;
        continue;
      }
      if (c === NL) break;
      if (c === 0 && !skipNul) break;
      i++;
    }
    this.i = Math.min(i, n);
    return T_INVALID;
  }

  private scanMD(i: number): number {
    const s = this.s;
    const n = this.n;
    while (i < n && isMD(s.charCodeAt(i))) i++;
    return i;
  }

  private scanLD(i: number): number {
    const s = this.s;
    const n = this.n;
    while (i < n && isLD(s.charCodeAt(i))) i++;
    return i;
  }

  private scanV(i: number): number {
    const s = this.s;
    const n = this.n;
    while (i < n && isV(s.charCodeAt(i))) i++;
    return i;
  }

  private keyword(tok: number): number {
    if (this.next() !== SP) return T_INVALID;
    this.next();
    this.state = S_META1;
    return tok;
  }

  private fail(exp: string, got: number): never {
    const e = Math.min(this.i + 1, this.n);
    const tok = this.s.slice(this.start, e);
    throw new SyntaxFailure(`${exp}, got ${JSON.stringify(tok)} (${TOKEN_NAMES[got]})`, this.start, this.entryStart, e);
  }

  private failAt(reason: string): never {
    throw new SyntaxFailure(reason, this.start, this.entryStart, this.i);
  }

  run(sink: EntrySink, pause?: () => boolean): boolean {
    for (;;) {
      // Between entries the lexer is at a line start; family state lives in fields.
      if (pause !== undefined && pause()) return false;
      this.entryStart = this.i;
      const t = this.lex();
      switch (t) {
        case T_EOFWORD: {
          const t2 = this.lex();
          if (t2 !== T_EOF) this.failAt('unexpected data after # EOF');
          return true;
        }
        case T_EOF:
          this.failAt('data does not end with # EOF');
          break;
        case T_HELP:
        case T_TYPE:
        case T_UNIT:
          this.meta(t, sink);
          continue;
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
    let t2 = this.lex();
    if (t2 !== T_MNAME) this.fail(`expected metric name after ${kw}`, t2);
    const name = this.s.slice(this.start, this.i);
    t2 = this.lex();
    if (t2 !== T_TEXT) this.failAt(`expected text in ${kw}`);
    // token is " text\n"
    const a = this.start + 1;
    const b = this.i - 1;
    let text = this.s.slice(a, b);
    if (t === T_TYPE) {
      const ty = TYPES_OM[text];
      if (ty === undefined) this.failAt(`invalid metric type ${JSON.stringify(this.src.text(text))}`);
      text = ty;
    } else if (t === T_HELP) {
      if (!this.src.validUtf8(a, b)) this.failAt(`help text ${JSON.stringify(text)} is not a valid utf8 string`);
      text = this.src.labelValue(a, b); // OpenMetrics HELP uses the label value escapes
    } else if (text.length > 0) {
      const m = name;
      if (!m.endsWith(text) || m.length < text.length + 1 || m.charCodeAt(m.length - text.length - 1) !== 95) {
        this.failAt(`unit ${JSON.stringify(this.src.text(text))} not a suffix of metric ${JSON.stringify(m)}`);
      }
    }
    sink.meta(t === T_HELP ? 0 : t === T_TYPE ? 1 : 2, name, text);
  }

  private floatValue(t: number, after: string): number {
    if (t !== T_VALUE) this.fail(`expected value after ${after}`, t);
    const raw = this.s.slice(this.start + 1, this.i);
    const v = parseGoFloat(raw);
    if (v === undefined) this.floatFail(raw);
    return v;
  }

  private floatFail(raw: string): never {
    this.failAt(
      lastFloatError === 'unsupported character in float'
        ? lastFloatError
        : `strconv.ParseFloat: parsing ${JSON.stringify(this.src.text(raw))}: ${lastFloatError}`,
    );
  }

  private timestamp(what: string): number {
    const raw = this.s.slice(this.start + 1, this.i);
    const ts = parseGoFloat(raw);
    if (ts === undefined) this.floatFail(raw);
    if (Number.isNaN(ts) || ts === Infinity || ts === -Infinity) this.failAt(`invalid ${what} ${goFloatF(ts)}`);
    return goInt64(ts * 1000);
  }

  private series(sink: EntrySink): void {
    const series = this.tokens;
    series.begin(this.start, this.i);
    let t = this.lex();
    if (t === T_BOPEN) {
      this.labels(series);
      series.end = this.i;
      t = this.lex();
    }
    const v = this.floatValue(t, 'metric');
    let ts: number | undefined;
    t = this.lex();
    switch (t) {
      case T_EOF:
        this.failAt('data does not end with # EOF');
        break;
      case T_LINEBREAK:
        break;
      case T_COMMENT:
        this.exemplar(series);
        break;
      case T_TIMESTAMP:
        ts = this.timestamp('timestamp');
        t = this.lex();
        if (t === T_COMMENT) this.exemplar(series);
        else if (t !== T_LINEBREAK) this.fail('expected next entry after timestamp', t);
        break;
      default:
        this.fail('expected timestamp or # symbol', t);
    }
    sink.series(series, v, ts, this.entryStart);
  }

  // Exemplars are validated like Prometheus does, then dropped (no exemplar storage).
  private exemplar(series: SeriesTokens): void {
    // Prometheus before 2.48 (e.g. Debian's 2.42): only _total and _bucket series may carry exemplars.
    if (this.exemplarNameCheck) {
      const name = series.name();
      if (!name.endsWith('_total') && !name.endsWith('_bucket')) this.failAt(`metric name ${name} does not support exemplars`);
    }
    this.exemplarTokens.begin(this.start, this.start);
    this.labels(this.exemplarTokens);
    this.floatValue(this.lex(), 'exemplar labels');
    const t = this.lex();
    switch (t) {
      case T_EOF:
        this.failAt('data does not end with # EOF');
        break;
      case T_LINEBREAK:
        break;
      case T_TIMESTAMP: {
        this.timestamp('exemplar timestamp');
        const t3 = this.lex();
        if (t3 !== T_LINEBREAK) this.fail('expected next entry after exemplar timestamp', t3);
        break;
      }
      default:
        this.fail('expected timestamp or comment', t);
    }
  }

  // openmetricsparse parseLVals: `{}` or `{a="b",c="d"}`; no trailing comma, no spaces.
  private labels(series: SeriesTokens): void {
    let first = true;
    for (;;) {
      let t = this.lex();
      switch (t) {
        case T_BCLOSE:
          return;
        case T_COMMA:
          if (first) this.fail('expected label name or left brace', t);
          t = this.lex();
          if (t !== T_LNAME) this.fail('expected label name', t);
          break;
        case T_LNAME:
          if (!first) this.fail('expected comma', t);
          break;
        default:
          if (first) this.fail('expected label name or left brace', t);
          this.fail('expected comma or left brace', t);
      }
      first = false;
      const nameStart = this.start;
      const nameEnd = this.i;
      t = this.lex();
      if (t !== T_EQUAL) this.fail('expected equal', t);
      t = this.lex();
      if (t !== T_LVALUE) this.fail('expected label value', t);
      if (!this.src.validUtf8(this.start, this.i)) {
        this.failAt(`invalid UTF-8 label value: ${JSON.stringify(this.s.slice(this.start, this.i))}`);
      }
      series.add(nameStart, nameEnd, this.start + 1, this.i - 1);
    }
  }
}

// Go's %f for the two values that reach it (NaN, ±Inf).
function goFloatF(v: number): string {
  return Number.isNaN(v) ? 'NaN' : v > 0 ? '+Inf' : '-Inf';
}
