// Small helpers shared by the yamux tests.

import {randomBytes} from 'node:crypto';
import type {Duplex} from 'node:stream';
import type {Session} from '../session.ts';
import type {Stream} from '../stream.ts';

/** Reads exact byte counts from a stream (data events are collected as they come). */
export class Reader {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private waiter: (() => void) | null = null;
  ended = false;
  error: Error | null = null;

  constructor(stream: Duplex) {
    stream.on('data', (chunk: Buffer) => {
      this.chunks.push(chunk);
      this.buffered += chunk.length;
      this.waiter?.();
    });
    stream.on('end', () => {
      this.ended = true;
      this.waiter?.();
    });
    stream.on('error', (err: Error) => {
      this.error = err;
      this.waiter?.();
    });
    stream.on('close', () => this.waiter?.());
  }

  async read(n: number, timeoutMs = 10_000): Promise<Buffer> {
    const deadline = Date.now() + timeoutMs;
    while (this.buffered < n) {
      if (this.error) throw this.error;
      if (this.ended) throw new Error(`EOF after ${this.buffered} of ${n} bytes`);
      if (Date.now() > deadline) throw new Error(`timed out after ${this.buffered} of ${n} bytes`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 50);
        this.waiter = () => {
          clearTimeout(t);
          this.waiter = null;
          resolve();
        };
      });
    }
    const all = Buffer.concat(this.chunks);
    this.chunks = all.length > n ? [all.subarray(n)] : [];
    this.buffered = all.length - n;
    return all.subarray(0, n);
  }

  /** Resolves once EOF was seen with nothing left unread. */
  async eof(timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.ended) {
      if (this.error) throw this.error;
      if (Date.now() > deadline) throw new Error('timed out waiting for EOF');
      await new Promise((r) => setTimeout(r, 5));
    }
    if (this.buffered !== 0) throw new Error(`EOF with ${this.buffered} unread bytes`);
  }
}

/** Writes `payload` while reading the same number of bytes back. */
export async function roundTrip(stream: Duplex, reader: Reader, payload: Buffer): Promise<Buffer> {
  const written = new Promise<void>((resolve, reject) => stream.write(payload, (err) => (err ? reject(err) : resolve())));
  const [echo] = await Promise.all([reader.read(payload.length, 20_000), written]);
  return echo;
}

/** Accepts every inbound stream and echoes it until EOF (then FIN). Returns the streams seen. */
export function echoServer(session: Session): Stream[] {
  const seen: Stream[] = [];
  void (async () => {
    while (true) {
      let stream: Stream;
      try {
        stream = await session.accept();
      } catch {
        return;
      }
      seen.push(stream);
      stream.on('error', () => {});
      stream.pipe(stream);
    }
  })();
  return seen;
}

export function random(n: number): Buffer {
  return randomBytes(n);
}

export async function waitFor(cond: () => boolean, timeoutMs = 2000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

export interface CloseWatch {
  /** Resolves with the 'close' event's argument. */
  promise: Promise<Error | undefined>;
  /** How many times 'close' fired (must end up exactly 1). */
  count: number;
  /** Resolves with the close error, or throws after timeoutMs. */
  wait(timeoutMs?: number): Promise<Error | undefined>;
}

/** Watches a session's 'close' event from now on. */
export function watchClose(session: Session): CloseWatch {
  const watch: CloseWatch = {
    count: 0,
    promise: new Promise((resolve) =>
      session.on('close', (err?: Error) => {
        watch.count++;
        resolve(err);
      }),
    ),
    wait: (timeoutMs = 3000) => withTimeout(watch.promise, timeoutMs, 'session close'),
  };
  return watch;
}

export async function withTimeout<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), timeoutMs);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Adds a no-op 'error' listener (a stream left open errors when its session closes). */
export function quiet<T extends Duplex>(stream: T): T {
  stream.on('error', () => {});
  return stream;
}
