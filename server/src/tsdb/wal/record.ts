// WAL record codec (the role of Prometheus' tsdb/record). Framing and record layouts
// are drawn in ./README.md; the constants here match it.
//
//   record := len(payload) <4b BE> | type <1b> | payload | CRC32C(type ‖ payload) <4b BE>

import {crc32c} from '../encoding/crc32c.ts';
import {Decbuf, Encbuf} from '../encoding/encoding.ts';
import type {Label} from '../labels/labels.ts';

export enum RecordType {
  /** `(ref <uvarint> | n <uvarint> | (name <uvarint str> | value <uvarint str>)×n)*` */
  Series = 1,
  /** `baseRef <uvarint> | baseT <varint> | (ref−baseRef <varint> | t−baseT <varint> | hi <4b> | lo <4b>)*` */
  Samples = 2,
  /** `t <varint>`: samples older than t are already persisted in blocks. */
  MinValidTime = 3,
  /** Checkpoints only: `(ref <uvarint> | len <uvarint> | XOR chunk data)*`, in time order per series. */
  Chunks = 4,
}

export function recordTypeString(t: number): string {
  switch (t) {
    case RecordType.Series:
      return 'series';
    case RecordType.Samples:
      return 'samples';
    case RecordType.MinValidTime:
      return 'min-valid-time';
    case RecordType.Chunks:
      return 'chunks';
    default:
      return `<unknown record type ${t}>`;
  }
}

/** Bytes of framing around a payload: len <4b> + type <1b> + crc <4b>. */
export const RECORD_HEADER_LEN = 5;
export const RECORD_OVERHEAD = 9;
/** Largest payload we write or accept (a 15k-sample scrape is ~170 KiB). */
export const MAX_RECORD_PAYLOAD = 64 * 1024 * 1024;

/** Starts a record in `e`; returns its start offset for endRecord. */
export function beginRecord(e: Encbuf, type: RecordType): number {
  const start = e.length;
  e.putBE32(0);
  e.putByte(type);
  return start;
}

/** Fills in the length and appends the CRC of the record started at `start`. */
export function endRecord(e: Encbuf, start: number): void {
  e.setBE32(start, e.length - start - RECORD_HEADER_LEN);
  e.putCRC32CSince(start + 4);
}

export interface RefSeries {
  ref: number;
  labels: readonly Label[];
}

/** Appends one Series record holding `series`. */
export function encodeSeries(e: Encbuf, series: Iterable<RefSeries>): void {
  const start = beginRecord(e, RecordType.Series);
  for (const s of series) {
    e.putUvarint(s.ref);
    e.putUvarint(s.labels.length);
    for (const l of s.labels) {
      e.putUvarintStr(l.name);
      e.putUvarintStr(l.value);
    }
  }
  endRecord(e, start);
}

export function encodeMinValidTime(e: Encbuf, t: number): void {
  const start = beginRecord(e, RecordType.MinValidTime);
  e.putVarint(t);
  endRecord(e, start);
}

export interface RefChunk {
  ref: number;
  data: Uint8Array;
}

export function encodeChunks(e: Encbuf, chunks: Iterable<RefChunk>): void {
  const start = beginRecord(e, RecordType.Chunks);
  for (const c of chunks) {
    e.putUvarint(c.ref);
    e.putUvarint(c.data.length);
    e.putBytes(c.data);
  }
  endRecord(e, start);
}

/**
 * Incremental Samples record: add() samples one by one (an appender does it while
 * staging), finish() closes the record. Reusable after reset().
 */
export class SamplesRecordEncoder {
  readonly enc: Encbuf;
  private start = -1;
  private baseRef = 0;
  private baseT = 0;
  count = 0;

  constructor(initialCapacity = 1 << 16) {
    this.enc = new Encbuf(initialCapacity);
  }

  add(ref: number, t: number, hi: number, lo: number): void {
    const e = this.enc;
    if (this.start < 0) {
      this.start = beginRecord(e, RecordType.Samples);
      this.baseRef = ref;
      this.baseT = t;
      e.putUvarint(ref);
      e.putVarint(t);
    }
    e.putVarint(ref - this.baseRef);
    e.putVarint(t - this.baseT);
    e.putBE32(hi);
    e.putBE32(lo);
    this.count++;
  }

  /** The finished record (empty when no sample was added). A view, valid until reset(). */
  finish(): Uint8Array {
    if (this.start < 0) return this.enc.get();
    endRecord(this.enc, this.start);
    this.start = -2; // finished
    return this.enc.get();
  }

  reset(): void {
    this.enc.reset();
    this.start = -1;
    this.count = 0;
  }
}

/** Columnar decoded samples (reused between records). */
export class SampleColumns {
  n = 0;
  ref: number[] = [];
  t: number[] = [];
  hi: number[] = [];
  lo: number[] = [];
}

/** Why a record failed to decode (CRC-valid but malformed payload). */
export class RecordDecodeError extends Error {
  override readonly name = 'RecordDecodeError';
}

export function decodeSeries(payload: Uint8Array, out: RefSeries[] = []): RefSeries[] {
  const d = new Decbuf(payload);
  while (d.len() > 0 && d.err === null) {
    const ref = d.uvarint();
    const n = d.uvarint();
    const labels: Label[] = [];
    for (let i = 0; i < n && d.err === null; i++) labels.push({name: d.uvarintStr(), value: d.uvarintStr()});
    if (d.err === null) out.push({ref, labels});
  }
  if (d.err !== null) throw new RecordDecodeError(`series record: ${d.err.reason}`);
  return out;
}

export function decodeSamples(payload: Uint8Array, out: SampleColumns): SampleColumns {
  const d = new Decbuf(payload);
  out.n = 0;
  if (d.len() === 0) return out;
  const baseRef = d.uvarint();
  const baseT = d.varint();
  let n = 0;
  while (d.len() > 0 && d.err === null) {
    const ref = baseRef + d.varint();
    const t = baseT + d.varint();
    const hi = d.be32();
    const lo = d.be32();
    if (d.err !== null) break;
    out.ref[n] = ref;
    out.t[n] = t;
    out.hi[n] = hi;
    out.lo[n] = lo;
    n++;
  }
  if (d.err !== null) throw new RecordDecodeError(`samples record: ${d.err.reason}`);
  out.n = n;
  return out;
}

export function decodeMinValidTime(payload: Uint8Array): number {
  const d = new Decbuf(payload);
  const t = d.varint();
  if (d.err !== null) throw new RecordDecodeError(`min-valid-time record: ${d.err.reason}`);
  return t;
}

export function decodeChunks(payload: Uint8Array, out: RefChunk[] = []): RefChunk[] {
  const d = new Decbuf(payload);
  while (d.len() > 0 && d.err === null) {
    const ref = d.uvarint();
    const n = d.uvarint();
    const data = d.bytes(n);
    if (d.err === null) out.push({ref, data});
  }
  if (d.err !== null) throw new RecordDecodeError(`chunks record: ${d.err.reason}`);
  return out;
}

/** CRC of a framed record as stored (for tests). */
export function recordCRC(buf: Uint8Array, start: number, payloadLen: number): number {
  return crc32c(buf, start + 4, start + RECORD_HEADER_LEN + payloadLen);
}
