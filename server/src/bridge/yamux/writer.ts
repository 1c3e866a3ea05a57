// The session's send side: one owner of conn.write, so the header and payload of a
// frame never interleave with another frame.
//
// Two queues feed it. Control frames (window updates with SYN/ACK/FIN/RST, pings,
// go-away) are tiny and always go first. Data frames are cut on demand from the
// streams that have bytes to send and send window left, one frame per stream in
// turn (round robin), and only while the connection is not backed up. A flush runs
// on the next tick after work arrives and corks the connection, so everything queued
// in one tick leaves in one writev.

import type {Duplex} from 'node:stream';
import {encodeHeaderFields, FrameType} from './frame.ts';

/** What the writer needs from a stream that has data to send (implemented by Stream). */
export interface DataSource {
  readonly id: number;
  /**
   * Moves up to maxBytes of pending data (bounded by the send window) into `out`
   * as payload pieces, charges the send window, and returns the byte count (0 = nothing).
   */
  takeData(maxBytes: number, out: Buffer[]): number;
  /**
   * Passed as the connection's write callback of every frame cut by takeData, so it
   * runs once the frame has been flushed (written to the OS), in frame order.
   */
  readonly frameFlushed: (err?: Error | null) => void;
  /** Bytes that could be sent right now: min(pending, send window). */
  sendableBytes(): number;
}

export interface FrameWriterOptions {
  /** Close the session when the connection takes nothing for this long (milliseconds). */
  writeTimeoutMs: number;
  /** Called when writeTimeoutMs passes while the connection is backed up. */
  onWriteTimeout: () => void;
  /** Largest Data payload per frame, in bytes. */
  maxDataFrameBytes?: number;
  /**
   * Stop cutting Data frames once the connection buffers this many bytes and has
   * asked for a drain; control frames are written regardless.
   */
  connBufferBytes?: number;
}

/** Data frames carry at most this much payload, so control frames never wait long behind one. */
export const DEFAULT_MAX_DATA_FRAME_BYTES = 64 * 1024;
/** Data bytes we let the connection buffer before waiting for 'drain'. */
export const DEFAULT_CONN_BUFFER_BYTES = 256 * 1024;

export class FrameWriter {
  private readonly conn: Duplex;
  private readonly writeTimeoutMs: number;
  private readonly onWriteTimeout: () => void;
  private readonly maxDataFrameBytes: number;
  private readonly connBufferBytes: number;

  /** Encoded control headers, oldest first. */
  private control: Buffer[] = [];
  /** Streams with sendable data, in turn order (a Set keeps insertion order). */
  private readonly ready = new Set<DataSource>();
  private flushScheduled = false;
  private flushing = false;
  private closed = false;
  private writeTimer: NodeJS.Timeout | null = null;
  private readonly pieces: Buffer[] = [];

  constructor(conn: Duplex, options: FrameWriterOptions) {
    this.conn = conn;
    this.writeTimeoutMs = options.writeTimeoutMs;
    this.onWriteTimeout = options.onWriteTimeout;
    this.maxDataFrameBytes = options.maxDataFrameBytes ?? DEFAULT_MAX_DATA_FRAME_BYTES;
    this.connBufferBytes = options.connBufferBytes ?? DEFAULT_CONN_BUFFER_BYTES;
    conn.on('drain', this.onDrain);
  }

  /** Queues a header-only frame ahead of all data. */
  sendControl(type: number, flags: number, streamId: number, length: number): void {
    if (this.closed) return;
    this.control.push(encodeHeaderFields(type, flags, streamId, length));
    this.schedule();
  }

  /** Marks a stream as having data and window; the next flush cuts frames from it. */
  dataReady(source: DataSource): void {
    if (this.closed) return;
    this.ready.add(source);
    this.schedule();
  }

  /** Forgets a stream (closed or reset). */
  remove(source: DataSource): void {
    this.ready.delete(source);
  }

  /**
   * Writes what control frames are queued (a final GoAway, FINs) and stops; data that
   * was not sent yet is dropped. Idempotent.
   */
  close(): void {
    if (this.closed) return;
    if (this.control.length > 0 && !this.conn.destroyed && !this.conn.writableEnded) {
      this.conn.cork();
      for (const header of this.control) this.conn.write(header);
      this.conn.uncork();
    }
    this.closed = true;
    this.control = [];
    this.ready.clear();
    this.clearWriteTimer();
    this.conn.off('drain', this.onDrain);
  }

  private schedule(): void {
    if (this.flushScheduled || this.flushing) return;
    this.flushScheduled = true;
    process.nextTick(this.flush);
  }

  private readonly onDrain = (): void => {
    this.clearWriteTimer();
    this.schedule();
  };

  private backedUp(): boolean {
    return this.conn.writableNeedDrain && this.conn.writableLength >= this.connBufferBytes;
  }

  private readonly flush = (): void => {
    this.flushScheduled = false;
    if (this.closed) return;
    const conn = this.conn;
    if (conn.destroyed || conn.writableEnded) return;
    this.flushing = true;
    conn.cork();
    try {
      while (!this.closed) {
        if (this.control.length > 0) {
          const control = this.control;
          this.control = [];
          for (const header of control) conn.write(header);
        }
        if (this.ready.size === 0 || this.backedUp()) break;
        this.writeOneDataFrame();
      }
    } finally {
      this.flushing = false;
      conn.uncork();
    }
    if (this.closed) return;
    if (conn.writableNeedDrain) {
      this.armWriteTimer();
    }
    // Work that arrived while uncorking (a synchronous in-memory peer) gets another pass.
    if (this.control.length > 0 || (this.ready.size > 0 && !this.backedUp())) this.schedule();
  };

  private writeOneDataFrame(): void {
    const source: DataSource = this.ready.values().next().value as DataSource;
    this.ready.delete(source);
    const pieces = this.pieces;
    const bytes = source.takeData(this.maxDataFrameBytes, pieces);
    if (bytes > 0) {
      const conn = this.conn;
      conn.write(encodeHeaderFields(FrameType.Data, 0, source.id, bytes));
      const last = pieces.length - 1;
      for (let i = 0; i < last; i++) conn.write(pieces[i]);
      conn.write(pieces[last], source.frameFlushed);
      pieces.length = 0;
    }
    if (source.sendableBytes() > 0) this.ready.add(source);
  }

  private armWriteTimer(): void {
    if (this.writeTimer !== null) return;
    this.writeTimer = setTimeout(() => {
      this.writeTimer = null;
      if (!this.closed && this.conn.writableNeedDrain) this.onWriteTimeout();
    }, this.writeTimeoutMs);
    this.writeTimer.unref();
  }

  private clearWriteTimer(): void {
    if (this.writeTimer !== null) {
      clearTimeout(this.writeTimer);
      this.writeTimer = null;
    }
  }
}
