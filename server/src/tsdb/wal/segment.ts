// Segment files: `NNNNNNNN` (8 decimal digits) in the WAL directory and in checkpoints.
//
//   segment := magic 0x4D4D5741 ("MMWA") <4b> | version 1 <1b> | reserved 0 <3b> | record*
//
// See ./README.md for the record framing (record.ts).

import {crc32c} from '../encoding/crc32c.ts';
import {MAX_RECORD_PAYLOAD, RECORD_HEADER_LEN, RECORD_OVERHEAD, RecordDecodeError} from './record.ts';

export const SEGMENT_MAGIC = 0x4d4d5741;
export const SEGMENT_VERSION = 1;
export const SEGMENT_HEADER_LEN = 8;

export function segmentHeader(): Uint8Array {
  const b = new Uint8Array(SEGMENT_HEADER_LEN);
  new DataView(b.buffer).setUint32(0, SEGMENT_MAGIC);
  b[4] = SEGMENT_VERSION;
  return b;
}

export function segmentName(index: number): string {
  return String(index).padStart(8, '0');
}

/** Index of a segment file name, or null if the name is not a segment. */
export function parseSegmentName(name: string): number | null {
  return /^\d{8}$/.test(name) ? Number(name) : null;
}

/** Where a segment stops being readable. */
export interface SegmentProblem {
  /** Byte offset of the first bad record (the file is good before it). */
  offset: number;
  message: string;
  /**
   * True when the damage looks like an interrupted write: the bad record runs to or past
   * the end of the file, or only zero bytes follow. False: bytes after it look written
   * (a flipped bit, a lost page) — real corruption.
   */
  torn: boolean;
}

export interface ScanResult {
  /** End of the last good record (or of the header). */
  goodEnd: number;
  records: number;
  problem: SegmentProblem | null;
}

function allZero(buf: Uint8Array, from: number): boolean {
  for (let i = from; i < buf.length; i++) if (buf[i] !== 0) return false;
  return true;
}

/**
 * Reads every record of a segment's bytes in order, calling `visit(type, payload)`.
 * Stops at the first bad record (short, bad length, bad type, CRC mismatch, or a
 * RecordDecodeError thrown by `visit`) and reports it; never throws for bad data.
 */
export function scanSegment(
  buf: Uint8Array,
  visit: (type: number, payload: Uint8Array) => void,
  validType: (type: number) => boolean,
): ScanResult {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const bad = (offset: number, message: string, recordEnd: number): ScanResult => ({
    goodEnd: offset,
    records,
    problem: {offset, message, torn: recordEnd >= buf.length || allZero(buf, offset)},
  });
  let records = 0;
  if (buf.length < SEGMENT_HEADER_LEN) {
    return {goodEnd: 0, records, problem: {offset: 0, message: `segment header truncated (${buf.length} bytes)`, torn: true}};
  }
  if (view.getUint32(0) !== SEGMENT_MAGIC || buf[4] !== SEGMENT_VERSION) {
    return {goodEnd: 0, records, problem: {offset: 0, message: 'bad segment magic or version', torn: allZero(buf, 0)}};
  }
  let off = SEGMENT_HEADER_LEN;
  while (off < buf.length) {
    if (off + RECORD_OVERHEAD > buf.length) return bad(off, 'record header truncated', buf.length);
    const len = view.getUint32(off);
    const type = buf[off + 4];
    const end = off + RECORD_OVERHEAD + len;
    if (len > MAX_RECORD_PAYLOAD) return bad(off, `record length ${len} too large`, end);
    if (end > buf.length) return bad(off, `record of ${len} bytes runs past the end of the file`, end);
    if (!validType(type)) return bad(off, `unknown record type ${type}`, end);
    const want = view.getUint32(end - 4);
    const got = crc32c(buf, off + 4, off + RECORD_HEADER_LEN + len);
    if (want !== got) return bad(off, `record checksum mismatch (stored ${want.toString(16)}, computed ${got.toString(16)})`, end);
    try {
      visit(type, buf.subarray(off + RECORD_HEADER_LEN, off + RECORD_HEADER_LEN + len));
    } catch (e) {
      if (e instanceof RecordDecodeError) return {goodEnd: off, records, problem: {offset: off, message: e.message, torn: false}};
      throw e;
    }
    records++;
    off = end;
  }
  return {goodEnd: off, records, problem: null};
}
