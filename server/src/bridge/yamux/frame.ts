// Wire constants and the 12-byte frame header codec (SPEC.md §1–§3).
//
// Every yamux frame starts with this header, big-endian:
//
//   ┌─────────┬──────┬─────────┬─────────────┬─────────────┐
//   │ version │ type │  flags  │  stream id  │   length    │
//   │  <1b>   │ <1b> │  <2b>   │    <4b>     │    <4b>     │
//   └─────────┴──────┴─────────┴─────────────┴─────────────┘
//
// Only Data frames carry a payload (`length` bytes follow the header). For the
// other types `length` is a value: a window delta, a ping id or a go-away code.

import {InvalidFrameError} from './errors.ts';

/** The only protocol version there is (SPEC.md §1). */
export const PROTOCOL_VERSION = 0;

/** Frame types (SPEC.md §2). */
export const FrameType = {
  /** Stream payload; `length` = payload byte count. */
  Data: 0,
  /** Stream window delta and/or stream flags; no payload. */
  WindowUpdate: 1,
  /** Session liveness probe on stream 0; `length` = opaque id echoed back. */
  Ping: 2,
  /** Session termination notice on stream 0; `length` = GoAwayCode. */
  GoAway: 3,
} as const;
export type FrameType = (typeof FrameType)[keyof typeof FrameType];

/** Frame flags, bit-or'ed; always test with `&` (SPEC.md §3). */
export const Flag = {
  /** Opens a stream (or marks a ping request). */
  SYN: 0x1,
  /** Acknowledges a stream open (or marks a ping reply). */
  ACK: 0x2,
  /** Half-close: the sender will send no more data on the stream. */
  FIN: 0x4,
  /** Hard close / reject of a stream. */
  RST: 0x8,
} as const;
export type Flag = (typeof Flag)[keyof typeof Flag];

/** Codes carried by a GoAway frame (SPEC.md §6). */
export const GoAwayCode = {
  Normal: 0,
  ProtocolError: 1,
  InternalError: 2,
} as const;
export type GoAwayCode = (typeof GoAwayCode)[keyof typeof GoAwayCode];

export const SIZE_OF_VERSION = 1;
export const SIZE_OF_TYPE = 1;
export const SIZE_OF_FLAGS = 2;
export const SIZE_OF_STREAM_ID = 4;
export const SIZE_OF_LENGTH = 4;
/** Bytes in a frame header: 12. */
export const HEADER_LENGTH = SIZE_OF_VERSION + SIZE_OF_TYPE + SIZE_OF_FLAGS + SIZE_OF_STREAM_ID + SIZE_OF_LENGTH;

/** Every stream starts with this send and receive window, in bytes (SPEC.md §5). */
export const INITIAL_STREAM_WINDOW = 256 * 1024;

/** Largest value of a 32-bit header field. */
export const MAX_UINT32 = 0xffff_ffff;

/** One decoded frame header. */
export interface FrameHeader {
  /** Protocol version; always PROTOCOL_VERSION once decoded. */
  readonly version: number;
  /** Frame type. */
  readonly type: FrameType;
  /** Bit set of Flag values. */
  readonly flags: number;
  /** Stream the frame belongs to; 0 = the session (Ping, GoAway). */
  readonly streamId: number;
  /** Payload bytes (Data), window delta (WindowUpdate), ping id (Ping) or code (GoAway). */
  readonly length: number;
}

/**
 * Encodes a header. Writes into `target` at `offset` when given, otherwise into a
 * new 12-byte buffer; returns the buffer written to.
 */
export function encodeHeader(header: Omit<FrameHeader, 'version'> & {version?: number}, target?: Buffer, offset = 0): Buffer {
  return encodeHeaderFields(header.type, header.flags, header.streamId, header.length, target, offset, header.version ?? PROTOCOL_VERSION);
}

/** Same as encodeHeader, without building an object first (the hot path). */
export function encodeHeaderFields(
  type: number,
  flags: number,
  streamId: number,
  length: number,
  target: Buffer = Buffer.allocUnsafe(HEADER_LENGTH),
  offset = 0,
  version: number = PROTOCOL_VERSION,
): Buffer {
  target[offset] = version;
  target[offset + 1] = type;
  target.writeUInt16BE(flags, offset + 2);
  target.writeUInt32BE(streamId, offset + 4);
  target.writeUInt32BE(length, offset + 8);
  return target;
}

/**
 * Decodes the header at `offset`. Throws InvalidFrameError when fewer than 12 bytes
 * are there, the version is not 0, or the type is unknown (> 3).
 */
export function decodeHeader(buf: Uint8Array, offset = 0): FrameHeader {
  if (buf.length - offset < HEADER_LENGTH) {
    throw new InvalidFrameError(`short frame header: ${buf.length - offset} of ${HEADER_LENGTH} bytes`);
  }
  const version = buf[offset];
  if (version !== PROTOCOL_VERSION) {
    throw new InvalidFrameError(`invalid protocol version ${version}`);
  }
  const type = buf[offset + 1];
  if (type > FrameType.GoAway) {
    throw new InvalidFrameError(`invalid frame type ${type}`);
  }
  // Multiply the top byte instead of shifting it so the 32-bit values never go negative.
  const flags = (buf[offset + 2] << 8) | buf[offset + 3];
  const streamId = buf[offset + 4] * 0x100_0000 + ((buf[offset + 5] << 16) | (buf[offset + 6] << 8) | buf[offset + 7]);
  const length = buf[offset + 8] * 0x100_0000 + ((buf[offset + 9] << 16) | (buf[offset + 10] << 8) | buf[offset + 11]);
  return {version, type: type as FrameType, flags, streamId, length};
}

const TYPE_NAMES = ['Data', 'WindowUpdate', 'Ping', 'GoAway'];

/** Name of a frame type, for logs. */
export function stringifyFrameType(type: number): string {
  return TYPE_NAMES[type] ?? `Unknown(${type})`;
}

/** "SYN|FIN" style rendering of a flag set, for logs. */
export function stringifyFlags(flags: number): string {
  const names: string[] = [];
  for (const [name, bit] of Object.entries(Flag)) {
    if (flags & bit) names.push(name);
  }
  const rest = flags & ~0xf;
  if (rest) names.push(`0x${rest.toString(16)}`);
  return names.length ? names.join('|') : '0';
}

/** One-line rendering of a header, for logs. */
export function stringifyHeader(h: FrameHeader): string {
  return `{version:${h.version} type:${stringifyFrameType(h.type)} flags:${stringifyFlags(h.flags)} stream:${h.streamId} length:${h.length}}`;
}
