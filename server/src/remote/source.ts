// What a query reads: this node's head and local blocks, plus the file-store blocks of
// the queried time range that are not (or no longer) local. Every HA node can answer:
// a node that never scraped has an empty head but the same file store.
//
// Duplicates are avoided before anything is downloaded: a remote block with the ULID of
// a local one is the same block, and a block whose compaction sources are all contained
// in another available block (a compaction's parents next to their child) adds nothing.
// What still overlaps is merged sample by sample (mergeSources deduplicates).

import type {BlockMeta} from '../tsdb/block/mod.ts';
import {blockSource, mergeSources} from '../tsdb/querier/mod.ts';
import type {Matcher, SeriesData, SeriesSource} from '../tsdb/storage.ts';
import {type RemoteBlock, type RemoteBlockCache, RemoteCacheTooSmallError} from './cache.ts';

/** Where a node's data lives; either part may be missing. */
export interface StoreSources {
  /** Head + local blocks and the metas of those blocks; null when no store is open. */
  local(): {source: SeriesSource; blocks: readonly BlockMeta[]} | null;
  /** Null without a usable file store. */
  remote: RemoteBlockCache | null;
}

export interface QuerySource {
  source: SeriesSource;
  /** Remote blocks read (ULIDs), for logs and tests. */
  remoteBlocks: string[];
  /** Things the answer may be missing (file store unreachable …); the Prometheus API returns them as warnings. */
  warnings: string[];
  release(): void;
}

/** Thrown when neither the local store nor the file store is available. */
export class NoDataSourceError extends Error {
  override name = 'NoDataSourceError';
}

const sourcesOf = (m: BlockMeta): string[] => (m.compaction.sources?.length ? m.compaction.sources : [m.ulid]);

/**
 * Remote blocks worth reading for [mint, maxt] (inclusive ms): overlapping, not local,
 * and not contained in another available block.
 */
export function selectRemoteBlocks(remote: readonly RemoteBlock[], local: readonly BlockMeta[], mint: number, maxt: number): RemoteBlock[] {
  const localIds = new Set(local.map((m) => m.ulid.toUpperCase()));
  const candidates = remote.filter((b) => b.meta.minTime <= maxt && b.meta.maxTime > mint && !localIds.has(b.ulid.toUpperCase()));
  const available: Array<{ulid: string; local: boolean; sources: Set<string>}> = [
    ...local.map((m) => ({ulid: m.ulid.toUpperCase(), local: true, sources: new Set(sourcesOf(m).map((s) => s.toUpperCase()))})),
    ...candidates.map((b) => ({ulid: b.ulid.toUpperCase(), local: false, sources: new Set(sourcesOf(b.meta).map((s) => s.toUpperCase()))})),
  ];
  // x is redundant if another block holds all its sources: more of them, or the same set
  // and that one is local or (both remote) sorts later — so exactly one of equals stays.
  const redundant = (x: (typeof available)[number]): boolean =>
    available.some(
      (y) =>
        y !== x &&
        y.sources.size >= x.sources.size &&
        [...x.sources].every((s) => y.sources.has(s)) &&
        (y.sources.size > x.sources.size || y.local || (!x.local && y.ulid > x.ulid)),
    );
  return candidates.filter((b) => !redundant(available.find((a) => !a.local && a.ulid === b.ulid.toUpperCase())!));
}

/**
 * A source over everything that holds samples in [mint, maxt]. Release it when the
 * query is done (remote copies stay open and pinned until then).
 */
export async function openQuerySource(stores: StoreSources, mint: number, maxt: number, signal?: AbortSignal, opts: {waitMs?: number} = {}): Promise<QuerySource> {
  const local = stores.local();
  const warnings: string[] = [];
  const parts: SeriesSource[] = local ? [local.source] : [];
  let remoteBlocks: string[] = [];
  let release = (): void => {};
  if (stores.remote) {
    let listed: RemoteBlock[] | null = null;
    try {
      listed = await waitAtMost(stores.remote.list(), opts.waitMs, 'listing the file store');
    } catch (err) {
      warnings.push(`file-store blocks are not included (listing failed: ${(err as Error).message})`);
    }
    if (listed) {
      const wanted = selectRemoteBlocks(listed, local?.blocks ?? [], mint, maxt);
      if (wanted.length > 0) {
        try {
          if (signal?.aborted) throw new Error('the request was canceled');
          const lease = await waitAtMost(stores.remote.acquire(wanted), opts.waitMs, 'copying them from the file store (they will be ready for a later query)', (l) => l.release());
          parts.push(...lease.blocks.map(blockSource));
          remoteBlocks = wanted.map((b) => b.ulid);
          release = lease.release;
        } catch (err) {
          if (err instanceof RemoteCacheTooSmallError) throw err;
          warnings.push(`file-store blocks are not included (${(err as Error).message})`);
        }
      }
    }
  }
  if (!local && !stores.remote) throw new NoDataSourceError('no data available on this node: the store is not open and there is no file store');
  return {source: parts.length === 1 ? parts[0] : mergeSources(parts), remoteBlocks, warnings, release};
}

/**
 * The result, or a rejection after `waitMs`: the work goes on in the background (copies
 * serve the next query) and a result that arrives late is discarded (a lease released).
 */
async function waitAtMost<T>(acquiring: Promise<T>, waitMs: number | undefined, what: string, discard?: (late: T) => void): Promise<T> {
  if (waitMs === undefined) return acquiring;
  let timer: NodeJS.Timeout | undefined;
  let late = false;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      late = true;
      reject(new Error(`${what} takes longer than the query timeout (${waitMs} ms)`));
    }, waitMs);
  });
  try {
    return await Promise.race([acquiring, timeout]);
  } finally {
    clearTimeout(timer);
    if (late) acquiring.then((x) => discard?.(x), () => {});
  }
}

/**
 * Wraps a source and remembers the widest window it was asked for, so a caller that had
 * to guess the window beforehand can tell whether the guess fell short.
 */
export class WindowRecorder implements SeriesSource {
  minAsked = Infinity;
  maxAsked = -Infinity;

  constructor(private readonly inner: SeriesSource) {}

  get minTime(): number {
    return this.inner.minTime;
  }

  get maxTime(): number {
    return this.inner.maxTime;
  }

  select(matchers: readonly Matcher[], mint: number, maxt: number): Iterable<SeriesData> {
    if (mint < this.minAsked) this.minAsked = mint;
    if (maxt > this.maxAsked) this.maxAsked = maxt;
    return this.inner.select(matchers, mint, maxt);
  }

  labelNames(matchers?: readonly Matcher[]): string[] {
    return this.inner.labelNames(matchers);
  }

  labelValues(name: string, matchers?: readonly Matcher[]): string[] {
    return this.inner.labelValues(name, matchers);
  }
}

/**
 * Runs `evaluate` over the stores for a guessed window; if it read outside the guess and
 * the file store has blocks there that were left out, widens the window and runs it
 * again (at most twice more), so a misjudged range never silently drops data.
 */
export async function withQuerySource<T>(
  stores: StoreSources,
  guess: {mint: number; maxt: number},
  evaluate: (source: SeriesSource) => Promise<T>,
  signal?: AbortSignal,
  opts: {waitMs?: number} = {},
): Promise<{value: T; warnings: string[]; remoteBlocks: string[]}> {
  let {mint, maxt} = guess;
  for (let attempt = 0; ; attempt++) {
    const qs = await openQuerySource(stores, mint, maxt, signal, opts);
    const recorder = new WindowRecorder(qs.source);
    try {
      const value = await evaluate(recorder);
      const lo = Math.min(mint, recorder.minAsked);
      const hi = Math.max(maxt, recorder.maxAsked);
      if (attempt < 2 && (lo < mint || hi > maxt) && stores.remote) {
        const listed = await stores.remote.list().catch(() => []);
        const had = new Set(qs.remoteBlocks);
        const more = selectRemoteBlocks(listed, stores.local()?.blocks ?? [], lo, hi).some((b) => !had.has(b.ulid));
        if (more) {
          mint = lo;
          maxt = hi;
          continue;
        }
      }
      return {value, warnings: qs.warnings, remoteBlocks: qs.remoteBlocks};
    } finally {
      qs.release();
    }
  }
}

const DURATION_UNITS: Record<string, number> = {ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000, y: 31_536_000_000};

/** Sum of a PromQL duration's parts ("1h30m" → 5_400_000), or NaN. */
function durationMs(s: string): number {
  let total = 0;
  let consumed = 0;
  const re = /(\d+(?:\.\d+)?)(ms|[smhdwy])/g;
  for (let m = re.exec(s); m; m = re.exec(s)) {
    if (m.index !== consumed) return NaN;
    total += Number(m[1]) * DURATION_UNITS[m[2]];
    consumed = m.index + m[0].length;
  }
  return consumed === s.length && consumed > 0 ? total : /^\d+(\.\d+)?$/.test(s) ? Number(s) * 1000 : NaN;
}

/**
 * A generous guess of the sample window a query over [startMs, endMs] reads: every range,
 * subquery range and offset in the text added up (covers any nesting), plus the lookback,
 * and any `@` timestamps. The caller checks the guess with a WindowRecorder.
 */
export function estimateWindow(query: string, startMs: number, endMs: number, lookbackMs: number): {mint: number; maxt: number} {
  let back = lookbackMs;
  let forward = 0;
  let lo = startMs;
  let hi = endMs;
  for (const m of query.matchAll(/\[\s*([0-9a-z.]+)\s*(?::\s*([0-9a-z.]*)\s*)?\]/gi)) {
    const r = durationMs(m[1]);
    if (Number.isFinite(r)) back += r;
    const step = m[2] ? durationMs(m[2]) : NaN;
    if (Number.isFinite(step)) back += step;
  }
  for (const m of query.matchAll(/\boffset\s+(-?)\s*([0-9a-z.]+)/gi)) {
    const d = durationMs(m[2]);
    if (!Number.isFinite(d)) continue;
    if (m[1] === '-') forward += d;
    else back += d;
  }
  for (const m of query.matchAll(/@\s*([+-]?\d+(?:\.\d+)?(?:e[+-]?\d+)?)/gi)) {
    const t = Number(m[1]) * 1000;
    if (!Number.isFinite(t)) continue;
    lo = Math.min(lo, t);
    hi = Math.max(hi, t);
  }
  return {mint: lo - back, maxt: hi + forward};
}
