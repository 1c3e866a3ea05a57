// parse(): body + Content-Type → samples with Prometheus' ingestion rules applied
// (label set building, empty/duplicate labels, target labels, limits).

import type {Label, Labels} from '../../tsdb/labels/mod.ts';
import {LimitError, ParseError, SyntaxFailure} from './errors.ts';
import {type ExpositionFormat, negotiate} from './mediatype.ts';
import {openMetricsParser} from './openmetrics.ts';
import {type EntrySink, type SeriesTokens, Source} from './source.ts';
import {applyTargetLabels, prepareTarget, type TargetOptions} from './target.ts';
import {textParser} from './text.ts';

/** Go's math.NaN() (Prometheus value.NormalNaN): the bits every parsed NaN is stored with. */
export const GO_NAN_BITS = 0x7ff8000000000001n;

export type MetricType = 'counter' | 'gauge' | 'histogram' | 'gaugehistogram' | 'summary' | 'info' | 'stateset' | 'unknown';

export interface FamilyMeta {
  type: MetricType;
  help: string;
  unit: string;
}

export interface ParsedSample {
  /** Sorted by name in byte order, `__name__` included, no empty values, unique names. */
  labels: Label[];
  value: number;
  /** Raw IEEE-754 bits when they matter: set (to GO_NAN_BITS) exactly when value is NaN. */
  valueBits?: bigint;
  /** Milliseconds. The exposed timestamp; with `target` options, the final sample time. */
  timestamp?: number;
  /** Names exposed with an empty value (dropped from `labels`; honor_labels still sees them). */
  emptyLabels?: string[];
}

export interface ParseResult {
  samples: ParsedSample[];
  families: Map<string, FamilyMeta>;
  format: 'text' | 'openmetrics';
}

export interface ParseOptions {
  /** sample_limit: more samples than this fails the scrape ("sample limit exceeded"). 0 = none. */
  sampleLimit?: number;
  /** label_limit: max labels per series (after target labels when `target` is set). 0 = none. */
  labelLimit?: number;
  /** label_name_length_limit in bytes. 0 = none. */
  labelNameLengthLimit?: number;
  /** label_value_length_limit in bytes. 0 = none. */
  labelValueLengthLimit?: number;
  /** Reject exemplars on series not ending in _total/_bucket, as Prometheus < 2.48 did (2.42 oracle). */
  exemplarNameCheck?: boolean;
  /** Apply target labels / honor_* settings while parsing (limits then see the final labels). */
  target?: TargetOptions;
}

export interface ParseSummary {
  families: Map<string, FamilyMeta>;
  format: 'text' | 'openmetrics';
  /** Samples in the body (Prometheus' scrape_samples_scraped). */
  total: number;
}

/**
 * A per-target series cache, as Prometheus' scrape loop keeps one (scrapeCache): the series
 * text as exposed (metric name and label set, e.g. `a_total{b="c"}`) → what the caller made
 * of that sample's labels. The final labels, their validity and the label limits depend only
 * on that text and the options, so on a hit nothing is built or checked again — the caller
 * must drop its entries when the options (target labels, honor_*, limits) change.
 */
export interface SeriesCache<E> {
  get(series: string): E | undefined;
  /** A sample whose series `get` knew; `timestamp` as in ParsedSample. */
  hit(entry: E, value: number, timestamp: number | undefined): void;
  /**
   * The text of a known series the cache expects next (exporters print their series in the
   * same order every time), if any. Where the body reads exactly so, the text parser skips
   * lexing that label set and calls `get` with this very string.
   */
  expected(): string | undefined;
}

/** Resolves the format for a Content-Type; throws ParseError for protobuf (never requested). */
export function formatFor(contentType: string | null | undefined): 'text' | 'openmetrics' {
  const f: ExpositionFormat = negotiate(contentType);
  if (f === 'protobuf') {
    throw new ParseError(`unsupported exposition format (Content-Type ${JSON.stringify(contentType)})`, 1, '', 0);
  }
  return f;
}

/**
 * Parses a scrape body. Throws ParseError (malformed/rejected input) or LimitError; on
 * error there is no partial result, as Prometheus rolls back the whole scrape.
 */
export function parse(body: Buffer | Uint8Array | string, contentType: string | null | undefined, opts: ParseOptions = {}): ParseResult {
  const samples: ParsedSample[] = [];
  const limit = opts.sampleLimit ?? 0;
  const r = parseEach(body, contentType, opts, (s) => {
    if (limit <= 0 || samples.length < limit) samples.push(s);
  });
  return {samples, families: r.families, format: r.format};
}

/**
 * Streaming variant: calls `onSample` for each sample in exposition order. If it throws a
 * ScrapeError afterwards (sample limit, a later syntax error), samples already delivered
 * must be discarded by the caller (e.g. appender rollback). With a sample limit, samples
 * past the limit are not delivered.
 *
 * With a `cache`, samples whose series text it knows go to `cache.hit` instead, and
 * `onSample` gets the series text to cache the sample's labels under. The text is undefined
 * without a cache, and for bodies that are not valid UTF-8: those are decoded byte by byte,
 * so the same text could stand for other labels in a UTF-8 body.
 */
export function parseEach<E = never>(
  body: Buffer | Uint8Array | string,
  contentType: string | null | undefined,
  opts: ParseOptions,
  onSample: (s: ParsedSample, series: string | undefined) => void,
  cache?: SeriesCache<E>,
): ParseSummary {
  const run = startParse(body, contentType, opts, onSample, cache);
  run.step(undefined);
  return run.finish();
}

/** How parseEachSliced shares the thread: slice length and what to await between slices. */
export interface SliceOptions {
  /** Parse for about this long before awaiting `between` (ms). */
  sliceMs: number;
  /** Awaited between slices (e.g. setImmediate); a rejection ends the parse with its reason. */
  between(): Promise<void>;
}

/** Entries parsed between two looks at the clock. */
const ENTRIES_PER_CLOCK_CHECK = 64;

/**
 * parseEach in time slices, so a large body does not hold the event loop: same samples in
 * the same order, same errors; between slices `between()` is awaited (samples delivered so
 * far stay delivered, as before a later syntax error).
 */
export async function parseEachSliced<E = never>(
  body: Buffer | Uint8Array | string,
  contentType: string | null | undefined,
  opts: ParseOptions,
  onSample: (s: ParsedSample, series: string | undefined) => void,
  cache: SeriesCache<E> | undefined,
  slices: SliceOptions,
): Promise<ParseSummary> {
  const run = startParse(body, contentType, opts, onSample, cache);
  let deadline = 0;
  let entries = 0;
  const pause = (): boolean => ++entries % ENTRIES_PER_CLOCK_CHECK === 0 && performance.now() >= deadline;
  for (;;) {
    deadline = performance.now() + slices.sliceMs;
    if (run.step(pause)) return run.finish();
    await slices.between();
  }
}

interface ParseRun {
  /** Parses until the end (true) or until `pause()` returns true (false). */
  step(pause: (() => boolean) | undefined): boolean;
  /** After the last step: the sample limit check and the summary. */
  finish(): ParseSummary;
}

function startParse<E>(
  body: Buffer | Uint8Array | string,
  contentType: string | null | undefined,
  opts: ParseOptions,
  onSample: (s: ParsedSample, series: string | undefined) => void,
  cache: SeriesCache<E> | undefined,
): ParseRun {
  const format = formatFor(contentType);
  const src = new Source(body);
  const families = new Map<string, FamilyMeta>();
  const sampleLimit = opts.sampleLimit ?? 0;
  const labelLimit = opts.labelLimit ?? 0;
  const nameLimit = opts.labelNameLengthLimit ?? 0;
  const valueLimit = opts.labelValueLengthLimit ?? 0;
  const checkLimits = labelLimit > 0 || nameLimit > 0 || valueLimit > 0;
  const target = opts.target ? prepareTarget(opts.target) : undefined;
  const useCache = cache !== undefined && !src.bytes;
  const pairs: string[] = [];
  let total = 0;

  const sink: EntrySink = {
    series(series, value, ts, entryStart) {
      total++;
      if (sampleLimit > 0 && total > sampleLimit) return; // keep parsing: syntax errors win
      let text: string | undefined;
      if (useCache) {
        text = series.text();
        const entry = cache.get(text);
        if (entry !== undefined) {
          cache.hit(entry, value, target === undefined || (target.honorTimestamps && ts !== undefined) ? ts : target.scrapeTime);
          return;
        }
        if (series.known !== undefined) throw new Error('series cache: get() does not know the text expected() returned');
      }
      let sample = buildSample(series, pairs, value, ts, entryStart);
      if (target) sample = applyTargetLabels(sample, target.labels, target);
      if (checkLimits) verifyLabelLimits(sample.labels, labelLimit, nameLimit, valueLimit);
      onSample(sample, text);
    },
    expected: () => (useCache ? cache.expected() : undefined),
    meta(kind, name, text) {
      let f = families.get(name);
      if (!f) families.set(name, (f = {type: 'unknown', help: '', unit: ''}));
      if (kind === 0) f.help = text;
      else if (kind === 1) f.type = text as MetricType;
      else f.unit = text;
    },
  };

  const parser = format === 'openmetrics' ? openMetricsParser(src, opts.exemplarNameCheck) : textParser(src);
  return {
    step(pause) {
      try {
        return parser.run(sink, pause);
      } catch (e) {
        if (e instanceof SyntaxFailure) throw toParseError(src.s, e);
        throw e;
      }
    },
    finish() {
      if (sampleLimit > 0 && total > sampleLimit) throw new LimitError('sample_limit', 'sample limit exceeded');
      return {families, format, total};
    },
  };
}

function toParseError(s: string, f: SyntaxFailure): ParseError {
  const at = Math.min(f.at, s.length);
  let line = 1;
  for (let i = s.indexOf('\n'); i >= 0 && i < at; i = s.indexOf('\n', i + 1)) line++;
  let from = f.entryStart;
  const to = Math.min(Math.max(f.end, at), s.length);
  if (to - from > 120) from = to - 120;
  let ex = s.slice(from, to);
  if (f.end > s.length) ex += '\n';
  return new ParseError(f.reason, line, JSON.stringify(ex), f.at);
}

function syntaxAt(reason: string, entryStart: number): SyntaxFailure {
  return new SyntaxFailure(reason, entryStart, entryStart, entryStart);
}

/** Builds the sorted label set Prometheus would store for one exposed sample. */
function buildSample(series: SeriesTokens, pairs: string[], value: number, ts: number | undefined, entryStart: number): ParsedSample {
  const n = series.n;
  series.decode(pairs);
  const labels: Label[] = [{name: '__name__', value: series.name()}];
  let empty: string[] | undefined;
  for (let k = 0; k < n; k++) {
    const v = pairs[2 * k + 1];
    const lname = pairs[2 * k];
    labels.push({name: lname, value: v});
    if (v === '') (empty ??= []).push(lname);
  }
  // Insertion sort by name: exposers (client_golang, prom-client) already sort, so this is
  // usually linear. Names are ASCII ([a-zA-Z_][a-zA-Z0-9_]*), so `<` is byte order.
  for (let a = 1; a <= n; a++) {
    const x = labels[a];
    let b = a - 1;
    if (labels[b].name <= x.name) continue;
    while (b >= 0 && labels[b].name > x.name) {
      labels[b + 1] = labels[b];
      b--;
    }
    labels[b + 1] = x;
  }
  let out = labels;
  if (empty) {
    // labels.Builder drops every label whose name was given an empty value (all
    // occurrences of that name).
    const drop = new Set(empty);
    out = labels.filter((l) => !drop.has(l.name));
    if (drop.has('__name__') || !out.some((l) => l.name === '__name__')) {
      throw syntaxAt('missing metric name (__name__ label)', entryStart);
    }
  }
  for (let k = 1; k < out.length; k++) {
    if (out[k].name === out[k - 1].name) {
      throw syntaxAt(`label name ${JSON.stringify(out[k].name)} is not unique: invalid sample`, entryStart);
    }
  }
  const s: ParsedSample = {labels: out, value};
  if (value !== value) s.valueBits = GO_NAN_BITS;
  if (ts !== undefined) s.timestamp = ts;
  if (empty) s.emptyLabels = empty;
  return s;
}

function utf8Length(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

// Go's %.50s: at most 50 bytes (we cut at 50 UTF-16 units; messages only).
function cut50(s: string): string {
  return s.length > 50 ? s.slice(0, 50) : s;
}

/** Prometheus verifyLabelLimits on the final label set. Throws LimitError. */
export function verifyLabelLimits(ls: Labels, labelLimit: number, nameLimit: number, valueLimit: number): void {
  let met = '';
  for (const l of ls) if (l.name === '__name__') met = l.value;
  if (labelLimit > 0 && ls.length > labelLimit) {
    throw new LimitError(
      'label_limit',
      `label_limit exceeded (metric: ${cut50(met)}, number of labels: ${ls.length}, limit: ${labelLimit})`,
    );
  }
  if (nameLimit <= 0 && valueLimit <= 0) return;
  for (const l of ls) {
    if (nameLimit > 0 && l.name.length > nameLimit) {
      throw new LimitError(
        'label_name_length_limit',
        `label_name_length_limit exceeded (metric: ${cut50(met)}, label name: ${cut50(l.name)}, length: ${l.name.length}, limit: ${nameLimit})`,
      );
    }
    if (valueLimit > 0 && l.value.length * 3 > valueLimit) {
      const len = l.value.length > valueLimit ? l.value.length : utf8Length(l.value);
      if (len > valueLimit) {
        const bytes = utf8Length(l.value);
        throw new LimitError(
          'label_value_length_limit',
          `label_value_length_limit exceeded (metric: ${cut50(met)}, label name: ${cut50(l.name)}, value: ${JSON.stringify(cut50(l.value))}, length: ${bytes}, limit: ${valueLimit})`,
        );
      }
    }
  }
}
