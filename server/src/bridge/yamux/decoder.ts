// Incremental frame decoder: push socket chunks in, get whole frames out.
// Frames may straddle chunks at any byte; partial tails wait for the next push.
// It knows nothing about sockets or sessions.

import {ReceiveWindowExceededError} from './errors.ts';
import {decodeHeader, FrameType, HEADER_LENGTH, type FrameHeader} from './frame.ts';

/** A complete frame. Only Data frames have a non-empty payload. */
export interface Frame {
  readonly header: FrameHeader;
  /**
   * Data payload (`header.length` bytes). When the payload sat inside one input chunk
   * this is a view of that chunk (no copy); otherwise the pieces were joined.
   */
  readonly payload: Buffer;
}

/** A complete frame whose payload is left in the pieces it arrived in (no copy). */
export interface FramePieces {
  readonly header: FrameHeader;
  /** Views of the input chunks, `header.length` bytes in all; empty when no payload. */
  readonly pieces: readonly Buffer[];
}

const EMPTY = Buffer.alloc(0);
const NO_PIECES: readonly Buffer[] = Object.freeze([]);

export interface FrameDecoderOptions {
  /**
   * Largest Data payload accepted, in bytes. A larger Data header throws
   * ReceiveWindowExceededError before any of its payload is buffered, so a bogus length
   * cannot make the decoder hold gigabytes. Default: no limit.
   */
  maxDataLength?: number;
}

export class FrameDecoder {
  /** Input chunks; those before `head` are used up, as are `headOffset` bytes of chunks[head]. */
  private chunks: Buffer[] = [];
  private head = 0;
  private headOffset = 0;
  /** Unconsumed bytes across all chunks. */
  private available = 0;
  /** Header of a Data frame whose payload is still incomplete. */
  private pendingHeader: FrameHeader | null = null;
  private readonly maxDataLength: number;
  private readonly scratch = Buffer.allocUnsafe(HEADER_LENGTH);

  constructor(options: FrameDecoderOptions = {}) {
    this.maxDataLength = options.maxDataLength ?? Infinity;
  }

  /** Bytes received but not yet returned as part of a frame. */
  get bufferedBytes(): number {
    return this.available;
  }

  /** True when no partial frame is waiting for more input. */
  get idle(): boolean {
    return this.available === 0 && this.pendingHeader === null;
  }

  /**
   * Adds a chunk and yields every frame now complete. Throws InvalidFrameError on a
   * malformed header and ReceiveWindowExceededError on an over-long Data frame; the
   * decoder must not be used after it threw.
   */
  *push(chunk: Uint8Array): Generator<Frame, void, undefined> {
    for (const frame of this.pushPieces(chunk)) {
      const {pieces} = frame;
      const payload = pieces.length === 0 ? EMPTY : pieces.length === 1 ? pieces[0] : Buffer.concat(pieces, frame.header.length);
      yield {header: frame.header, payload};
    }
  }

  /**
   * Same as push(), but a payload that straddles input chunks comes as several views
   * instead of being copied into one buffer (what the session uses).
   */
  *pushPieces(chunk: Uint8Array): Generator<FramePieces, void, undefined> {
    if (chunk.length > 0) {
      this.chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length));
      this.available += chunk.length;
    }
    while (true) {
      let header = this.pendingHeader;
      if (header === null) {
        if (this.available < HEADER_LENGTH) return;
        header = this.readHeader();
        if (header.type !== FrameType.Data || header.length === 0) {
          yield {header, pieces: NO_PIECES};
          continue;
        }
        if (header.length > this.maxDataLength) {
          throw new ReceiveWindowExceededError(
            `data frame of ${header.length} bytes on stream ${header.streamId} exceeds the largest window ${this.maxDataLength}`,
          );
        }
        this.pendingHeader = header;
      }
      if (this.available < header.length) return;
      this.pendingHeader = null;
      yield {header, pieces: this.takePieces(header.length)};
    }
  }

  private readHeader(): FrameHeader {
    const first = this.chunks[this.head];
    if (first.length - this.headOffset >= HEADER_LENGTH) {
      const header = decodeHeader(first, this.headOffset);
      this.consume(HEADER_LENGTH);
      return header;
    }
    this.copyOut(this.scratch, HEADER_LENGTH);
    return decodeHeader(this.scratch, 0);
  }

  /** Removes n bytes (n ≤ available) and returns them as views of the input chunks. */
  private takePieces(n: number): Buffer[] {
    const pieces: Buffer[] = [];
    while (n > 0) {
      const chunk = this.chunks[this.head];
      const count = Math.min(n, chunk.length - this.headOffset);
      pieces.push(this.headOffset === 0 && count === chunk.length ? chunk : chunk.subarray(this.headOffset, this.headOffset + count));
      n -= count;
      this.consume(count);
    }
    return pieces;
  }

  /** Copies n bytes (n ≤ available) into target and consumes them. */
  private copyOut(target: Buffer, n: number): void {
    let written = 0;
    while (written < n) {
      const chunk = this.chunks[this.head];
      const count = Math.min(n - written, chunk.length - this.headOffset);
      chunk.copy(target, written, this.headOffset, this.headOffset + count);
      written += count;
      this.consume(count);
    }
  }

  /** Advances past n bytes of chunks[head] (n ≤ what it has left), dropping it when used up. */
  private consume(n: number): void {
    this.available -= n;
    this.headOffset += n;
    if (this.headOffset === this.chunks[this.head].length) {
      this.headOffset = 0;
      this.chunks[this.head++] = EMPTY; // let the used chunk go
      if (this.head === this.chunks.length) {
        this.chunks = [];
        this.head = 0;
      } else if (this.head >= 64 && this.head * 2 >= this.chunks.length) {
        this.chunks = this.chunks.slice(this.head);
        this.head = 0;
      }
    }
  }
}
