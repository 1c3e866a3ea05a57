// One scrape loop per target, as Prometheus runs them (scrape/scrape.go): fetch,
// parse, append with target labels, staleness markers for series that vanished,
// and the synthetic report series. A failed scrape appends nothing but the report
// (up=0) and the staleness markers of the previous scrape's series.
//
// Each loop keeps a ScrapeCache of its target's series, so a series seen before costs a
// lookup by its exposed text: no labels are built, the store is addressed by ref.

import type {Label, Labels} from '../tsdb/labels/mod.ts';
import {type CachedSeries, ScrapeCache} from './cache.ts';
import {parseEachSliced, readBody, ScrapeError, scrapeRequestHeaders, type SeriesCache} from './parser/mod.ts';

export interface ScrapeTarget {
  job: string;
  /** host:port of the node, the `instance` label. */
  instance: string;
  url: string;
  /** Extra target labels. */
  labels?: Readonly<Record<string, string>>;
}

/** Where samples go; the head's appender fits. Values for stale markers are ignored. */
export interface ScrapeAppender {
  /**
   * Stages a sample of `labels`. `ref` is what this returned for the same labels before (0
   * the first time); the store may address the series by it, and must fall back to the
   * labels when it no longer knows it. Returns the ref to pass next time (0: none).
   */
  appendByRef(ref: number, labels: Labels, t: number, v: number, stale?: boolean): number;
  commit(): unknown;
  rollback(): void;
}
export interface Appendable {
  appender(): ScrapeAppender;
}

export interface ScrapeConfig {
  intervalMs: number;
  timeoutMs: number;
  honorLabels: boolean;
  honorTimestamps: boolean;
  /** 0: no limit. */
  bodySizeLimit: number;
  sampleLimit: number;
  labelLimit: number;
  labelNameLengthLimit: number;
  labelValueLengthLimit: number;
}

export interface ScrapeLogger {
  warn(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
}

export interface TargetHealth {
  job: string;
  instance: string;
  url: string;
  health: 'up' | 'down' | 'unknown';
  lastScrape: number | null;
  lastDurationMs: number | null;
  lastError: string | null;
  samples: number;
  /** Samples of the last scrape the store refused (out of order, …). */
  rejected: number;
}

/** The longest wait before a new target's first scrape (Prometheus may wait a whole interval). */
export const firstScrapeWithinMs = 2_000;

export interface LoopOptions {
  now?: () => number;
  fetch?: typeof fetch;
  logger?: ScrapeLogger;
}

/** FNV-1a of the target identity: a stable offset so many targets do not fire together. */
function offsetFor(t: ScrapeTarget, spreadMs: number): number {
  let h = 0x811c9dc5;
  for (const c of `${t.job}\0${t.instance}\0${t.url}`) {
    h ^= c.charCodeAt(0);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return spreadMs > 0 ? h % spreadMs : 0;
}

export class ScrapeLoop {
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private inFlight: Promise<void> | undefined;
  private abort: AbortController | undefined;
  /** Scrapes so far; a series seen by scrape `iter` is part of the current scrape. */
  private iter = 0;
  /** Series of the last completed scrape, for staleness markers and scrape_series_added. */
  private previous: CachedSeries[] = [];
  /** `iter` of the last scrape if it succeeded, else -1 (new series have seen = 0). */
  private previousIter = -1;
  /** The series of the last successful scrape. */
  private readonly cache = new ScrapeCache();
  private readonly targetLabels: Label[];
  private readonly report: CachedSeries[];
  private readonly now: () => number;
  private readonly fetchFn: typeof fetch;
  private lastFailure = '';
  /** The settings changed: the cached texts go before the next scrape. */
  private textsStale = false;
  private lastRejected = 0;
  readonly health: TargetHealth;

  constructor(
    readonly target: ScrapeTarget,
    private readonly store: Appendable,
    private config: ScrapeConfig,
    private readonly opts: LoopOptions = {},
  ) {
    validateScrapeConfig(config);
    this.now = opts.now ?? Date.now;
    this.fetchFn = opts.fetch ?? fetch;
    // job and instance win over the same names among the extra labels.
    const merged = new Map(Object.entries(target.labels ?? {}));
    merged.set('job', target.job);
    merged.set('instance', target.instance);
    this.targetLabels = [...merged].map(([name, value]) => ({name, value})).sort((a, b) => (a.name < b.name ? -1 : 1));
    this.report = reportNames.map((name) => ({labels: [{name: '__name__', value: name}, ...this.targetLabels], ref: 0, seen: 0}));
    this.health = {job: target.job, instance: target.instance, url: target.url, health: 'unknown', lastScrape: null, lastDurationMs: null, lastError: null, samples: 0, rejected: 0};
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.schedule(offsetFor(this.target, Math.min(firstScrapeWithinMs, this.config.intervalMs)));
  }

  /** New settings apply from the next scrape. */
  updateConfig(config: ScrapeConfig): void {
    validateScrapeConfig(config);
    const intervalChanged = config.intervalMs !== this.config.intervalMs;
    this.config = config;
    // Labels made from a text depend on honor_labels and the limits: build them again, from
    // the next scrape on (one in flight still parses, and caches, with the old settings).
    this.textsStale = true;
    if (intervalChanged && this.running && !this.inFlight) this.schedule(offsetFor(this.target, Math.min(firstScrapeWithinMs, config.intervalMs)));
  }

  /** Stops scraping; with markStale, every series of the last scrape gets a staleness marker now. */
  async stop(markStale: boolean): Promise<void> {
    this.running = false;
    clearTimeout(this.timer);
    this.abort?.abort(new Error('scrape loop stopped'));
    await this.inFlight?.catch(() => {});
    if (markStale) {
      const app = this.store.appender();
      const t = this.now();
      for (const s of this.previous) app.appendByRef(s.ref, s.labels, t, NaN, true);
      for (const s of this.report) app.appendByRef(s.ref, s.labels, t, NaN, true);
      app.commit();
    }
    this.previous = [];
    this.cache.clear();
  }

  /**
   * One scrape now (tests, and the scheduler); after the one in flight, if any — a scrape
   * yields while it parses, and two must not share the series cache at once.
   */
  scrapeOnce(): Promise<void> {
    const before = this.inFlight;
    const scrape = before === undefined ? this.scrape() : before.catch(() => {}).then(() => this.scrape());
    const run = scrape.finally(() => {
      if (this.inFlight === run) this.inFlight = undefined;
    });
    this.inFlight = run;
    return run;
  }

  private schedule(delayMs: number): void {
    clearTimeout(this.timer);
    if (!this.running) return;
    this.timer = setTimeout(() => {
      const started = this.now();
      void this.scrapeOnce().finally(() => {
        const spent = this.now() - started;
        this.schedule(Math.max(0, this.config.intervalMs - spent));
      });
    }, delayMs);
    this.timer.unref();
  }

  private async scrape(): Promise<void> {
    if (this.textsStale) {
      this.cache.clearTexts();
      this.textsStale = false;
    }
    const cfg = this.config;
    const t = this.now();
    const startedAt = performance.now();
    const abort = new AbortController();
    this.abort = abort;
    const timeout = setTimeout(() => abort.abort(new ScrapeError(`context deadline exceeded (${cfg.timeoutMs} ms)`)), cfg.timeoutMs);
    const app = this.store.appender();
    const iter = ++this.iter;
    const previousIter = this.previousIter;
    let current: CachedSeries[] = [];
    let scraped = 0;
    let added = 0;
    let error: string | null = null;
    // A series goes into this scrape once; a duplicate (same labels, maybe exposed with another
    // text) is dropped, as Prometheus does within one scrape.
    const appendTo = (s: CachedSeries, ts: number, v: number): void => {
      if (s.seen === iter) return;
      if (s.seen !== previousIter) added++;
      s.seen = iter;
      current.push(s);
      s.ref = app.appendByRef(s.ref, s.labels, ts, v);
    };
    this.cache.begin();
    const cache: SeriesCache<CachedSeries> = {
      get: (text) => this.cache.get(text),
      expected: () => this.cache.expected(),
      hit: (s, v, ts) => appendTo(s, ts ?? t, v),
    };
    try {
      const response = await this.fetchFn(this.target.url, {
        headers: scrapeRequestHeaders(cfg.timeoutMs / 1000),
        signal: abort.signal,
        redirect: 'follow',
      });
      const {body, contentType} = await readBody(response, cfg.bodySizeLimit);
      // The timeout is Prometheus' scrape_timeout: the request and the body, not the parse.
      clearTimeout(timeout);
      const summary = await parseEachSliced(
        body,
        contentType,
        {
          sampleLimit: cfg.sampleLimit,
          labelLimit: cfg.labelLimit,
          labelNameLengthLimit: cfg.labelNameLengthLimit,
          labelValueLengthLimit: cfg.labelValueLengthLimit,
          target: {labels: this.targetLabels, honorLabels: cfg.honorLabels, honorTimestamps: cfg.honorTimestamps, scrapeTime: t},
        },
        (sample, text) => appendTo(this.cache.add(sample.labels, text), sample.timestamp ?? t, sample.value),
        cache,
        {sliceMs: parseSliceMs, between: () => yieldUnlessStopped(abort.signal)},
      );
      scraped = summary.total;
      // The commit (a new target's first one creates every series' chunk) gets a turn of its own.
      await yieldUnlessStopped(abort.signal);
    } catch (err) {
      app.rollback();
      // Stopped mid-scrape: this scrape never happened; stop() writes the staleness markers.
      if (!this.running) return;
      current = [];
      added = 0;
      error = abort.signal.aborted && abort.signal.reason instanceof Error ? abort.signal.reason.message : describe(err);
    } finally {
      clearTimeout(timeout);
    }
    const report = error === null ? app : this.store.appender();
    // Series of the previous scrape missing from this one (all of them after a failure) go stale.
    for (const s of this.previous) if (error !== null || s.seen !== iter) s.ref = report.appendByRef(s.ref, s.labels, t, NaN, true);
    const duration = (performance.now() - startedAt) / 1000;
    const values: Record<(typeof reportNames)[number], number> = {
      up: error === null ? 1 : 0,
      scrape_duration_seconds: duration,
      scrape_samples_scraped: scraped,
      scrape_samples_post_metric_relabeling: current.length,
      scrape_series_added: added,
    };
    for (let i = 0; i < reportNames.length; i++) {
      const s = this.report[i];
      s.ref = report.appendByRef(s.ref, s.labels, t, values[reportNames[i]]);
    }
    const committed = report.commit() as {rejectedTotal?: number; errors?: Array<{message: string}>} | undefined;
    const rejected = committed?.rejectedTotal ?? 0;
    this.health.rejected = rejected;
    if (rejected > 0 && this.lastRejected === 0) {
      this.opts.logger?.warn('the store rejected samples of a scrape', {job: this.target.job, instance: this.target.instance, rejected, first: committed?.errors?.[0]?.message ?? ''});
    }
    this.lastRejected = rejected;
    this.previous = current;
    this.previousIter = error === null ? iter : -1;
    if (error === null) this.cache.keepOnly(iter, current.length);
    else this.cache.clear();
    this.health.health = error === null ? 'up' : 'down';
    this.health.lastScrape = t;
    this.health.lastDurationMs = duration * 1000;
    this.health.lastError = error;
    this.health.samples = current.length;
    // One log line per change of failure, not one per scrape.
    if (error !== null && error !== this.lastFailure) this.opts.logger?.warn('scrape failed', {job: this.target.job, instance: this.target.instance, error});
    if (error === null && this.lastFailure) this.opts.logger?.info('scrape recovered', {job: this.target.job, instance: this.target.instance});
    this.lastFailure = error ?? '';
  }
}

/**
 * Parsing (and the series creation of a new target's first scrape) runs in slices of about
 * this long, so a 60k-series body does not hold the event loop (yamux pings, the dashboard).
 */
const parseSliceMs = 10;

/** Lets other work run; rejects with the reason once the loop was stopped. */
function yieldUnlessStopped(signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) =>
    setImmediate(() => {
      if (signal.aborted) reject(signal.reason instanceof Error ? signal.reason : new Error('scrape aborted'));
      else resolve();
    }),
  );
}

export function validateScrapeConfig(c: ScrapeConfig): void {
  if (!(c.intervalMs > 0) || !(c.timeoutMs > 0)) throw new Error('scrape interval and timeout must be positive');
  if (c.timeoutMs > c.intervalMs) throw new Error('scrape timeout must not exceed the interval');
}

const reportNames = ['up', 'scrape_duration_seconds', 'scrape_samples_scraped', 'scrape_samples_post_metric_relabeling', 'scrape_series_added'] as const;

function describe(err: unknown): string {
  if (err instanceof ScrapeError) return err.message;
  if (err instanceof Error) {
    // fetch reports "fetch failed" and puts the reason (ECONNREFUSED, ENOTFOUND, …) in cause.
    const cause = (err as Error & {cause?: {code?: string; message?: string; errors?: Array<{message?: string}>}}).cause;
    if (!cause) return err.message;
    const detail = cause.message || cause.errors?.map((e) => e.message).join('; ') || cause.code || '';
    return detail ? `${err.message}: ${detail}` : err.message;
  }
  return String(err);
}
