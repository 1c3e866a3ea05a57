// Chunk segment files `<block>/chunks/000001 …` (Prometheus tsdb/chunks/chunks.go).
//
//   segment: magic 0x85BD40DD <4b> | version 1 <1b> | padding <3b> | chunk …
//   chunk:   len(data) <uvarint> | encoding <1b> | data | CRC32C(encoding + data) <4b>
//
// A chunk ref is (segmentIndex << 32) | offset, with segmentIndex 0-based in the sorted
// list of segment files (000001 → 0) and offset the position of the chunk's len field.
// Refs are JS numbers: exact while segmentIndex < 2^21 (1 PiB of 512 MiB segments).

import fs from 'node:fs';
import path from 'node:path';
import {crc32c} from '../encoding/crc32c.ts';
import {CorruptionError, WriterError} from '../encoding/errors.ts';
import {hex32} from '../encoding/encoding.ts';

export const MAGIC_CHUNKS = 0x85bd40dd;
export const CHUNKS_FORMAT_V1 = 1;
export const SEGMENT_HEADER_SIZE = 8;
/** Go's DefaultChunkSegmentSize. */
export const DEFAULT_CHUNK_SEGMENT_SIZE = 512 * 1024 * 1024;
/** Size estimate Go uses for the len field when deciding to cut a segment. */
export const MAX_CHUNK_LENGTH_FIELD_SIZE = 5;
const TWO32 = 0x1_0000_0000;

export type ChunkRef = number;

export function chunkRef(segmentIndex: number, offset: number): ChunkRef {
  return segmentIndex * TWO32 + offset;
}

export function chunkRefSegment(ref: ChunkRef): number {
  return Math.floor(ref / TWO32);
}

export function chunkRefOffset(ref: ChunkRef): number {
  return ref % TWO32;
}

/** File name of the 0-based segment index (000001 for 0). */
export function segmentFileName(index: number): string {
  return String(index + 1).padStart(6, '0');
}

export interface ChunkWriterOptions {
  /** Start a new segment before a chunk would push the file past this many bytes. */
  segmentSize?: number;
  /** fsync each segment before closing it (default true). */
  fsync?: boolean;
}

/**
 * Writes chunks into numbered segment files in `dir` (the block's chunks/ directory,
 * created if missing). Chunks must be written in index order.
 */
export class ChunkWriter {
  private readonly dir: string;
  private readonly segmentSize: number;
  private readonly fsync: boolean;
  private fd = -1;
  private segIndex = -1;
  /** Bytes in the current segment (written + buffered). */
  private size = 0;
  private buf = Buffer.allocUnsafe(1 << 20);
  private bufLen = 0;
  private closed = false;
  /** Segment files written so far (paths). */
  readonly files: string[] = [];
  /** Bytes written across all segments. */
  totalBytes = 0;

  constructor(dir: string, opts: ChunkWriterOptions = {}) {
    this.dir = dir;
    this.segmentSize = opts.segmentSize ?? DEFAULT_CHUNK_SEGMENT_SIZE;
    this.fsync = opts.fsync ?? true;
    if (this.segmentSize < SEGMENT_HEADER_SIZE + 16 || this.segmentSize > 0xffff_ffff) {
      throw new WriterError(`invalid segment size ${this.segmentSize}`);
    }
    fs.mkdirSync(dir, {recursive: true});
  }

  /** Writes one chunk and returns its ref. `data` is copied. */
  writeChunk(encoding: number, data: Uint8Array): ChunkRef {
    if (this.closed) throw new WriterError('chunk writer closed');
    const est = MAX_CHUNK_LENGTH_FIELD_SIZE + 1 + data.length + 4;
    if (this.fd < 0 || (this.size > SEGMENT_HEADER_SIZE && this.size + est > this.segmentSize)) this.cut();
    const ref = chunkRef(this.segIndex, this.size);
    this.reserve(est);
    const b = this.buf;
    let n = this.bufLen;
    let l = data.length;
    while (l >= 0x80) {
      b[n++] = (l & 0x7f) | 0x80;
      l >>>= 7;
    }
    b[n++] = l;
    const encAt = n;
    b[n++] = encoding;
    b.set(data, n);
    n += data.length;
    b.writeUInt32BE(crc32c(b, encAt, n), n);
    n += 4;
    this.size += n - this.bufLen;
    this.totalBytes += n - this.bufLen;
    this.bufLen = n;
    return ref;
  }

  private reserve(n: number): void {
    if (this.bufLen + n <= this.buf.length) return;
    this.flush();
    if (n > this.buf.length) this.buf = Buffer.allocUnsafe(n);
  }

  private flush(): void {
    let off = 0;
    while (off < this.bufLen) off += fs.writeSync(this.fd, this.buf, off, this.bufLen - off);
    this.bufLen = 0;
  }

  private finishSegment(): void {
    if (this.fd < 0) return;
    this.flush();
    if (this.fsync) fs.fsyncSync(this.fd);
    fs.closeSync(this.fd);
    this.fd = -1;
  }

  private cut(): void {
    this.finishSegment();
    this.segIndex++;
    const file = path.join(this.dir, segmentFileName(this.segIndex));
    this.fd = fs.openSync(file, 'w', 0o644);
    this.files.push(file);
    this.buf.writeUInt32BE(MAGIC_CHUNKS, 0);
    this.buf[4] = CHUNKS_FORMAT_V1;
    this.buf[5] = this.buf[6] = this.buf[7] = 0;
    this.bufLen = SEGMENT_HEADER_SIZE;
    this.size = SEGMENT_HEADER_SIZE;
    this.totalBytes += SEGMENT_HEADER_SIZE;
  }

  /** Flushes, fsyncs and closes. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.finishSegment();
  }

  /**
   * Closes the open segment without flushing (error path). A failed write (ENOSPC) must
   * not leave the descriptor open: the deleted file would keep its space until exit.
   */
  abort(): void {
    this.closed = true;
    this.bufLen = 0;
    if (this.fd >= 0) {
      const fd = this.fd;
      this.fd = -1;
      fs.closeSync(fd);
    }
  }
}

/** One decoded chunk as stored. `data` is a view valid until the next read. */
export interface RawChunk {
  encoding: number;
  data: Uint8Array;
}

interface Segment {
  file: string;
  fd: number;
  size: number;
  winStart: number;
  win: Buffer;
  winLen: number;
}

const WINDOW = 1 << 20;

/**
 * Reads chunks by ref from a block's chunks/ directory. Opening checks every segment's
 * header (as Prometheus does at block open); chunk CRCs are checked on read.
 * All failures are CorruptionErrors naming the segment file and offset.
 */
export class ChunkReader {
  private readonly segs: Segment[] = [];

  private constructor() {}

  static open(dir: string): ChunkReader {
    const r = new ChunkReader();
    let names: string[];
    try {
      names = fs.readdirSync(dir);
    } catch (e) {
      throw new CorruptionError(dir, -1, `list chunk segments: ${(e as Error).message}`, {cause: e});
    }
    const segNames = names.filter((n) => /^[0-9]+$/.test(n)).sort((a, b) => Number(a) - Number(b));
    try {
      for (const n of segNames) {
        const file = path.join(dir, n);
        const fd = fs.openSync(file, 'r');
        const seg: Segment = {file, fd, size: fs.fstatSync(fd).size, winStart: 0, win: Buffer.alloc(0), winLen: 0};
        r.segs.push(seg);
        if (seg.size < SEGMENT_HEADER_SIZE) {
          throw new CorruptionError(file, 0, `segment too short (${seg.size} bytes)`);
        }
        const h = Buffer.alloc(SEGMENT_HEADER_SIZE);
        fs.readSync(fd, h, 0, SEGMENT_HEADER_SIZE, 0);
        if (h.readUInt32BE(0) !== MAGIC_CHUNKS) {
          throw new CorruptionError(file, 0, `invalid magic number ${hex32(h.readUInt32BE(0))}`);
        }
        if (h[4] !== CHUNKS_FORMAT_V1) throw new CorruptionError(file, 4, `invalid chunk format version ${h[4]}`);
      }
    } catch (e) {
      r.close();
      throw e;
    }
    return r;
  }

  /** Segment file paths in ref order. */
  segmentFiles(): string[] {
    return this.segs.map((s) => s.file);
  }

  segmentSize(index: number): number {
    return this.segs[index]?.size ?? -1;
  }

  private window(seg: Segment, off: number, n: number): Buffer {
    if (off >= seg.winStart && off + n <= seg.winStart + seg.winLen) {
      return seg.win.subarray(off - seg.winStart, off - seg.winStart + n);
    }
    const want = Math.max(n, WINDOW);
    if (seg.win.length < want) seg.win = Buffer.allocUnsafe(want);
    const got = fs.readSync(seg.fd, seg.win, 0, Math.min(want, seg.size - off), off);
    seg.winStart = off;
    seg.winLen = got;
    return seg.win.subarray(0, Math.min(n, got));
  }

  /** Reads and CRC-checks the chunk at ref. */
  chunk(ref: ChunkRef): RawChunk {
    const si = chunkRefSegment(ref);
    const off = chunkRefOffset(ref);
    const seg = this.segs[si];
    if (seg === undefined) {
      throw new CorruptionError(this.segs[0]?.file ?? 'chunks', -1, `chunk ref ${ref}: segment index ${si} does not exist`);
    }
    if (off < SEGMENT_HEADER_SIZE || off >= seg.size) {
      throw new CorruptionError(seg.file, off, `chunk ref offset ${off} out of range (segment size ${seg.size})`);
    }
    const head = this.window(seg, off, Math.min(6, seg.size - off));
    let l = 0;
    let mul = 1;
    let i = 0;
    for (; i < 5 && i < head.length; i++) {
      l += (head[i] & 0x7f) * mul;
      if (head[i] < 0x80) break;
      mul *= 0x80;
    }
    if (i >= 5 || i >= head.length) throw new CorruptionError(seg.file, off, 'invalid chunk length varint');
    const start = off + i + 1; // encoding byte
    if (start + 1 + l + 4 > seg.size) {
      throw new CorruptionError(seg.file, off, `chunk length ${l} runs past end of segment (size ${seg.size})`);
    }
    const body = this.window(seg, start, 1 + l + 4);
    const want = body.readUInt32BE(1 + l);
    const got = crc32c(body, 0, 1 + l);
    if (want !== got) {
      throw new CorruptionError(seg.file, off, `checksum mismatch (stored ${hex32(want)}, computed ${hex32(got)})`);
    }
    return {encoding: body[0], data: body.subarray(1, 1 + l)};
  }

  close(): void {
    for (const s of this.segs) {
      if (s.fd >= 0) fs.closeSync(s.fd);
      s.fd = -1;
    }
  }
}
