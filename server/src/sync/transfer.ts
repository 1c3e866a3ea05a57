// Moving one file to the file store: streamed from disk through a hashing pass-through
// (each byte is read once), bounded by a timeout that works even when the backend
// ignores the abort signal, and checked against the local size afterwards.

import fs from 'node:fs';
import {FileStoreError, type FileBackend} from '../filestore/backend.ts';
import {HashingStream} from './manifest.ts';

/** The local source vanished or changed while it was being uploaded (compaction raced us). */
export class LocalChangedError extends Error {
  override name = 'LocalChangedError';
}

/** A bounded number of concurrently running tasks. */
export class Limiter {
  private active = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(readonly max: number) {
    if (!(Number.isInteger(max) && max >= 1)) throw new RangeError(`concurrency must be a positive integer, got ${max}`);
  }

  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.active >= this.max) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.active++;
    try {
      return await fn();
    } finally {
      this.active--;
      this.waiting.shift()?.();
    }
  }
}

/**
 * Runs `fn` with a signal that aborts after `timeoutMs` or when `parent` aborts, and
 * rejects at that moment even if `fn` does not react to its signal.
 */
export async function withTimeout<T>(what: string, timeoutMs: number, parent: AbortSignal | undefined, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const ac = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  let onParentAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    const fail = (err: Error): void => {
      ac.abort(err);
      reject(err);
    };
    timer = setTimeout(() => fail(new FileStoreError('timeout', what, `no completion within ${timeoutMs} ms`)), timeoutMs);
    if (parent) {
      onParentAbort = () => fail(new FileStoreError('aborted', what, 'sync stopped'));
      if (parent.aborted) onParentAbort();
      else parent.addEventListener('abort', onParentAbort, {once: true});
    }
  });
  aborted.catch(() => {}); // only observed through the race below
  try {
    return await Promise.race([fn(ac.signal), aborted]);
  } finally {
    clearTimeout(timer);
    if (onParentAbort) parent?.removeEventListener('abort', onParentAbort);
  }
}

export interface UploadedFile {
  size: number;
  sha256: string;
}

/**
 * Streams local `abs` to `remotePath`, hashing on the way. Rejects with
 * LocalChangedError when the file is missing (ENOENT) or its size differs from
 * `expectedSize`, and with FileStoreError when the backend fails, times out or reports
 * fewer bytes than were sent.
 */
export async function uploadFile(
  backend: FileBackend,
  abs: string,
  remotePath: string,
  expectedSize: number,
  opts: {timeoutMs: number; signal?: AbortSignal},
): Promise<UploadedFile> {
  let fd: fs.promises.FileHandle;
  try {
    fd = await fs.promises.open(abs, 'r');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new LocalChangedError(`local file ${abs} disappeared`, {cause: e});
    throw e;
  }
  const source = fd.createReadStream({autoClose: true});
  const hashing = new HashingStream();
  let sourceError: unknown = null;
  source.on('error', (e) => {
    sourceError = e;
    hashing.destroy(e);
  });
  source.pipe(hashing);
  try {
    const written = await withTimeout(remotePath, opts.timeoutMs, opts.signal, (signal) => backend.write(remotePath, hashing, {size: expectedSize, signal}));
    if (sourceError) throw sourceError;
    const got = hashing.result();
    if (!got) throw new FileStoreError('write', remotePath, 'backend returned before reading the whole file');
    if (got.size !== expectedSize) throw new LocalChangedError(`local file ${abs} changed size during upload (${expectedSize} → ${got.size})`);
    if (written !== got.size) throw new FileStoreError('write', remotePath, `backend wrote ${written} of ${got.size} bytes`);
    return got;
  } finally {
    source.destroy();
    hashing.destroy();
  }
}

/** Writes a small buffer (manifest, meta.json) with a timeout and checks the count. */
export async function uploadBuffer(backend: FileBackend, remotePath: string, body: Buffer, opts: {timeoutMs: number; signal?: AbortSignal}): Promise<void> {
  const written = await withTimeout(remotePath, opts.timeoutMs, opts.signal, (signal) => backend.write(remotePath, body, {size: body.length, signal}));
  if (written !== body.length) throw new FileStoreError('write', remotePath, `backend wrote ${written} of ${body.length} bytes`);
}
