// A yamux session over one reliable byte stream (SPEC.md §4–§7): frame dispatch,
// open/accept, ping and keepalive, go-away, and teardown.
//
// Roles: the client opens odd stream ids, the server even ones. In go-plugin the
// Mattermost server is the client and the plugin the server.

import {EventEmitter} from 'node:events';
import type {Duplex} from 'node:stream';
import {defaultConfig, verifyConfig, type YamuxConfig} from './config.ts';
import {FrameDecoder} from './decoder.ts';
import {
  ConnectionError,
  DuplicateStreamError,
  GoAwayError,
  InvalidStreamIdError,
  KeepAliveTimeoutError,
  PingTimeoutError,
  ProtocolError,
  RemoteGoAwayError,
  SessionClosedError,
  StreamOpenTimeoutError,
  StreamsExhaustedError,
  WriteTimeoutError,
  YamuxError,
} from './errors.ts';
import {Flag, FrameType, GoAwayCode, MAX_UINT32, type FrameHeader} from './frame.ts';
import {Stream, type StreamHost} from './stream.ts';
import {FrameWriter} from './writer.ts';

export type Role = 'client' | 'server';

interface PendingPing {
  readonly startedAt: number;
  readonly timer: NodeJS.Timeout;
  readonly resolve: (rttMs: number) => void;
  readonly reject: (err: Error) => void;
}

interface AcceptWaiter {
  readonly resolve: (stream: Stream) => void;
  readonly reject: (err: Error) => void;
}

/**
 * Multiplexes streams over `conn`.
 *
 * Events: `'close' (err?: Error)`, emitted exactly once, on the tick after the
 * session ended for whatever reason: close(), connection EOF (err undefined),
 * connection error (ConnectionError), a protocol error by the peer (a ProtocolError,
 * after we sent GoAway), the peer's error GoAway (GoAwayError), or a timeout
 * (KeepAliveTimeoutError, WriteTimeoutError, StreamOpenTimeoutError).
 *
 * When the session ends, every stream the application holds that is still open at
 * the protocol level is destroyed with a SessionClosedError (its `cause` is the
 * session's error). Streams never crash the process with an unhandled 'error'.
 */
export class Session extends EventEmitter {
  private readonly config: Readonly<YamuxConfig>;
  private readonly conn: Duplex;
  private readonly role: Role;
  private readonly decoder: FrameDecoder;
  private readonly writer: FrameWriter;
  private readonly host: StreamHost;

  private readonly streams = new Map<number, Stream>();
  /** Inbound streams waiting for accept(), oldest first. */
  private backlog: Stream[] = [];
  private acceptWaiters: AcceptWaiter[] = [];
  private nextStreamId: number;

  private localGoAway = false;
  private remoteGoAway = false;
  private closed = false;
  private closeError: Error | undefined;

  private readonly pings = new Map<number, PendingPing>();
  private nextPingId = 0;
  private keepAliveTimer: NodeJS.Timeout | null = null;
  private teardownTimer: NodeJS.Timeout | null = null;

  constructor(conn: Duplex, role: Role, config?: Partial<YamuxConfig>) {
    super();
    if (role !== 'client' && role !== 'server') throw new TypeError(`role must be 'client' or 'server', got ${String(role)}`);
    const merged: YamuxConfig = {...defaultConfig, ...config};
    verifyConfig(merged);
    this.config = Object.freeze(merged);
    this.conn = conn;
    this.role = role;
    this.nextStreamId = role === 'client' ? 1 : 2;
    this.decoder = new FrameDecoder({maxDataLength: merged.maxStreamWindowSize});
    this.writer = new FrameWriter(conn, {
      writeTimeoutMs: merged.connectionWriteTimeoutMs,
      onWriteTimeout: () => this.close(new WriteTimeoutError(merged.connectionWriteTimeoutMs)),
    });
    this.host = {
      config: this.config,
      sendControl: (type, flags, streamId, length) => this.writer.sendControl(type, flags, streamId, length),
      dataReady: (stream) => this.writer.dataReady(stream),
      streamFinished: (stream) => this.forgetStream(stream),
      streamOpenTimedOut: (stream) => this.close(new StreamOpenTimeoutError(stream.id, merged.streamOpenTimeoutMs)),
    };

    const noDelay = (conn as {setNoDelay?: (on: boolean) => unknown}).setNoDelay;
    if (typeof noDelay === 'function') noDelay.call(conn, true);
    conn.on('data', this.onConnData);
    conn.on('end', this.onConnEnd);
    conn.on('error', this.onConnError);
    conn.on('close', this.onConnClose);
    if (conn.destroyed) {
      process.nextTick(() => this.close(new ConnectionError(new Error('connection already closed'))));
    } else if (merged.enableKeepAlive) {
      this.scheduleKeepAlive();
    }
  }

  /** True once the session has ended. */
  get isClosed(): boolean {
    return this.closed;
  }

  /** Streams open at the protocol level, including ones waiting for accept(). */
  get numStreams(): number {
    return this.streams.size;
  }

  /**
   * Opens an outbound stream and sends its SYN at once; the stream is usable
   * immediately (data may flow before the peer's ACK). Throws SessionClosedError,
   * RemoteGoAwayError or StreamsExhaustedError.
   */
  open(): Stream {
    if (this.closed) throw new SessionClosedError(this.closeError);
    if (this.remoteGoAway) throw new RemoteGoAwayError();
    const id = this.nextStreamId;
    if (id >= MAX_UINT32 - 1) throw new StreamsExhaustedError();
    this.nextStreamId += 2;
    const stream = new Stream(this.host, id, true);
    stream.markHandedOut();
    this.streams.set(id, stream);
    stream.sendWindowUpdate(Flag.SYN);
    return stream;
  }

  /**
   * Resolves with the next inbound stream, in arrival order, and sends its ACK.
   * Rejects with SessionClosedError once the session is closed.
   */
  accept(): Promise<Stream> {
    const stream = this.backlog.shift();
    if (stream !== undefined) {
      this.handOut(stream);
      return Promise.resolve(stream);
    }
    if (this.closed) return Promise.reject(new SessionClosedError(this.closeError));
    return new Promise((resolve, reject) => this.acceptWaiters.push({resolve, reject}));
  }

  /** Round-trip time in milliseconds; rejects with PingTimeoutError after connectionWriteTimeoutMs. */
  ping(): Promise<number> {
    if (this.closed) return Promise.reject(new SessionClosedError(this.closeError));
    const id = this.nextPingId;
    this.nextPingId = (this.nextPingId + 1) >>> 0;
    return new Promise((resolve, reject) => {
      const timeoutMs = this.config.connectionWriteTimeoutMs;
      const timer = setTimeout(() => {
        this.pings.delete(id);
        reject(new PingTimeoutError(timeoutMs));
      }, timeoutMs);
      timer.unref();
      this.pings.set(id, {startedAt: performance.now(), timer, resolve, reject});
      this.writer.sendControl(FrameType.Ping, Flag.SYN, 0, id);
    });
  }

  /**
   * Tells the peer we accept no new streams (code 0 by default); later SYNs get RST.
   * The session stays up.
   */
  goAway(code: number = GoAwayCode.Normal): void {
    if (this.closed) return;
    this.localGoAway = true;
    this.writer.sendControl(FrameType.GoAway, 0, 0, code >>> 0);
  }

  /**
   * Ends the session: destroys every open stream, rejects pending accept() and ping(),
   * stops the timers and closes the connection. Idempotent.
   */
  close(err?: Error): void {
    if (this.closed) return;
    this.closed = true;
    this.closeError = err;

    if (this.keepAliveTimer !== null) {
      clearTimeout(this.keepAliveTimer);
      this.keepAliveTimer = null;
    }
    for (const ping of this.pings.values()) {
      clearTimeout(ping.timer);
      ping.reject(new SessionClosedError(err));
    }
    this.pings.clear();
    const waiters = this.acceptWaiters;
    this.acceptWaiters = [];
    for (const waiter of waiters) waiter.reject(new SessionClosedError(err));

    const streams = [...this.streams.values()];
    this.streams.clear();
    this.backlog = [];
    for (const stream of streams) stream.abort(new SessionClosedError(err));

    this.closeConnection(err);
    process.nextTick(() => this.emit('close', err));
  }

  // ---- connection events --------------------------------------------------

  private readonly onConnData = (chunk: Buffer): void => {
    if (this.closed) return;
    try {
      for (const frame of this.decoder.pushPieces(chunk)) {
        this.handleFrame(frame.header, frame.pieces);
        if (this.closed) return;
      }
    } catch (err) {
      this.fail(err);
    }
  };

  private readonly onConnEnd = (): void => {
    if (this.decoder.idle) this.close();
    else this.close(new ConnectionError(new Error('unexpected EOF inside a frame')));
  };

  private readonly onConnError = (err: Error): void => {
    this.close(new ConnectionError(err));
  };

  private readonly onConnClose = (): void => {
    if (this.teardownTimer !== null) {
      clearTimeout(this.teardownTimer);
      this.teardownTimer = null;
    }
    this.close();
  };

  /** Closes the session for an error met while handling input. */
  private fail(err: unknown): void {
    if (err instanceof ProtocolError) {
      this.writer.sendControl(FrameType.GoAway, 0, 0, err.goAwayCode);
      this.close(err);
    } else if (err instanceof YamuxError) {
      this.close(err);
    } else {
      // Not ours to swallow (a bug, or an exception from application code run by a
      // stream event): end the session cleanly, then let it propagate.
      this.writer.sendControl(FrameType.GoAway, 0, 0, GoAwayCode.InternalError);
      this.close(err instanceof Error ? err : new Error(String(err)));
      throw err;
    }
  }

  private closeConnection(err: Error | undefined): void {
    const conn = this.conn;
    const broken =
      err instanceof ConnectionError || err instanceof WriteTimeoutError || err instanceof KeepAliveTimeoutError;
    if (broken || conn.destroyed) {
      this.writer.close();
      conn.destroy();
      return;
    }
    // Flush what control frames are queued (FINs, a GoAway) and half-close; destroy
    // once the peer closes too, or after connectionWriteTimeoutMs at most.
    this.writer.close();
    if (!conn.writableEnded) conn.end();
    const destroyWhenDone = (): void => {
      if (conn.writableFinished && conn.readableEnded) conn.destroy();
    };
    destroyWhenDone();
    if (conn.destroyed) return;
    conn.on('finish', destroyWhenDone);
    conn.on('end', destroyWhenDone);
    this.teardownTimer = setTimeout(() => {
      this.teardownTimer = null;
      conn.destroy();
    }, this.config.connectionWriteTimeoutMs);
    this.teardownTimer.unref();
  }

  // ---- frame dispatch -----------------------------------------------------

  private handleFrame(header: FrameHeader, payload: readonly Buffer[]): void {
    switch (header.type) {
      case FrameType.Data:
      case FrameType.WindowUpdate:
        this.handleStreamFrame(header, payload);
        return;
      case FrameType.Ping:
        this.handlePing(header);
        return;
      case FrameType.GoAway:
        this.handleGoAway(header);
        return;
    }
  }

  private handleStreamFrame(header: FrameHeader, payload: readonly Buffer[]): void {
    const id = header.streamId;
    if (header.flags & Flag.SYN) this.incomingStream(id);
    const stream = this.streams.get(id);
    // Frames for unknown streams (closed or reset by us) are dropped, as Go does.
    if (stream === undefined) return;
    if (header.type === FrameType.WindowUpdate) stream.handleWindowUpdate(header.flags, header.length);
    else stream.handleData(header.flags, payload, header.length);
  }

  private incomingStream(id: number): void {
    const peerOpensOdd = this.role === 'server';
    if (id === 0 || (id % 2 === 1) !== peerOpensOdd) {
      throw new InvalidStreamIdError(`peer opened stream ${id}, which is not its to open`);
    }
    if (this.localGoAway) {
      this.writer.sendControl(FrameType.WindowUpdate, Flag.RST, id, 0);
      return;
    }
    if (this.streams.has(id)) throw new DuplicateStreamError(`duplicate stream ${id}`);
    if (this.backlog.length >= this.config.acceptBacklog) {
      this.writer.sendControl(FrameType.WindowUpdate, Flag.RST, id, 0);
      return;
    }
    const stream = new Stream(this.host, id, false);
    this.streams.set(id, stream);
    const waiter = this.acceptWaiters.shift();
    if (waiter === undefined) {
      this.backlog.push(stream);
    } else {
      this.handOut(stream);
      waiter.resolve(stream);
    }
  }

  private handOut(stream: Stream): void {
    stream.markHandedOut();
    stream.sendWindowUpdate(Flag.ACK);
  }

  private forgetStream(stream: Stream): void {
    if (this.streams.get(stream.id) === stream) this.streams.delete(stream.id);
    this.writer.remove(stream);
    const i = this.backlog.indexOf(stream);
    if (i >= 0) this.backlog.splice(i, 1);
  }

  private handlePing(header: FrameHeader): void {
    if (header.flags & Flag.SYN) {
      this.writer.sendControl(FrameType.Ping, Flag.ACK, 0, header.length);
      return;
    }
    const ping = this.pings.get(header.length);
    if (ping === undefined) return;
    this.pings.delete(header.length);
    clearTimeout(ping.timer);
    ping.resolve(performance.now() - ping.startedAt);
  }

  private handleGoAway(header: FrameHeader): void {
    if (header.length === GoAwayCode.Normal) {
      this.remoteGoAway = true;
      return;
    }
    throw new GoAwayError(header.length);
  }

  // ---- keepalive ----------------------------------------------------------

  private scheduleKeepAlive(): void {
    this.keepAliveTimer = setTimeout(() => {
      this.keepAliveTimer = null;
      this.ping().then(
        () => {
          if (!this.closed) this.scheduleKeepAlive();
        },
        (err: Error) => {
          if (!this.closed) this.close(new KeepAliveTimeoutError({cause: err}));
        },
      );
    }, this.config.keepAliveIntervalMs);
    this.keepAliveTimer.unref();
  }
}
