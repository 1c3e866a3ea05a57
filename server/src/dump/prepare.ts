// What runs before a dump is built (DumpPrepare): this node's flush and sync, and — on a
// node that does not scrape — a flush request to the scraping node when the range ends
// after the newest block in the file store (only that node's head holds those samples).
// The answer is waited for at most `waitMs`; without one the build goes on and the dump
// carries a warning saying the newest samples may be missing.

import type {ClusterFlush} from '../cluster/mod.ts';
import {type FileBackend, remoteDataDir} from '../filestore/backend.ts';
import {RemoteMetaCache, RemoteMetaError, listGrouped} from '../sync/remote.ts';
import {isULID} from '../tsdb/block/mod.ts';
import type {DumpPrepare} from './builder.ts';

/** How long a dump job waits for the scraping node's flush. */
export const JOB_FLUSH_WAIT_MS = 30_000;
/** The Support Packet's wait (inside its 45 s build budget, leaving time to build). */
export const SUPPORT_FLUSH_WAIT_MS = 20_000;

/** End (exclusive, ms) of the newest complete block in the file store, or null when there is none. */
export async function newestRemoteBlockEnd(backend: FileBackend, cache: RemoteMetaCache = new RemoteMetaCache(), dataDir = remoteDataDir): Promise<number | null> {
  const dirs = await listGrouped(backend, dataDir);
  cache.retain(dirs.keys());
  let newest: number | null = null;
  for (const d of dirs.values()) {
    if (!isULID(d.name) || !d.files.has('meta.json')) continue;
    try {
      const meta = await cache.get(backend, dataDir, d);
      if (newest === null || meta.maxTime > newest) newest = meta.maxTime;
    } catch (e) {
      // An invalid or vanished meta.json: the builder skips that block as well.
      if (!(e instanceof RemoteMetaError) && (e as Error).name !== 'FileNotFoundError') throw e;
    }
  }
  return newest;
}

export interface DumpPrepareOptions {
  /** This node's own flush and sync (db.flush(), syncer.syncOnce()). */
  local: () => Promise<void>;
  /** Null without a cluster channel (then only the local flush runs). */
  flusher: ClusterFlush | null;
  backend: FileBackend;
  waitMs: number;
  /** Kept across builds so the newest-block check reads each meta.json once. */
  metaCache?: RemoteMetaCache;
}

export function dumpPrepare(o: DumpPrepareOptions): DumpPrepare {
  const cache = o.metaCache ?? new RemoteMetaCache();
  return async (signal, range) => {
    await o.local();
    if (!o.flusher || o.flusher.scrapesHere || !range) return;
    const newest = await newestRemoteBlockEnd(o.backend, cache);
    if (newest !== null && newest >= range.to) return;
    const outcome = await o.flusher.request(range.to, {timeoutMs: o.waitMs, signal});
    return 'note' in outcome ? {warnings: [outcome.note]} : undefined;
  };
}
