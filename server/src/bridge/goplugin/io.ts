// Small helpers for reading fixed-size prefixes off a stream before handing it on.

import type {Duplex, Readable} from 'node:stream';

export class StreamTimeoutError extends Error {
  override name = 'StreamTimeoutError';
}

/**
 * Reads exactly n bytes in paused mode, leaving any further bytes buffered for
 * whoever reads the stream next.
 */
export function readExactly(stream: Readable, n: number, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const cleanup = (): void => {
      clearTimeout(timer);
      stream.off('readable', tryRead);
      stream.off('end', onEnd);
      stream.off('close', onEnd);
      stream.off('error', onError);
    };
    const tryRead = (): void => {
      const chunk = stream.read(n) as Buffer | null;
      if (chunk === null) return;
      cleanup();
      if (chunk.length < n) reject(new Error(`stream ended after ${chunk.length} of ${n} bytes`));
      else resolve(chunk);
    };
    const onEnd = (): void => {
      cleanup();
      reject(new Error('stream closed before the expected bytes arrived'));
    };
    const onError = (err: Error): void => {
      cleanup();
      reject(err);
    };
    const timer: NodeJS.Timeout = setTimeout(() => {
      cleanup();
      reject(new StreamTimeoutError(`timed out after ${timeoutMs} ms waiting for ${n} bytes`));
    }, timeoutMs);
    stream.on('readable', tryRead);
    stream.once('end', onEnd);
    stream.once('close', onEnd);
    stream.once('error', onError);
    tryRead();
  });
}

export function uint32LE(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0, 0);
  return b;
}

/** Ends a stream politely, swallowing errors from an already-dead stream. */
export function closeQuietly(stream: Duplex): void {
  try {
    if (!stream.destroyed) stream.end();
  } catch {
    // already gone
  }
}
