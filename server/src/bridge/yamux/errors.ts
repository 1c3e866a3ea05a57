// Every error this package raises. All of them extend YamuxError, so a caller can
// tell our failures from anything else with one instanceof test.
//
// ProtocolError and its subclasses mean the *peer* broke the protocol: the session
// answers them with GoAway(goAwayCode) and closes. The others describe local
// conditions (timeouts, closed session, reset stream).

// The frame codes are spelled out here instead of imported from frame.ts, which
// imports this file.
const GO_AWAY_PROTOCOL_ERROR = 1;

/** Base class of every yamux error. */
export class YamuxError extends Error {
  override name = 'YamuxError';
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
  }
}

/** The peer violated the protocol; the session sends GoAway(goAwayCode) and closes. */
export class ProtocolError extends YamuxError {
  override name = 'ProtocolError';
  /** Code sent in the GoAway frame before the session closes. */
  readonly goAwayCode: number;
  constructor(message: string, goAwayCode: number = GO_AWAY_PROTOCOL_ERROR, options?: ErrorOptions) {
    super(message, options);
    this.goAwayCode = goAwayCode;
  }
}

/** A frame header is malformed: wrong version, unknown type, or cut short. */
export class InvalidFrameError extends ProtocolError {
  override name = 'InvalidFrameError';
}

/** The peer sent more Data on a stream than our receive window allowed. */
export class ReceiveWindowExceededError extends ProtocolError {
  override name = 'ReceiveWindowExceededError';
}

/** The peer opened (SYN) a stream id that is still in use. */
export class DuplicateStreamError extends ProtocolError {
  override name = 'DuplicateStreamError';
}

/** The peer opened a stream with an id it may not use (0, or our parity). */
export class InvalidStreamIdError extends ProtocolError {
  override name = 'InvalidStreamIdError';
}

/** A flag arrived that the stream's state does not allow (a second FIN). */
export class UnexpectedFlagError extends ProtocolError {
  override name = 'UnexpectedFlagError';
}

/** The peer sent GoAway with an error code (or an unknown code); the session closed. */
export class GoAwayError extends YamuxError {
  override name = 'GoAwayError';
  /** The code the peer sent. */
  readonly code: number;
  constructor(code: number) {
    const what = code === 1 ? 'protocol error' : code === 2 ? 'internal error' : `unexpected code ${code}`;
    super(`peer sent go away: ${what}`);
    this.code = code;
  }
}

/** The peer sent GoAway(normal): it accepts no new streams, so open() refuses. */
export class RemoteGoAwayError extends YamuxError {
  override name = 'RemoteGoAwayError';
  constructor() {
    super('peer sent go away: no new streams');
  }
}

/** The session is closed; `cause` holds the reason when it ended abnormally. */
export class SessionClosedError extends YamuxError {
  override name = 'SessionClosedError';
  constructor(cause?: Error) {
    super(cause ? `session closed: ${cause.message}` : 'session closed', cause ? {cause} : undefined);
  }
}

/** The stream was reset (RST) by the peer. */
export class StreamResetError extends YamuxError {
  override name = 'StreamResetError';
  constructor(streamId: number) {
    super(`stream ${streamId} reset by peer`);
  }
}

/** The stream was closed locally while a write was still waiting. */
export class StreamClosedError extends YamuxError {
  override name = 'StreamClosedError';
  constructor(streamId: number) {
    super(`stream ${streamId} closed`);
  }
}

/** All stream ids of our parity are used up. */
export class StreamsExhaustedError extends YamuxError {
  override name = 'StreamsExhaustedError';
  constructor() {
    super('stream ids exhausted');
  }
}

/** A ping got no answer within connectionWriteTimeoutMs. */
export class PingTimeoutError extends YamuxError {
  override name = 'PingTimeoutError';
  readonly timeout = true;
  constructor(timeoutMs: number) {
    super(`ping not answered within ${timeoutMs} ms`);
  }
}

/** A keepalive ping got no answer; the session was closed. */
export class KeepAliveTimeoutError extends YamuxError {
  override name = 'KeepAliveTimeoutError';
  readonly timeout = true;
  constructor(options?: ErrorOptions) {
    super('keepalive timeout', options);
  }
}

/** Queued frames could not be flushed to the connection in time; the session was closed. */
export class WriteTimeoutError extends YamuxError {
  override name = 'WriteTimeoutError';
  readonly timeout = true;
  constructor(timeoutMs: number) {
    super(`connection write timeout: no progress for ${timeoutMs} ms`);
  }
}

/** An opened stream got no ACK within streamOpenTimeoutMs; the session was closed. */
export class StreamOpenTimeoutError extends YamuxError {
  override name = 'StreamOpenTimeoutError';
  readonly timeout = true;
  constructor(streamId: number, timeoutMs: number) {
    super(`stream ${streamId} not acknowledged within ${timeoutMs} ms`);
  }
}

/** The underlying connection failed; `cause` holds its error. */
export class ConnectionError extends YamuxError {
  override name = 'ConnectionError';
  constructor(cause: unknown) {
    super(`connection error: ${cause instanceof Error ? cause.message : String(cause)}`, {cause});
  }
}

/** verifyConfig rejected a configuration value. */
export class ConfigError extends YamuxError {
  override name = 'ConfigError';
}

/** True for errors that make the session send GoAway before closing. */
export function isProtocolError(err: unknown): err is ProtocolError {
  return err instanceof ProtocolError;
}
