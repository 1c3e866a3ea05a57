// A frame sniffer for tests: taps one end of a connection (every chunk it reads and
// every write made to it), parses both directions with its own naive streaming
// parser, counts frames, and checks flow control: in each direction, the Data bytes
// of a stream never exceed 256 KiB plus the window updates the other direction had
// sent by then.

import type {Duplex} from 'node:stream';
import {frameKey, T_DATA, T_WINDOW_UPDATE} from './naive-codec.ts';

export type Direction = 'out' | 'in';
const INITIAL_WINDOW = 256 * 1024;

export interface SniffedHeader {
  type: number;
  flags: number;
  streamId: number;
  length: number;
}

class StreamingParser {
  private header = Buffer.alloc(12);
  private headerFill = 0;
  private skip = 0;
  constructor(private readonly onFrame: (h: SniffedHeader) => void) {}

  feed(chunk: Buffer): void {
    let at = 0;
    while (at < chunk.length) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, chunk.length - at);
        this.skip -= n;
        at += n;
        continue;
      }
      const n = Math.min(12 - this.headerFill, chunk.length - at);
      chunk.copy(this.header, this.headerFill, at, at + n);
      this.headerFill += n;
      at += n;
      if (this.headerFill < 12) return;
      this.headerFill = 0;
      const h = {
        type: this.header.readUInt8(1),
        flags: this.header.readUInt16BE(2),
        streamId: this.header.readUInt32BE(4),
        length: this.header.readUInt32BE(8),
      };
      if (h.type === T_DATA) this.skip = h.length;
      this.onFrame(h);
    }
  }
}

export class Sniffer {
  readonly counts: Record<Direction, Map<string, number>> = {out: new Map(), in: new Map()};
  readonly dataBytes: Record<Direction, number> = {out: 0, in: 0};
  readonly largestDataFrame: Record<Direction, number> = {out: 0, in: 0};
  readonly violations: string[] = [];
  /** Every header seen, in order, when recording is on. */
  readonly log: Array<{dir: Direction} & SniffedHeader> = [];
  private readonly credit: Record<Direction, Map<number, number>> = {out: new Map(), in: new Map()};
  private readonly parsers: Record<Direction, StreamingParser>;

  private constructor(private readonly record: boolean) {
    this.parsers = {
      out: new StreamingParser((h) => this.onFrame('out', h)),
      in: new StreamingParser((h) => this.onFrame('in', h)),
    };
  }

  /** Taps `conn`; call before the Session is built on it, so inbound is seen first. */
  static attach(conn: Duplex, options: {record?: boolean} = {}): Sniffer {
    const sniffer = new Sniffer(options.record ?? false);
    conn.on('data', (chunk: Buffer) => sniffer.parsers.in.feed(chunk));
    const write = conn.write.bind(conn) as (...args: unknown[]) => boolean;
    (conn as {write: unknown}).write = (chunk: unknown, ...rest: unknown[]): boolean => {
      if (Buffer.isBuffer(chunk)) sniffer.parsers.out.feed(chunk);
      return write(chunk, ...rest);
    };
    return sniffer;
  }

  count(dir: Direction, key: string): number {
    return this.counts[dir].get(key) ?? 0;
  }

  private onFrame(dir: Direction, h: SniffedHeader): void {
    const key = frameKey(h);
    this.counts[dir].set(key, (this.counts[dir].get(key) ?? 0) + 1);
    if (this.record) this.log.push({dir, ...h});
    const other: Direction = dir === 'out' ? 'in' : 'out';
    if (h.type === T_DATA) {
      this.dataBytes[dir] += h.length;
      this.largestDataFrame[dir] = Math.max(this.largestDataFrame[dir], h.length);
      const left = (this.credit[dir].get(h.streamId) ?? INITIAL_WINDOW) - h.length;
      this.credit[dir].set(h.streamId, left);
      if (left < 0) this.violations.push(`${dir} stream ${h.streamId}: window exceeded by ${-left} bytes`);
    } else if (h.type === T_WINDOW_UPDATE) {
      // An update sent in direction `dir` grants credit to the other direction's sender.
      this.credit[other].set(h.streamId, (this.credit[other].get(h.streamId) ?? INITIAL_WINDOW) + h.length);
    }
  }
}
