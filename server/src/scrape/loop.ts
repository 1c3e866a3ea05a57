// One scrape loop per target, as Prometheus runs them (scrape/scrape.go): fetch,
// parse, append with target labels, staleness markers for series that vanished,
// and the synthetic report series. A failed scrape appends nothing but the report
// (up=0) and the staleness markers of the previous scrape's series.

import type {Label, Labels} from '../tsdb/labels/mod.ts';
import {parseEach, readBody, ScrapeError, scrapeRequestHeaders} from './parser/mod.ts';

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
  append(series: Labels, t: number, v: number, stale?: boolean): unknown;
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

function labelKey(ls: Labels): string {
  let k = '';
  for (const l of ls) k += `${l.name}\xff${l.value}\xfe`;
  return k;
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
  /** Series appended by the last scrape, for staleness. */
  private previous = new Map<string, Labels>();
  private readonly targetLabels: Label[];
  private readonly now: () => number;
  private readonly fetchFn: typeof fetch;
  private lastFailure = '';
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
      for (const ls of this.previous.values()) app.append(ls, t, NaN, true);
      for (const name of reportNames) app.append(this.reportLabels(name), t, NaN, true);
      app.commit();
    }
    this.previous.clear();
  }

  /** One scrape now (tests, and the scheduler). */
  scrapeOnce(): Promise<void> {
    const run = this.scrape().finally(() => {
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
    const cfg = this.config;
    const t = this.now();
    const startedAt = performance.now();
    const abort = new AbortController();
    this.abort = abort;
    const timeout = setTimeout(() => abort.abort(new ScrapeError(`context deadline exceeded (${cfg.timeoutMs} ms)`)), cfg.timeoutMs);
    const app = this.store.appender();
    const seen = new Map<string, Labels>();
    let scraped = 0;
    let added = 0;
    let error: string | null = null;
    try {
      const response = await this.fetchFn(this.target.url, {
        headers: scrapeRequestHeaders(cfg.timeoutMs / 1000),
        signal: abort.signal,
        redirect: 'follow',
      });
      const {body, contentType} = await readBody(response, cfg.bodySizeLimit);
      const summary = parseEach(
        body,
        contentType,
        {
          sampleLimit: cfg.sampleLimit,
          labelLimit: cfg.labelLimit,
          labelNameLengthLimit: cfg.labelNameLengthLimit,
          labelValueLengthLimit: cfg.labelValueLengthLimit,
          target: {labels: this.targetLabels, honorLabels: cfg.honorLabels, honorTimestamps: cfg.honorTimestamps, scrapeTime: t},
        },
        (s) => {
          const key = labelKey(s.labels);
          if (seen.has(key)) return; // Prometheus drops duplicates within one scrape
          seen.set(key, s.labels);
          if (!this.previous.has(key)) added++;
          app.append(s.labels, s.timestamp ?? t, s.value);
        },
      );
      scraped = summary.total;
    } catch (err) {
      app.rollback();
      // Stopped mid-scrape: this scrape never happened; stop() writes the staleness markers.
      if (!this.running) return;
      seen.clear();
      added = 0;
      error = abort.signal.aborted && abort.signal.reason instanceof Error ? abort.signal.reason.message : describe(err);
    } finally {
      clearTimeout(timeout);
    }
    const report = error === null ? app : this.store.appender();
    // Series of the previous scrape missing from this one (all of them after a failure) go stale.
    for (const [key, ls] of this.previous) if (!seen.has(key)) report.append(ls, t, NaN, true);
    const duration = (performance.now() - startedAt) / 1000;
    const values: Record<(typeof reportNames)[number], number> = {
      up: error === null ? 1 : 0,
      scrape_duration_seconds: duration,
      scrape_samples_scraped: scraped,
      scrape_samples_post_metric_relabeling: seen.size,
      scrape_series_added: added,
    };
    for (const name of reportNames) report.append(this.reportLabels(name), t, values[name]);
    const committed = report.commit() as {rejectedTotal?: number; errors?: Array<{message: string}>} | undefined;
    const rejected = committed?.rejectedTotal ?? 0;
    this.health.rejected = rejected;
    if (rejected > 0 && this.lastRejected === 0) {
      this.opts.logger?.warn('the store rejected samples of a scrape', {job: this.target.job, instance: this.target.instance, rejected, first: committed?.errors?.[0]?.message ?? ''});
    }
    this.lastRejected = rejected;
    this.previous = seen;
    this.health.health = error === null ? 'up' : 'down';
    this.health.lastScrape = t;
    this.health.lastDurationMs = duration * 1000;
    this.health.lastError = error;
    this.health.samples = seen.size;
    // One log line per change of failure, not one per scrape.
    if (error !== null && error !== this.lastFailure) this.opts.logger?.warn('scrape failed', {job: this.target.job, instance: this.target.instance, error});
    if (error === null && this.lastFailure) this.opts.logger?.info('scrape recovered', {job: this.target.job, instance: this.target.instance});
    this.lastFailure = error ?? '';
  }

  private reportLabels(name: string): Label[] {
    return [{name: '__name__', value: name}, ...this.targetLabels];
  }
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
