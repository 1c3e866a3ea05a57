// One logical stream as a Node Duplex (SPEC.md §4–§5).
//
// Reading: Data payloads are pushed into the Readable while it wants more and held
// in a small queue otherwise. Window updates go out from _read, i.e. as the
// application consumes, with Go's rule (only once the delta reaches half the
// maximum window), so the peer can never have more than one window in flight and a
// slow reader slows the peer down.
//
// Writing: _write/_writev park the chunks here; the session's FrameWriter cuts Data
// frames from them as the send window allows, and the write callback runs once the
// connection has flushed the last of them (so, as with a socket, the caller may then
// reuse its buffer). WindowUpdate frames from the peer reopen the window and wake
// the writer; nothing polls.
//
// end() sends FIN (half-close); destroy() sends RST unless both sides already closed.
// A stream the peer resets, or whose session ends, is destroyed with a typed error
// (StreamResetError, SessionClosedError); an unhandled one never crashes the process.

import {Duplex} from 'node:stream';
import type {YamuxConfig} from './config.ts';
import {ReceiveWindowExceededError, StreamClosedError, StreamResetError, UnexpectedFlagError} from './errors.ts';
import {Flag, FrameType, INITIAL_STREAM_WINDOW} from './frame.ts';
import type {DataSource} from './writer.ts';

/** What a stream needs from its session; keeps the stream testable without a socket. */
export interface StreamHost {
  readonly config: Readonly<YamuxConfig>;
  /** Queue a header-only frame. */
  sendControl(type: number, flags: number, streamId: number, length: number): void;
  /** The stream has data it may send now. */
  dataReady(stream: Stream): void;
  /** The stream is done at the protocol level (both FINs, RST, or timeout): drop it. */
  streamFinished(stream: Stream): void;
  /** An outbound stream got no ACK within streamOpenTimeoutMs. */
  streamOpenTimedOut(stream: Stream): void;
}

type Callback = (err?: Error | null) => void;

export class Stream extends Duplex implements DataSource {
  /** Stream id: odd when the client opened it, even when the server did. */
  readonly id: number;
  private readonly host: StreamHost;
  private readonly maxWindow: number;

  /** Still in the session's stream table (not closed both ways, reset or timed out). */
  private registered = true;
  /** Handed to the application by open() or accept(); only such streams emit errors. */
  private handedOut = false;
  private established: boolean;
  private localFin = false;
  private remoteFin = false;
  private eofPushed = false;

  /** Bytes the peer may still send before our next window update. */
  private recvWindow = INITIAL_STREAM_WINDOW;
  /** Received payloads the Readable did not want yet. */
  private recvQueue: Buffer[] = [];
  private recvQueueHead = 0;
  private recvQueuedBytes = 0;
  /** The Readable asked for data (_read) and push() has not returned false since. */
  private pushAllowed = false;

  /** Bytes we may still send before the peer's next window update. */
  private sendWindow = INITIAL_STREAM_WINDOW;
  /** The chunks of the write in progress, with a cursor. */
  private sendChunks: Buffer[] = [];
  private sendChunkIndex = 0;
  private sendChunkOffset = 0;
  private sendPendingBytes = 0;
  /** Frames handed to the connection and not yet flushed by it. */
  private unflushedFrames = 0;
  private writeCallback: Callback | null = null;

  private openTimer: NodeJS.Timeout | null = null;
  private closeTimer: NodeJS.Timeout | null = null;

  /** @internal Streams are made by Session.open() and Session.accept(). */
  constructor(host: StreamHost, id: number, outbound: boolean) {
    super({allowHalfOpen: true, decodeStrings: true});
    // A stream torn down by its peer or its session must not crash the process when
    // nobody listens for 'error' (it can happen before accept()'s caller even got it).
    // The error still reaches 'error' listeners, write callbacks, pipeline/finished,
    // async iteration and `stream.errored`.
    this.on('error', ignoreError);
    this.host = host;
    this.id = id;
    this.maxWindow = host.config.maxStreamWindowSize;
    this.established = !outbound;
    const openTimeoutMs = host.config.streamOpenTimeoutMs;
    if (outbound && openTimeoutMs > 0) {
      this.openTimer = setTimeout(() => {
        this.openTimer = null;
        if (this.registered && !this.established) host.streamOpenTimedOut(this);
      }, openTimeoutMs);
      this.openTimer.unref();
    }
  }

  // ---- session side -------------------------------------------------------

  /** @internal The application now owns the stream: teardown errors are reported on it. */
  markHandedOut(): void {
    this.handedOut = true;
  }

  /**
   * @internal Sends a WindowUpdate granting what the application has consumed.
   * With `flags` (SYN on open, ACK on accept) it is sent even when the delta is 0.
   */
  sendWindowUpdate(flags = 0): void {
    if (!this.registered) return;
    if (flags === 0 && (this.remoteFin || this.destroyed)) return; // the peer sends no more
    const unconsumed = this.recvQueuedBytes + this.readableLength;
    const delta = this.maxWindow - unconsumed - this.recvWindow;
    if (flags === 0 && delta < this.maxWindow / 2) return;
    const grant = Math.max(delta, 0);
    this.recvWindow += grant;
    this.host.sendControl(FrameType.WindowUpdate, flags, this.id, grant);
  }

  /** @internal A Data frame for this stream arrived: `length` bytes in `pieces`. */
  handleData(flags: number, pieces: readonly Buffer[], length: number): void {
    if (flags & Flag.ACK) this.markEstablished();
    if (flags & Flag.FIN && this.remoteFin) throw this.unexpectedFin();
    if (length > 0) {
      if (length > this.recvWindow) {
        throw new ReceiveWindowExceededError(
          `receive window exceeded on stream ${this.id}: ${length} bytes, window ${this.recvWindow}`,
        );
      }
      this.recvWindow -= length;
      // Data after the peer's FIN, or with RST, or on a destroyed stream is dropped.
      if (!(flags & Flag.RST) && !this.remoteFin && !this.destroyed) {
        for (const piece of pieces) this.deliver(piece);
      }
    }
    if (flags & Flag.FIN) this.onRemoteFin();
    if (flags & Flag.RST) this.onRemoteReset();
  }

  /** @internal A WindowUpdate frame for this stream arrived. */
  handleWindowUpdate(flags: number, delta: number): void {
    if (flags & Flag.ACK) this.markEstablished();
    if (flags & Flag.FIN && this.remoteFin) throw this.unexpectedFin();
    if (flags & Flag.FIN) this.onRemoteFin();
    if (flags & Flag.RST) {
      this.onRemoteReset();
      return;
    }
    if (delta > 0) {
      this.sendWindow += delta;
      if (this.sendPendingBytes > 0 && this.registered) this.host.dataReady(this);
    }
  }

  /**
   * @internal The session is gone: stop timers and tear the stream down without
   * sending anything. Streams not yet handed out are dropped silently.
   */
  abort(err?: Error): void {
    this.registered = false;
    this.clearTimers();
    if (!this.destroyed) this.destroy(this.handedOut ? err : undefined);
  }

  // ---- DataSource (called by the session's FrameWriter) ----------------------

  /** @internal */
  sendableBytes(): number {
    return this.registered ? Math.min(this.sendPendingBytes, this.sendWindow) : 0;
  }

  /** @internal */
  takeData(maxBytes: number, out: Buffer[]): number {
    const n = Math.min(maxBytes, this.sendableBytes());
    let need = n;
    while (need > 0) {
      const chunk = this.sendChunks[this.sendChunkIndex];
      const left = chunk.length - this.sendChunkOffset;
      if (left <= need) {
        out.push(this.sendChunkOffset === 0 ? chunk : chunk.subarray(this.sendChunkOffset));
        need -= left;
        this.sendChunkIndex++;
        this.sendChunkOffset = 0;
      } else {
        out.push(chunk.subarray(this.sendChunkOffset, this.sendChunkOffset + need));
        this.sendChunkOffset += need;
        need = 0;
      }
    }
    this.sendWindow -= n;
    this.sendPendingBytes -= n;
    if (n > 0) this.unflushedFrames++;
    return n;
  }

  /**
   * @internal The write callback runs once the last frame of the write was flushed
   * by the connection, so the caller may reuse its buffer (as with a socket).
   */
  readonly frameFlushed = (err?: Error | null): void => {
    this.unflushedFrames--;
    // A failed connection write closes the session, which fails the write for us.
    if (err) return;
    if (this.sendPendingBytes === 0 && this.unflushedFrames === 0 && this.writeCallback !== null) {
      const callback = this.writeCallback;
      this.writeCallback = null;
      this.sendChunks = [];
      this.sendChunkIndex = 0;
      this.sendChunkOffset = 0;
      callback();
    }
  };

  // ---- Duplex implementation ----------------------------------------------

  override _read(): void {
    this.pushAllowed = true;
    while (this.recvQueueHead < this.recvQueue.length) {
      const chunk = this.recvQueue[this.recvQueueHead];
      this.recvQueue[this.recvQueueHead++] = EMPTY;
      this.recvQueuedBytes -= chunk.length;
      if (this.recvQueueHead === this.recvQueue.length) {
        this.recvQueue = [];
        this.recvQueueHead = 0;
      }
      if (!this.push(chunk)) {
        this.pushAllowed = false;
        break;
      }
    }
    this.maybePushEof();
    this.sendWindowUpdate();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: Callback): void {
    this.startWrite([chunk], chunk.length, callback);
  }

  override _writev(chunks: Array<{chunk: Buffer; encoding: BufferEncoding}>, callback: Callback): void {
    const buffers = new Array<Buffer>(chunks.length);
    let total = 0;
    for (let i = 0; i < chunks.length; i++) {
      buffers[i] = chunks[i].chunk;
      total += buffers[i].length;
    }
    this.startWrite(buffers, total, callback);
  }

  override _final(callback: Callback): void {
    if (!this.registered) {
      callback();
      return;
    }
    this.localFin = true;
    this.clearOpenTimer();
    this.host.sendControl(FrameType.WindowUpdate, Flag.FIN, this.id, 0);
    if (this.remoteFin) {
      this.finish();
    } else if (this.host.config.streamCloseTimeoutMs > 0) {
      this.closeTimer = setTimeout(this.onCloseTimeout, this.host.config.streamCloseTimeoutMs);
      this.closeTimer.unref();
    }
    callback();
  }

  override _destroy(err: Error | null, callback: Callback): void {
    if (this.registered) {
      // A hard close the peer must hear about.
      this.host.sendControl(FrameType.WindowUpdate, Flag.RST, this.id, 0);
      this.finish();
    }
    this.clearTimers();
    this.recvQueue = [];
    this.recvQueueHead = 0;
    this.recvQueuedBytes = 0;
    this.sendChunks = [];
    this.sendPendingBytes = 0;
    const pending = this.writeCallback;
    this.writeCallback = null;
    if (pending !== null) pending(err ?? new StreamClosedError(this.id));
    callback(err);
  }

  // ---- internals ----------------------------------------------------------

  private startWrite(chunks: Buffer[], bytes: number, callback: Callback): void {
    if (bytes === 0) {
      callback();
      return;
    }
    if (!this.registered) {
      callback(new StreamClosedError(this.id));
      return;
    }
    this.sendChunks = chunks;
    this.sendChunkIndex = 0;
    this.sendChunkOffset = 0;
    this.sendPendingBytes = bytes;
    this.writeCallback = callback;
    if (this.sendWindow > 0) this.host.dataReady(this);
  }

  private deliver(payload: Buffer): void {
    if (this.pushAllowed && this.recvQueuedBytes === 0) {
      if (!this.push(payload)) this.pushAllowed = false;
      return;
    }
    this.recvQueue.push(payload);
    this.recvQueuedBytes += payload.length;
  }

  private maybePushEof(): void {
    if (this.remoteFin && !this.eofPushed && this.recvQueuedBytes === 0 && !this.destroyed) {
      this.eofPushed = true;
      this.push(null);
    }
  }

  private markEstablished(): void {
    if (this.established) return;
    this.established = true;
    this.clearOpenTimer();
  }

  private onRemoteFin(): void {
    this.remoteFin = true;
    if (this.localFin) this.finish();
    this.maybePushEof();
  }

  private onRemoteReset(): void {
    this.finish();
    if (!this.destroyed) this.destroy(this.handedOut ? new StreamResetError(this.id) : undefined);
  }

  private unexpectedFin(): UnexpectedFlagError {
    return new UnexpectedFlagError(`second FIN on stream ${this.id}`);
  }

  /** Leaves the session's table (protocol-level close); the Node stream may live on. */
  private finish(): void {
    if (!this.registered) return;
    this.registered = false;
    this.clearTimers();
    this.host.streamFinished(this);
  }

  private readonly onCloseTimeout = (): void => {
    this.closeTimer = null;
    if (!this.registered) return;
    // The peer never closed its side: reset it and end our reads like Go does (EOF).
    this.host.sendControl(FrameType.WindowUpdate, Flag.RST, this.id, 0);
    this.finish();
    this.remoteFin = true;
    this.maybePushEof();
  };

  private clearOpenTimer(): void {
    if (this.openTimer !== null) {
      clearTimeout(this.openTimer);
      this.openTimer = null;
    }
  }

  private clearTimers(): void {
    this.clearOpenTimer();
    if (this.closeTimer !== null) {
      clearTimeout(this.closeTimer);
      this.closeTimer = null;
    }
  }
}

const EMPTY = Buffer.alloc(0);
const ignoreError = (): void => {};
