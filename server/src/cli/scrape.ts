// mm-metrics scrape <url>… --data-dir <dir>: the plugin's scrape loop and store,
// outside Mattermost. Stops after --duration or on Ctrl-C and flushes the head into
// blocks, leaving a data dir Prometheus (and a dump) can use.

import {ScrapeManager, type ScrapeTarget} from '../scrape/mod.ts';
import {DB} from '../tsdb/db.ts';
import type {CliIO} from './io.ts';

export interface ScrapeOptions {
  urls: string[];
  dataDir: string;
  intervalMs: number;
  timeoutMs: number;
  /** Undefined: until the signal fires. */
  durationMs?: number;
  job: string;
  signal?: AbortSignal;
}

export function targetFor(url: string, job: string): ScrapeTarget {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new Error(`not a URL: ${url}`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error(`not an http(s) URL: ${url}`);
  const port = u.port || (u.protocol === 'https:' ? '443' : '80');
  return {job, instance: `${u.hostname}:${port}`, url: u.href};
}

export async function scrapeCommand(opts: ScrapeOptions, io: CliIO): Promise<{blocks: number; down: string[]}> {
  const targets = opts.urls.map((u) => targetFor(u, opts.job));
  const db = DB.open({dir: opts.dataDir, logger: {info: () => {}, warn: (m, f) => io.err(`warning: ${m} ${JSON.stringify(f ?? {})}`), error: (m, f) => io.err(`error: ${m} ${JSON.stringify(f ?? {})}`)}});
  const blocksBefore = db.blocks().length;
  const manager = new ScrapeManager(
    db,
    {
      intervalMs: opts.intervalMs,
      timeoutMs: opts.timeoutMs,
      honorLabels: false,
      honorTimestamps: true,
      bodySizeLimit: 1 << 30,
      sampleLimit: 0,
      labelLimit: 0,
      labelNameLengthLimit: 0,
      labelValueLengthLimit: 0,
    },
    {logger: {info: (m, f) => io.err(`${m} ${JSON.stringify(f ?? {})}`), warn: (m, f) => io.err(`${m} ${JSON.stringify(f ?? {})}`)}},
  );
  const upkeep = setInterval(() => void db.maintain().catch((e: Error) => io.err(`upkeep failed: ${e.message}`)), 60_000);
  try {
    await manager.sync(targets);
    io.err(`scraping ${targets.length} target(s) every ${opts.intervalMs / 1000}s into ${opts.dataDir}${opts.durationMs ? ` for ${opts.durationMs / 1000}s` : ' until interrupted'}`);
    await new Promise<void>((resolve) => {
      const timer = opts.durationMs ? setTimeout(resolve, opts.durationMs) : undefined;
      opts.signal?.addEventListener('abort', () => {
        clearTimeout(timer);
        resolve();
      });
    });
    const health = manager.health();
    await manager.stop();
    await db.flush();
    const down = health.filter((h) => h.health !== 'up').map((h) => `${h.url}: ${h.lastError ?? 'never scraped'}`);
    return {blocks: db.blocks().length - blocksBefore, down};
  } finally {
    clearInterval(upkeep);
    await db.close();
  }
}
