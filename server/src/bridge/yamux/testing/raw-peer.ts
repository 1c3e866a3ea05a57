// A hand-driven yamux peer for tests: sends exactly the bytes a test builds (with
// the naive codec) and records every frame the session under test sends back.

import type {Duplex} from 'node:stream';
import {frameBytes, parseFrames, type NaiveFrame} from './naive-codec.ts';

export class RawPeer {
  readonly frames: NaiveFrame[] = [];
  private pending: Buffer = Buffer.alloc(0);
  private waiters: Array<() => void> = [];
  ended = false;

  constructor(readonly conn: Duplex) {
    conn.on('data', (chunk: Buffer) => {
      this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
      const {frames, used} = parseFrames(this.pending);
      this.pending = this.pending.subarray(used);
      this.frames.push(...frames);
      this.wake();
    });
    conn.on('end', () => {
      this.ended = true;
      this.wake();
    });
    conn.on('close', () => {
      this.ended = true;
      this.wake();
    });
    conn.on('error', () => {});
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  /** Writes raw bytes (whole frames or any slice of them). */
  send(...parts: Buffer[]): void {
    this.conn.write(Buffer.concat(parts));
  }

  /** Writes one frame built from fields. */
  frame(type: number, flags: number, streamId: number, lengthOrPayload: number | Buffer = 0): void {
    this.send(frameBytes(type, flags, streamId, lengthOrPayload));
  }

  /** Resolves with the first recorded frame (from `from` on) matching `match`. */
  async waitFor(match: (f: NaiveFrame) => boolean, timeoutMs = 2000, from = 0): Promise<NaiveFrame> {
    const deadline = Date.now() + timeoutMs;
    while (true) {
      const found = this.frames.slice(from).find(match);
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`timed out waiting for a frame; got ${JSON.stringify(this.summary())}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.max(1, deadline - Date.now()));
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Resolves once the session under test closed its side. */
  async waitEnded(timeoutMs = 2000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.ended) {
      if (Date.now() > deadline) throw new Error('timed out waiting for the connection to end');
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  /** Data bytes received on a stream. */
  dataOn(streamId: number): Buffer {
    return Buffer.concat(this.frames.filter((f) => f.type === 0 && f.streamId === streamId).map((f) => f.payload));
  }

  summary(): string[] {
    return this.frames.map((f) => `t${f.type} f${f.flags} s${f.streamId} l${f.length}`);
  }
}
