// Helpers shared by the backends.

import {randomBytes} from 'node:crypto';
import {PassThrough, type Readable} from 'node:stream';
import {buffer} from 'node:stream/consumers';
import {type FileBackend, FileNotFoundError, FileStoreError} from './backend.ts';
import {cleanPath, errorMessage, joinPath} from './paths.ts';

/** The logger the backends accept (a subset of the plugin's Logger). */
export interface FileStoreLogger {
  debug?(message: string, fields?: Record<string, unknown>): void;
  info?(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error?(message: string, fields?: Record<string, unknown>): void;
}

export const silentLogger: FileStoreLogger = {warn() {}};

export function randomSuffix(): string {
  return randomBytes(6).toString('hex');
}

/**
 * Re-emits `src` through a PassThrough whose errors are FileStoreErrors (the raw stream
 * errors of fs/http say nothing about which file was being read). Destroying the returned
 * stream destroys the source.
 */
export function wrapReadStream(src: Readable, op: string, path: string): Readable {
  const out = new PassThrough({highWaterMark: 64 * 1024});
  src.on('error', (err) => {
    out.destroy(err instanceof FileStoreError ? err : new FileStoreError(op, path, errorMessage(err), {cause: err}));
  });
  out.on('close', () => {
    if (!src.destroyed) src.destroy();
  });
  src.pipe(out);
  return out;
}

/** An AbortError-like FileStoreError for a write cancelled through its signal. */
export function abortedError(op: string, path: string, signal: AbortSignal): FileStoreError {
  const reason = signal.reason instanceof Error ? signal.reason.message : 'aborted';
  return new FileStoreError(op, path, `aborted: ${reason}`, {cause: signal.reason});
}

/** FileBackend.check: a small write, read-back and delete under `prefix`. */
export async function checkBackend(backend: FileBackend, prefix: string): Promise<void> {
  const dir = cleanPath('check', prefix, {allowRoot: true});
  const path = joinPath(dir, `.check-${randomSuffix()}`);
  const payload = Buffer.from(`mattermost-plugin-metrics write check ${new Date().toISOString()}\n`);
  await backend.write(path, payload);
  try {
    const got = await buffer(await backend.read(path));
    if (!got.equals(payload)) {
      throw new FileStoreError('check', path, `read back ${got.length} bytes that differ from the ${payload.length} written`);
    }
  } catch (err) {
    if (err instanceof FileNotFoundError) {
      throw new FileStoreError('check', path, 'the file just written cannot be read back', {cause: err});
    }
    throw err;
  } finally {
    await backend.remove(path);
  }
}
