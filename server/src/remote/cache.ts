// The remote block cache: complete blocks of the file store, copied on demand into a
// bounded directory on this node so queries can read days the local retention has
// already dropped, and so nodes that never scraped (HA standbys) can answer at all.
//
//   <dataDir>/mm-remote-cache/
//     <ULID>/                  a verified copy (meta.json is written last: present = complete)
//     <ULID>.tmp-<hex>/        a download in progress (removed at startup)
//
// A remote block is complete when its meta.json is present (the syncer uploads it last).
// Files listed in its mm-manifest.json are checked against their sha256 while they
// stream in; blocks uploaded by the Go plugin have no manifest and are checked by the
// sizes the listing reports. Blocks are immutable, so a copy never goes stale; the
// least recently used unreferenced copies are deleted when the cache is over its size.

import {randomBytes} from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import {pipeline} from 'node:stream/promises';

import {type FileBackend, type FileInfo, remoteDataDir} from '../filestore/backend.ts';
import {HashingStream, MANIFEST_FILENAME, META_FILENAME, decodeManifest, isSafeRelPath, type ManifestFile} from '../sync/manifest.ts';
import {RemoteMetaCache, errorMessage, listGrouped, nopLogger, readAll, type SyncLogger} from '../sync/remote.ts';
import {Limiter, withTimeout} from '../sync/transfer.ts';
import {type Block, type BlockMeta, isULID, openBlock} from '../tsdb/block/mod.ts';

export const REMOTE_CACHE_DIR = 'mm-remote-cache';
export const DEFAULT_REMOTE_CACHE_BYTES = 2 * 1024 ** 3;
export const DEFAULT_LISTING_TTL_MS = 30_000;

/** A complete block in the file store. */
export interface RemoteBlock {
  ulid: string;
  meta: BlockMeta;
  /** Sum of the listed sizes of its files. */
  bytes: number;
  /** Its files, keyed by path relative to the block dir. */
  files: ReadonlyMap<string, FileInfo>;
}

export interface RemoteBlockCacheOptions {
  backend: FileBackend;
  /** The directory the cache owns (conventionally <dataDir>/mm-remote-cache). */
  dir: string;
  /** Disk the copies may use; blocks in use by a query may exceed it until released. */
  maxBytes?: number;
  /** How long a listing of the file store is reused (ms). */
  listingTtlMs?: number;
  /** Per-file download timeout (ms). Default 10 min. */
  fileTimeoutMs?: number;
  remoteDir?: string;
  logger?: SyncLogger;
}

/** The query needs more file-store blocks than the cache may hold. */
export class RemoteCacheTooSmallError extends Error {
  override name = 'RemoteCacheTooSmallError';
}

/** A remote file did not match its manifest entry or listed size. */
export class RemoteBlockCorruptError extends Error {
  override name = 'RemoteBlockCorruptError';
}

/** Open blocks handed to one query; release() lets the cache evict them again. */
export interface BlockLease {
  blocks: Block[];
  release(): void;
}

interface Entry {
  ulid: string;
  dir: string;
  bytes: number;
  lastUsed: number;
  refs: number;
  block: Block | null;
}

const TMP_RE = /^[0-9A-Z]{26}\.tmp-[0-9a-f]+$/i;

export class RemoteBlockCache {
  readonly dir: string;
  readonly maxBytes: number;
  private readonly backend: FileBackend;
  private readonly listingTtlMs: number;
  private readonly fileTimeoutMs: number;
  private readonly remoteDir: string;
  private readonly log: SyncLogger;
  private readonly metaCache = new RemoteMetaCache();
  private readonly entries = new Map<string, Entry>();
  /** Downloads in flight and how many acquirers wait for each (they get a reference each). */
  private readonly downloads = new Map<string, {waiters: number; promise: Promise<Entry>}>();
  private readonly limiter = new Limiter(2);
  private listing: {at: number; result: Promise<RemoteBlock[]>} | null = null;
  private scanned = false;
  private closed = false;
  private clock = 0;
  private downloadedBytes = 0;
  private downloadedBlocks = 0;

  constructor(opts: RemoteBlockCacheOptions) {
    this.backend = opts.backend;
    this.dir = path.resolve(opts.dir);
    this.maxBytes = opts.maxBytes ?? DEFAULT_REMOTE_CACHE_BYTES;
    this.listingTtlMs = opts.listingTtlMs ?? DEFAULT_LISTING_TTL_MS;
    this.fileTimeoutMs = opts.fileTimeoutMs ?? 10 * 60_000;
    this.remoteDir = opts.remoteDir ?? remoteDataDir;
    this.log = opts.logger ?? nopLogger;
    if (!(this.maxBytes > 0)) throw new RangeError(`remote cache size must be positive, got ${this.maxBytes}`);
  }

  /** Complete blocks in the file store, from a listing at most listingTtlMs old. */
  list(): Promise<RemoteBlock[]> {
    const now = Date.now();
    if (this.listing && now - this.listing.at < this.listingTtlMs) return this.listing.result;
    const result = this.listNow();
    this.listing = {at: now, result};
    // A failed listing is not reused: the next query tries again.
    result.catch(() => {
      if (this.listing?.result === result) this.listing = null;
    });
    return result;
  }

  private async listNow(): Promise<RemoteBlock[]> {
    const dirs = await listGrouped(this.backend, this.remoteDir);
    const out: RemoteBlock[] = [];
    for (const d of dirs.values()) {
      if (!isULID(d.name) || !d.files.has(META_FILENAME)) continue;
      try {
        const meta = await this.metaCache.get(this.backend, this.remoteDir, d);
        out.push({ulid: d.name, meta, bytes: d.bytes, files: d.files});
      } catch (err) {
        this.log.warn('remote block cache: skipping a file-store block with an unreadable meta.json', {ulid: d.name, error: errorMessage(err)});
      }
    }
    this.metaCache.retain(dirs.keys());
    return out.sort((a, b) => a.meta.minTime - b.meta.minTime || (a.ulid < b.ulid ? -1 : 1));
  }

  /** Forgets the listing, so the next list() reads the file store again. */
  invalidate(): void {
    this.listing = null;
  }

  /**
   * Copies (if needed) and opens the given blocks. Rejects with RemoteCacheTooSmallError
   * when they could not fit in the cache together, and with the first download failure.
   */
  async acquire(blocks: readonly RemoteBlock[]): Promise<BlockLease> {
    if (this.closed) throw new Error('remote block cache closed');
    this.scan();
    const total = blocks.reduce((n, b) => n + b.bytes, 0);
    if (total > this.maxBytes) {
      throw new RemoteCacheTooSmallError(
        `the time range needs ${mib(total)} of file-store blocks (${blocks.length}), more than the ${mib(this.maxBytes)} remote block cache; query a shorter range`,
      );
    }
    const held: Entry[] = [];
    const release = (): void => {
      for (const e of held.splice(0)) e.refs--;
      this.evict();
    };
    try {
      const results = await Promise.allSettled(
        blocks.map(async (b) => {
          const e = await this.entry(b);
          held.push(e);
          e.lastUsed = ++this.clock;
          if (!e.block) {
            try {
              e.block = openBlock(e.dir);
            } catch (err) {
              // A damaged copy (disk trouble): drop it, the next query copies the block again.
              this.log.warn('remote block cache: dropping a copy that does not open', {ulid: e.ulid, error: errorMessage(err)});
              if (this.entries.get(e.ulid) === e) this.entries.delete(e.ulid);
              fs.rmSync(e.dir, {recursive: true, force: true});
              throw err;
            }
          }
          return e.block;
        }),
      );
      const failed = results.find((r) => r.status === 'rejected');
      if (failed) throw (failed as PromiseRejectedResult).reason;
      this.evict();
      return {blocks: results.map((r) => (r as PromiseFulfilledResult<Block>).value), release};
    } catch (err) {
      release();
      throw err;
    }
  }

  stats(): {dir: string; maxBytes: number; bytes: number; blocks: number; inUse: number; downloadedBlocks: number; downloadedBytes: number} {
    let bytes = 0;
    let inUse = 0;
    for (const e of this.entries.values()) {
      bytes += e.bytes;
      if (e.refs > 0) inUse++;
    }
    return {dir: this.dir, maxBytes: this.maxBytes, bytes, blocks: this.entries.size, inUse, downloadedBlocks: this.downloadedBlocks, downloadedBytes: this.downloadedBytes};
  }

  /** Closes open blocks; copies stay on disk for the next start. */
  close(): void {
    this.closed = true;
    for (const e of this.entries.values()) {
      e.block?.close();
      e.block = null;
    }
  }

  /** Takes in copies left by an earlier run and removes unfinished downloads. */
  private scan(): void {
    if (this.scanned) return;
    this.scanned = true;
    fs.mkdirSync(this.dir, {recursive: true});
    for (const d of fs.readdirSync(this.dir, {withFileTypes: true})) {
      const p = path.join(this.dir, d.name);
      if (TMP_RE.test(d.name)) {
        fs.rmSync(p, {recursive: true, force: true});
        continue;
      }
      if (!d.isDirectory() || !isULID(d.name)) continue;
      if (!fs.existsSync(path.join(p, META_FILENAME))) {
        fs.rmSync(p, {recursive: true, force: true});
        continue;
      }
      this.entries.set(d.name, {ulid: d.name, dir: p, bytes: dirBytes(p), lastUsed: 0, refs: 0, block: null});
    }
    this.evict();
  }

  /** The entry of `b` with one reference taken for the caller (taken synchronously, so eviction never races it). */
  private entry(b: RemoteBlock): Promise<Entry> {
    const have = this.entries.get(b.ulid);
    if (have) {
      have.refs++;
      return Promise.resolve(have);
    }
    let pending = this.downloads.get(b.ulid);
    if (!pending) {
      const flight = {waiters: 0, promise: Promise.resolve() as unknown as Promise<Entry>};
      flight.promise = this.limiter.run(() => this.download(b, flight)).finally(() => this.downloads.delete(b.ulid));
      this.downloads.set(b.ulid, flight);
      pending = flight;
    }
    pending.waiters++;
    return pending.promise;
  }

  // Not tied to any one request's signal: other queries may wait for the same copy, and a
  // finished copy serves the next query anyway. The per-file timeout bounds it.
  private async download(b: RemoteBlock, flight: {waiters: number}): Promise<Entry> {
    const started = performance.now();
    const base = `${this.remoteDir}/${b.ulid}`;
    const tmp = path.join(this.dir, `${b.ulid}.tmp-${randomBytes(6).toString('hex')}`);
    const final = path.join(this.dir, b.ulid);
    await fs.promises.mkdir(tmp, {recursive: true});
    try {
      let expected: ManifestFile[];
      const manifestInfo = b.files.get(MANIFEST_FILENAME);
      if (manifestInfo) {
        const manifest = decodeManifest((await readAll(this.backend, manifestInfo.path)).toString('utf8'));
        if (manifest.ulid.toUpperCase() !== b.ulid.toUpperCase()) throw new RemoteBlockCorruptError(`${manifestInfo.path} names block ${manifest.ulid}`);
        expected = manifest.files;
      } else {
        // Uploaded by the Go plugin: all we know are the listed sizes.
        expected = [...b.files.entries()].filter(([rel]) => isSafeRelPath(rel)).map(([rel, f]) => ({path: rel, size: f.size, sha256: ''}));
      }
      const meta = expected.find((f) => f.path === META_FILENAME);
      const data = expected.filter((f) => f.path !== META_FILENAME && f.path !== MANIFEST_FILENAME);
      let bytes = 0;
      for (const f of data) bytes += await this.fetchFile(`${base}/${f.path}`, path.join(tmp, ...f.path.split('/')), f);
      // meta.json last: a copy with meta.json is a complete copy.
      bytes += await this.fetchFile(`${base}/${META_FILENAME}`, path.join(tmp, META_FILENAME), meta ?? {path: META_FILENAME, size: -1, sha256: ''});
      await fs.promises.rm(final, {recursive: true, force: true});
      await fs.promises.rename(tmp, final);
      const e: Entry = {ulid: b.ulid, dir: final, bytes, lastUsed: ++this.clock, refs: flight.waiters, block: null};
      this.entries.set(b.ulid, e);
      this.downloadedBlocks++;
      this.downloadedBytes += bytes;
      this.log.info('remote block cache: block copied from the file store', {ulid: b.ulid, bytes, ms: Math.round(performance.now() - started)});
      return e;
    } catch (err) {
      await fs.promises.rm(tmp, {recursive: true, force: true}).catch(() => {});
      // The block may have been deleted by retention meanwhile: list again next time.
      this.invalidate();
      throw err;
    }
  }

  /** Streams one file to disk, checking size (and sha256 when known). Returns its size. */
  private async fetchFile(remote: string, local: string, want: ManifestFile): Promise<number> {
    await fs.promises.mkdir(path.dirname(local), {recursive: true});
    return withTimeout(remote, this.fileTimeoutMs, undefined, async (sig) => {
      const hashing = new HashingStream();
      await pipeline(await this.backend.read(remote), hashing, fs.createWriteStream(local), {signal: sig});
      const got = hashing.result();
      if (!got) throw new RemoteBlockCorruptError(`${remote}: download ended early`);
      if (want.size >= 0 && got.size !== want.size) throw new RemoteBlockCorruptError(`${remote}: ${got.size} bytes, expected ${want.size}`);
      if (want.sha256 && got.sha256 !== want.sha256) throw new RemoteBlockCorruptError(`${remote}: sha256 ${got.sha256} does not match the manifest (${want.sha256})`);
      return got.size;
    });
  }

  /** Deletes least recently used copies nobody holds until the cache fits. */
  private evict(): void {
    let total = 0;
    for (const e of this.entries.values()) total += e.bytes;
    if (total <= this.maxBytes) return;
    const idle = [...this.entries.values()].filter((e) => e.refs === 0).sort((a, b) => a.lastUsed - b.lastUsed);
    for (const e of idle) {
      if (total <= this.maxBytes) break;
      e.block?.close();
      this.entries.delete(e.ulid);
      fs.rmSync(e.dir, {recursive: true, force: true});
      total -= e.bytes;
      this.log.debug?.('remote block cache: evicted', {ulid: e.ulid, bytes: e.bytes});
    }
  }
}

function dirBytes(dir: string): number {
  let total = 0;
  for (const e of fs.readdirSync(dir, {withFileTypes: true})) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) total += dirBytes(p);
    else if (e.isFile()) total += fs.statSync(p).size;
  }
  return total;
}

function mib(bytes: number): string {
  return `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
}
