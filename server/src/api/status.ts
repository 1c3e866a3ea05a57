// GET /status and GET /tsdb/stats: what an admin needs to see that collection works.

import type {TargetHealth} from '../scrape/mod.ts';
import type {RemoteUsage, SyncStatus} from '../sync/mod.ts';
import type {DBStats} from '../tsdb/db.ts';

export interface StatusSource {
  node: string;
  isLeader(): boolean;
  /** The lease holder as stored (null: nobody leads). */
  leader(): Promise<{node: string; since: number; ageMs: number | null} | null>;
  targets(): TargetHealth[];
  store(): (DBStats & {dataDir: string}) | null;
  warnings(): {settings: string[]; metrics: string | null; fileStore: string | null};
  /** Null when nothing syncs (no usable file store). */
  sync(): {fileStore: string; status: SyncStatus; usage: () => Promise<RemoteUsage>} | null;
}

const remoteUsageTimeoutMs = 10_000;

async function remote(s: StatusSource): Promise<Record<string, unknown> | null> {
  const sync = s.sync();
  if (!sync) return null;
  let usage: RemoteUsage | {error: string};
  try {
    usage = await Promise.race([
      sync.usage(),
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error('the file store did not answer in time')), remoteUsageTimeoutMs).unref()),
    ]);
  } catch (err) {
    usage = {error: (err as Error).message};
  }
  return {fileStore: sync.fileStore, lastSync: sync.status.lastSuccessAt, sync: sync.status, usage};
}

export async function statusBody(s: StatusSource): Promise<Record<string, unknown>> {
  const store = s.store();
  const targets = s.targets();
  const lastScrape = targets.reduce<number | null>((m, t) => (t.lastScrape !== null && (m === null || t.lastScrape > m) ? t.lastScrape : m), null);
  return {
    node: s.node,
    isLeader: s.isLeader(),
    leader: await s.leader(),
    targets,
    lastScrape,
    store: store && {
      dataDir: store.dataDir,
      headSeries: store.head.series,
      headSamples: store.head.samples,
      headMinTime: Number.isFinite(store.head.minTime) ? store.head.minTime : null,
      headMaxTime: Number.isFinite(store.head.maxTime) ? store.head.maxTime : null,
      rejectedSamples: store.head.rejected,
      blocks: store.blocks.length,
      blockBytes: store.blockBytes,
      walBytes: store.walBytes,
      lastCut: store.lastCut,
      lastCompaction: store.lastCompaction,
      lastRetention: store.lastRetention,
      unreadableBlocks: store.unreadable,
    },
    remote: await remote(s),
    warnings: s.warnings(),
  };
}

/** Upstream's shape: {min_t, max_t, num_samples, num_series}; here over local blocks and the head. */
export function tsdbStatsBody(store: (DBStats & {dataDir: string}) | null): Record<string, number> {
  if (!store) return {min_t: 0, max_t: 0, num_samples: 0, num_series: 0};
  let minT = Infinity;
  let maxT = -Infinity;
  let samples = store.head.samples;
  let series = store.head.series;
  for (const b of store.blocks) {
    minT = Math.min(minT, b.minTime);
    maxT = Math.max(maxT, b.maxTime);
    samples += b.numSamples;
    series = Math.max(series, b.numSeries);
  }
  if (store.head.samples > 0) {
    minT = Math.min(minT, store.head.minTime);
    maxT = Math.max(maxT, store.head.maxTime);
  }
  return {min_t: Number.isFinite(minT) ? minT : 0, max_t: Number.isFinite(maxT) ? maxT : 0, num_samples: samples, num_series: series};
}
