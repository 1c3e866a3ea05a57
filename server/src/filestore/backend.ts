// The file store as the plugin uses it: Mattermost's FileSettings backend (a local
// directory or an S3 bucket), addressed by slash-separated paths relative to its
// root (FileSettings.Directory, or bucket + AmazonS3PathPrefix). Sync, dumps and
// retention code only against this interface.

import type {Readable} from 'node:stream';

export interface FileInfo {
  /** Path relative to the file-store root, slash-separated. */
  path: string;
  size: number;
  /** Last modification, ms since the epoch. */
  modTime: number;
}

export class FileNotFoundError extends Error {
  override name = 'FileNotFoundError';
  constructor(readonly path: string) {
    super(`file not found: ${path}`);
  }
}

/** Any other failure of the backend (I/O, S3 status, timeout), with the operation and path. */
export class FileStoreError extends Error {
  override name = 'FileStoreError';
  constructor(
    readonly op: string,
    readonly path: string,
    message: string,
    options?: {cause?: unknown},
  ) {
    super(`${op} ${path}: ${message}`, options);
  }
}

export interface FileBackend {
  readonly kind: 'local' | 'amazons3';
  /** A description for logs and status: never includes secrets. */
  describe(): string;
  /** Streams `body` to `path` (replacing it); resolves with the bytes written. Memory stays bounded whatever the size. */
  write(path: string, body: Readable | Buffer, opts?: {size?: number; signal?: AbortSignal}): Promise<number>;
  /** A stream of the file (or of bytes [start, end], inclusive, for Range requests). Rejects with FileNotFoundError. */
  read(path: string, range?: {start: number; end: number}): Promise<Readable>;
  /** null when absent. */
  stat(path: string): Promise<FileInfo | null>;
  /** Every file below `prefix` (recursive), in no particular order. */
  list(prefix: string): Promise<FileInfo[]>;
  /** Names of the immediate sub-directories of `prefix`. */
  listDirs(prefix: string): Promise<string[]>;
  /** Removes one file; absent is fine. */
  remove(path: string): Promise<void>;
  /** Removes everything below `prefix`. */
  removeAll(prefix: string): Promise<void>;
  /** Checks the backend is reachable and writable (a small write, read and delete under `prefix`). */
  check(prefix: string): Promise<void>;
  /** Removes leftovers of writes a killed process never finished, older than `olderThanMs`, below `prefix`. */
  sweepAbandoned?(prefix: string, olderThanMs: number, now?: number): Promise<number>;
}

/** Upstream's layout, kept so data survives an upgrade from the Go plugin. */
export const remoteRoot = 'plugin-data/mattermost-plugin-metrics';
export const remoteDataDir = `${remoteRoot}/data`;
export const remoteDumpDir = `${remoteRoot}/dump`;
