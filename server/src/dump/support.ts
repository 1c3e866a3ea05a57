// The Support Packet's metrics (GenerateSupportData, spec §6 and §12 item 20): a fresh
// dump of the last SupportPacketMetricsDays days, built on the node answering, within a
// time and a size budget; when that fails, the most recent finished dump job with a
// WARNING.txt saying so and why; with nothing at all, status.json and a WARNING.txt.
//
// Budgets: Mattermost calls the hook synchronously while the admin's download request
// waits, and the files travel as one gob []byte each (the whole packet is then zipped in
// the server's memory). So the fresh dump gets SUPPORT_BUILD_BUDGET_MS, the whole hook
// SUPPORT_TOTAL_BUDGET_MS, and any dump shipped is at most SUPPORT_MAX_BYTES.
//
// The fresh dump is written to a temporary local directory (read from the file store,
// never written there), read into memory and the directory removed: nothing is left in
// the file store, and dump retention never sees it.

import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import {type FileBackend, LocalBackend} from '../filestore/mod.ts';
import {type SyncLogger, errorMessage} from '../sync/remote.ts';
import {type BuildDumpOptions, type DumpMetadata, type DumpPrepare, type DumpResult, DumpNoDataError, DumpTooLargeError, buildDump, dumpFileName} from './builder.ts';
import type {DumpJob} from './jobs.ts';

/** Folder of our files inside the Support Packet. */
export const SUPPORT_DIR = 'mattermost-plugin-metrics';
export const SUPPORT_BUILD_BUDGET_MS = 45_000;
export const SUPPORT_TOTAL_BUDGET_MS = 60_000;
export const SUPPORT_MAX_BYTES = 200 * 1024 * 1024;
const DAY_MS = 86_400_000;

export interface SupportFileOut {
  filename: string;
  body: Buffer;
}

export interface SupportPacketOptions {
  /** The file store with the synced blocks; null when it is not usable (the reason in `noBackendReason`). */
  backend: FileBackend | null;
  noBackendReason?: string;
  /** SupportPacketMetricsDays. */
  days: number;
  metadata: () => Promise<DumpMetadata>;
  /**
   * Flush the local store and sync, so the dump ends now (as for dump jobs); on a standby
   * node also ask the scraping node to flush (its wait counts against the build budget).
   * Its warnings go into WARNING.txt beside the fresh dump.
   */
  prepare?: DumpPrepare;
  /** The dump jobs, for the fallback (null: none available). */
  jobs?: (() => Promise<DumpJob[]>) | null;
  /** Extra content of status.json (plugin status, targets, warnings). */
  status: () => Record<string, unknown> | Promise<Record<string, unknown>>;
  buildBudgetMs?: number;
  totalBudgetMs?: number;
  maxBytes?: number;
  /** Parent of the temporary directory (default os.tmpdir()). */
  tmpDir?: string;
  now?: () => number;
  logger?: SyncLogger;
  /** Injectable for tests. */
  build?: (o: BuildDumpOptions) => Promise<DumpResult>;
}

export type SupportOutcome = 'fresh' | 'fallback' | 'none';

export interface SupportPacketResult {
  files: SupportFileOut[];
  outcome: SupportOutcome;
  /** Why there is no fresh dump (fallback/none). */
  reason?: string;
  /** What the fresh dump may lack (also in WARNING.txt), e.g. the scraping node's newest samples. */
  warnings?: string[];
  /** The dump's name inside the packet. */
  dumpFile?: string;
  ms: number;
}

const iso = (ms: number): string => new Date(ms).toISOString();
const mib = (b: number): string => `${(b / 1024 / 1024).toFixed(1)} MiB`;
const plural = (n: number, w: string): string => `${n} ${w}${n === 1 ? '' : 's'}`;

class BudgetExceeded extends Error {
  override name = 'BudgetExceeded';
}

/** Resolves with `p`, or rejects with BudgetExceeded after `ms` (calling `onTimeout`). */
function within<T>(p: Promise<T>, ms: number, what: string, onTimeout: () => void): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      onTimeout();
      reject(new BudgetExceeded(`${what} took longer than the budget of ${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`));
    }, ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

export async function supportPacketFiles(o: SupportPacketOptions): Promise<SupportPacketResult> {
  const started = Date.now();
  const now = (o.now ?? Date.now)();
  const maxBytes = o.maxBytes ?? SUPPORT_MAX_BYTES;
  const totalBudget = o.totalBudgetMs ?? SUPPORT_TOTAL_BUDGET_MS;
  const buildBudget = Math.min(o.buildBudgetMs ?? SUPPORT_BUILD_BUDGET_MS, totalBudget);
  const days = Math.max(1, Math.floor(o.days));
  const from = now - days * DAY_MS;
  const to = now;
  const log = o.logger;

  const finish = async (r: Omit<SupportPacketResult, 'ms' | 'files'>, files: SupportFileOut[]): Promise<SupportPacketResult> => {
    const ms = Date.now() - started;
    let extra: Record<string, unknown> = {};
    try {
      extra = await o.status();
    } catch (e) {
      extra = {statusError: errorMessage(e)};
    }
    const status = {
      ...extra,
      generatedAt: iso(Date.now()),
      supportPacket: {
        outcome: r.outcome,
        dumpFile: r.dumpFile ?? null,
        reason: r.reason ?? null,
        warnings: r.warnings ?? [],
        requestedRange: {from: iso(from), to: iso(to), days},
        budgets: {buildMs: buildBudget, totalMs: totalBudget, maxBytes},
        ms,
      },
    };
    const out = [{filename: `${SUPPORT_DIR}/status.json`, body: Buffer.from(`${JSON.stringify(status, null, 2)}\n`)}, ...files];
    log?.info('support packet: metrics collected', {outcome: r.outcome, reason: r.reason ?? '', ms, file: r.dumpFile ?? ''});
    return {...r, files: out, ms};
  };

  // 1. A fresh dump of the last `days` days.
  let reason: string;
  if (!o.backend) {
    reason = `the file store is not usable${o.noBackendReason ? `: ${o.noBackendReason}` : ''}`;
  } else {
    try {
      const fresh = await freshDump(o, o.backend, from, to, buildBudget, maxBytes);
      const name = `${SUPPORT_DIR}/${fresh.fileName}`;
      const files: SupportFileOut[] = [{filename: name, body: fresh.body}];
      if (fresh.warnings.length > 0) {
        const warning = [
          `The metrics dump ${name} (${iso(from)} .. ${iso(to)}) may be incomplete:`,
          '',
          ...fresh.warnings.map((w) => `  - ${w}`),
          '',
          'A dump job created in the System Console (Plugins > Metrics) a few minutes later includes them',
          'once the scraping node has written them to a block.',
          '',
        ].join('\n');
        files.push({filename: `${SUPPORT_DIR}/WARNING.txt`, body: Buffer.from(warning)});
      }
      return await finish({outcome: 'fresh', dumpFile: name, ...(fresh.warnings.length > 0 ? {warnings: fresh.warnings} : {})}, files);
    } catch (e) {
      if (e instanceof DumpTooLargeError) reason = `a dump of the last ${plural(days, 'day')} is larger than the Support Packet limit of ${mib(maxBytes)}`;
      else if (e instanceof BudgetExceeded) reason = `building a dump of the last ${plural(days, 'day')} ${e.message.replace(/^building the fresh dump /, '')}`;
      else if (e instanceof DumpNoDataError) reason = `there is no synced data for the last ${plural(days, 'day')} (${e.message})`;
      else reason = `building a dump of the last ${plural(days, 'day')} failed: ${errorMessage(e)}`;
      log?.warn('support packet: no fresh metrics dump', {reason});
    }
  }

  // 2. The most recent finished dump job.
  let fallbackProblem = '';
  if (o.backend && o.jobs) {
    try {
      const candidates = (await o.jobs())
        .filter((j) => j.status === 'success' && !j.expired && j.dump_location)
        .sort((a, b) => (b.finish_at ?? b.create_at) - (a.finish_at ?? a.create_at));
      for (const job of candidates) {
        const left = totalBudget - (Date.now() - started);
        if (left < 1000) {
          fallbackProblem = 'no time was left in the budget to read one';
          break;
        }
        const info = await o.backend.stat(job.dump_location);
        if (!info) continue;
        if (info.size > maxBytes) {
          fallbackProblem = `the newest ones are larger than ${mib(maxBytes)}`;
          continue;
        }
        const body = await readBounded(o.backend, job.dump_location, left);
        const name = `${SUPPORT_DIR}/${job.file_name || path.posix.basename(job.dump_location)}`;
        const warning = [
          `This Support Packet does not contain a fresh dump of the last ${plural(days, 'day')} of metrics`,
          `(${iso(from)} .. ${iso(to)}) because ${reason}.`,
          '',
          'Instead it contains the most recent finished dump job:',
          `  file:      ${name}`,
          `  job:       ${job.id}${job.created_by ? ` (created by ${job.created_by})` : ''}`,
          `  created:   ${iso(job.create_at)}${job.finish_at ? `, finished ${iso(job.finish_at)}` : ''}`,
          `  covers:    ${iso(job.actual_min_t ?? job.min_t)} .. ${iso(job.actual_max_t ?? job.max_t)}`,
          `  size:      ${body.length} bytes${job.sha256 ? `, sha256 ${job.sha256}` : ''}`,
          '',
          'It may be old and may not cover the time of the problem. A dump of any range can be',
          'created and downloaded in the System Console (Plugins > Metrics), or through',
          'POST /plugins/com.mattermost.mattermost-plugin-metrics/jobs/create.',
          '',
        ].join('\n');
        return await finish({outcome: 'fallback', reason, dumpFile: name}, [
          {filename: name, body},
          {filename: `${SUPPORT_DIR}/WARNING.txt`, body: Buffer.from(warning)},
        ]);
      }
      if (!fallbackProblem) fallbackProblem = candidates.length === 0 ? 'there is no finished dump job' : 'the files of the finished dump jobs are gone';
    } catch (e) {
      fallbackProblem = e instanceof BudgetExceeded ? e.message : `the dump jobs could not be read: ${errorMessage(e)}`;
    }
  } else {
    fallbackProblem = 'dump jobs are not available on this node';
  }

  // 3. Nothing.
  const warning = [
    'This Support Packet contains no metrics dump.',
    '',
    `A fresh dump of the last ${plural(days, 'day')} (${iso(from)} .. ${iso(to)}) could not be built: ${reason}.`,
    `No earlier dump could be included instead: ${fallbackProblem}.`,
    '',
    'status.json beside this file shows the plugin status (targets, warnings). A dump of any',
    'range can be created and downloaded in the System Console (Plugins > Metrics).',
    '',
  ].join('\n');
  return finish({outcome: 'none', reason: `${reason}; ${fallbackProblem}`}, [{filename: `${SUPPORT_DIR}/WARNING.txt`, body: Buffer.from(warning)}]);
}

/** Builds into a temporary local dir, reads it back, removes the dir once the build has settled. */
async function freshDump(
  o: SupportPacketOptions,
  backend: FileBackend,
  from: number,
  to: number,
  budgetMs: number,
  maxBytes: number,
): Promise<{fileName: string; body: Buffer; warnings: string[]}> {
  const tmp = await fs.mkdtemp(path.join(o.tmpDir ?? os.tmpdir(), 'mm-metrics-support-'));
  const abort = new AbortController();
  const building = (async () => {
    const metadata = await o.metadata();
    const fileName = dumpFileName(metadata.siteURL || metadata.siteName, from, to);
    const output = new LocalBackend(tmp);
    const outPath = `support/${fileName}`;
    const built = await (o.build ?? buildDump)({
      backend,
      output,
      from,
      to,
      outPath,
      maxBytes,
      metadata: {...metadata, extras: {...metadata.extras, reason: 'support_packet'}},
      signal: abort.signal,
      prepare: o.prepare,
      logger: o.logger,
      now: o.now,
    });
    return {fileName, body: await fs.readFile(path.join(tmp, outPath)), warnings: built.warnings ?? []};
  })();
  // The temporary dir goes when the build has really stopped (an aborted one may still be writing).
  void building.catch(() => {}).finally(() => fs.rm(tmp, {recursive: true, force: true}).catch(() => {}));
  return within(building, budgetMs, 'building the fresh dump', () => abort.abort());
}

/** Reads a file-store object into memory within `ms`. */
async function readBounded(backend: FileBackend, p: string, ms: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  let stream: NodeJS.ReadableStream | undefined;
  const reading = (async () => {
    stream = await backend.read(p);
    for await (const c of stream as AsyncIterable<Buffer>) parts.push(c);
    return Buffer.concat(parts);
  })();
  return within(reading, ms, 'reading the most recent dump', () => (stream as {destroy?: () => void} | undefined)?.destroy?.());
}
