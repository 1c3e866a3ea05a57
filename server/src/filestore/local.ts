// The `local` driver: FileSettings.Directory on this node's disk.
//
// Writes go to a hidden temp file in the destination directory, are fsynced and renamed
// into place, so a reader never sees a partial file; the temp file is removed on any error
// (ENOSPC included). Listings skip those temp files.

import fs, {type FileHandle} from 'node:fs/promises';
import path from 'node:path';
import {Readable} from 'node:stream';
import {type FileBackend, type FileInfo, FileNotFoundError, FileStoreError} from './backend.ts';
import {abortedError, checkBackend, type FileStoreLogger, randomSuffix, silentLogger, wrapReadStream} from './common.ts';
import {checkRange, cleanPath, errorMessage, joinPath} from './paths.ts';

/** Names of in-progress writes (".<name>.tmp-<12 hex>"): never listed. */
const TEMP_FILE = /^\..+\.tmp-[0-9a-f]{12}$/;

export interface LocalBackendOptions {
  logger?: FileStoreLogger;
  /** Test hook: replaces the write of one chunk to the temp file (fault injection, e.g. ENOSPC). */
  writeChunk?: (fh: FileHandle, chunk: Uint8Array) => Promise<void>;
}

async function writeAll(fh: FileHandle, chunk: Uint8Array): Promise<void> {
  let off = 0;
  while (off < chunk.length) {
    const {bytesWritten} = await fh.write(chunk, off, chunk.length - off);
    off += bytesWritten;
  }
}

function code(err: unknown): string | undefined {
  const c = (err as {code?: unknown} | null)?.code;
  return typeof c === 'string' ? c : undefined;
}

function wrap(op: string, p: string, err: unknown): Error {
  if (err instanceof FileStoreError || err instanceof FileNotFoundError) return err;
  const c = code(err);
  const hint = c === 'ENOSPC' ? ' (no space left on the device)' : c === 'EACCES' || c === 'EPERM' ? ' (permission denied)' : '';
  return new FileStoreError(op, p, `${errorMessage(err)}${hint}`, {cause: err});
}

export class LocalBackend implements FileBackend {
  readonly kind = 'local' as const;
  /** Absolute root directory. */
  readonly root: string;
  private readonly log: FileStoreLogger;
  private readonly writeChunk: (fh: FileHandle, chunk: Uint8Array) => Promise<void>;

  /** `rootDir` must be absolute: resolving a relative setting is the caller's decision (see backendFromConfig). */
  constructor(rootDir: string, opts: LocalBackendOptions = {}) {
    if (!path.isAbsolute(rootDir)) throw new FileStoreError('open', rootDir, 'local file-store directory must be an absolute path');
    this.root = path.resolve(rootDir);
    this.log = opts.logger ?? silentLogger;
    this.writeChunk = opts.writeChunk ?? writeAll;
  }

  describe(): string {
    return `local directory=${this.root}`;
  }

  private abs(key: string): string {
    return key === '' ? this.root : path.join(this.root, ...key.split('/'));
  }

  async write(p: string, body: Readable | Buffer, opts: {size?: number; signal?: AbortSignal} = {}): Promise<number> {
    const key = cleanPath('write', p);
    const {signal} = opts;
    if (signal?.aborted) throw abortedError('write', key, signal);
    const dest = this.abs(key);
    const dir = path.dirname(dest);
    const tmp = path.join(dir, `.${path.basename(dest)}.tmp-${randomSuffix()}`);
    let fh: FileHandle | undefined;
    let created = false;
    let n = 0;
    const onAbort = () => {
      if (body instanceof Readable) body.destroy(abortedError('write', key, signal!));
    };
    signal?.addEventListener('abort', onAbort, {once: true});
    try {
      await fs.mkdir(dir, {recursive: true});
      fh = await fs.open(tmp, 'wx', 0o644);
      created = true;
      if (body instanceof Readable) {
        for await (const chunk of body) {
          if (signal?.aborted) throw abortedError('write', key, signal);
          const buf: Uint8Array = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
          await this.writeChunk(fh, buf);
          n += buf.length;
        }
      } else {
        await this.writeChunk(fh, body);
        n = body.length;
      }
      if (signal?.aborted) throw abortedError('write', key, signal);
      if (opts.size !== undefined && n !== opts.size) {
        throw new FileStoreError('write', key, `expected ${opts.size} bytes but the source gave ${n}`);
      }
      await fh.sync();
      await fh.close();
      fh = undefined;
      await fs.rename(tmp, dest);
      created = false;
      await this.syncDir(dir);
      return n;
    } catch (err) {
      if (body instanceof Readable && !body.destroyed) body.destroy();
      if (fh) await fh.close().catch(() => {});
      if (created) {
        await fs.rm(tmp, {force: true}).catch((e: unknown) => {
          this.log.warn('file store: could not remove a temp file after a failed write', {path: tmp, error: errorMessage(e)});
        });
      }
      throw wrap('write', key, err);
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  /** Makes the rename durable; best effort (some filesystems refuse fsync on directories). */
  private async syncDir(dir: string): Promise<void> {
    let dh: FileHandle | undefined;
    try {
      dh = await fs.open(dir, 'r');
      await dh.sync();
    } catch {
      // ignored: the data itself is synced
    } finally {
      await dh?.close().catch(() => {});
    }
  }

  async read(p: string, range?: {start: number; end: number}): Promise<Readable> {
    const key = cleanPath('read', p);
    if (range) checkRange('read', key, range);
    let fh: FileHandle;
    try {
      fh = await fs.open(this.abs(key), 'r');
    } catch (err) {
      const c = code(err);
      if (c === 'ENOENT' || c === 'ENOTDIR') throw new FileNotFoundError(key);
      throw wrap('read', key, err);
    }
    try {
      const st = await fh.stat();
      if (!st.isFile()) throw new FileNotFoundError(key);
      if (range) checkRange('read', key, range, st.size);
      const stream = fh.createReadStream(range ? {start: range.start, end: Math.min(range.end, st.size - 1)} : {});
      return wrapReadStream(stream, 'read', key);
    } catch (err) {
      await fh.close().catch(() => {});
      throw wrap('read', key, err);
    }
  }

  async stat(p: string): Promise<FileInfo | null> {
    const key = cleanPath('stat', p);
    try {
      const st = await fs.stat(this.abs(key));
      return st.isFile() ? {path: key, size: st.size, modTime: st.mtimeMs} : null;
    } catch (err) {
      const c = code(err);
      if (c === 'ENOENT' || c === 'ENOTDIR') return null;
      throw wrap('stat', key, err);
    }
  }

  async list(prefix: string): Promise<FileInfo[]> {
    const key = cleanPath('list', prefix, {allowRoot: true});
    const out: FileInfo[] = [];
    const walk = async (rel: string, top: boolean): Promise<void> => {
      let entries;
      try {
        entries = await fs.readdir(this.abs(rel), {withFileTypes: true});
      } catch (err) {
        const c = code(err);
        // The prefix itself may be absent; entries may vanish while we walk.
        if (c === 'ENOENT' || (top && c === 'ENOTDIR')) return;
        throw wrap('list', rel, err);
      }
      for (const e of entries) {
        const child = joinPath(rel, e.name);
        if (e.isDirectory()) {
          await walk(child, false);
        } else if ((e.isFile() || e.isSymbolicLink()) && !TEMP_FILE.test(e.name)) {
          try {
            const st = await fs.stat(this.abs(child));
            if (st.isFile()) out.push({path: child, size: st.size, modTime: st.mtimeMs});
          } catch (err) {
            if (code(err) !== 'ENOENT') throw wrap('list', child, err);
          }
        }
      }
    };
    await walk(key, true);
    return out;
  }

  /**
   * Removes temp files of writes that never finished (the process was killed mid-write)
   * below `prefix`, when older than `olderThanMs`; returns how many went. Younger ones may
   * belong to a write still running.
   */
  async sweepAbandoned(prefix: string, olderThanMs: number, now = Date.now()): Promise<number> {
    const key = cleanPath('sweep', prefix, {allowRoot: true});
    let removed = 0;
    const walk = async (rel: string): Promise<void> => {
      let entries;
      try {
        entries = await fs.readdir(this.abs(rel), {withFileTypes: true});
      } catch (err) {
        if (code(err) === 'ENOENT' || code(err) === 'ENOTDIR') return;
        throw wrap('sweep', rel, err);
      }
      for (const e of entries) {
        const child = joinPath(rel, e.name);
        if (e.isDirectory()) {
          await walk(child);
          continue;
        }
        if (!e.isFile() || !TEMP_FILE.test(e.name)) continue;
        try {
          const st = await fs.stat(this.abs(child));
          if (now - st.mtimeMs < olderThanMs) continue;
          await fs.unlink(this.abs(child));
          removed++;
          this.log.info?.('file store: removed the temp file of an unfinished write', {path: child});
        } catch (err) {
          if (code(err) !== 'ENOENT') throw wrap('sweep', child, err);
        }
      }
    };
    await walk(key);
    return removed;
  }

  async listDirs(prefix: string): Promise<string[]> {
    const key = cleanPath('listDirs', prefix, {allowRoot: true});
    try {
      const entries = await fs.readdir(this.abs(key), {withFileTypes: true});
      return entries.filter((e) => e.isDirectory()).map((e) => e.name).sort();
    } catch (err) {
      const c = code(err);
      if (c === 'ENOENT' || c === 'ENOTDIR') return [];
      throw wrap('listDirs', key, err);
    }
  }

  async remove(p: string): Promise<void> {
    const key = cleanPath('remove', p);
    try {
      await fs.unlink(this.abs(key));
    } catch (err) {
      const c = code(err);
      if (c === 'ENOENT' || c === 'ENOTDIR') return;
      throw wrap('remove', key, err);
    }
  }

  /** Removes the directory `prefix` and everything below it (refuses the root itself). */
  async removeAll(prefix: string): Promise<void> {
    const key = cleanPath('removeAll', prefix);
    const abs = this.abs(key);
    try {
      const st = await fs.lstat(abs);
      if (!st.isDirectory()) return; // same as S3: removeAll('a/b') removes keys below 'a/b/'
      await fs.rm(abs, {recursive: true, force: true});
    } catch (err) {
      const c = code(err);
      if (c === 'ENOENT' || c === 'ENOTDIR') return;
      throw wrap('removeAll', key, err);
    }
  }

  check(prefix: string): Promise<void> {
    return checkBackend(this, prefix);
  }
}
