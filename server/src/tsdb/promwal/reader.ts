// Reads Prometheus' own write-ahead log (`wal/`: the Go plugin's head, up to ~3 h of samples
// not yet in a block). Format: prometheus tsdb/docs/format/wal.md and record.go (2.x):
//
//   segment  := page*                                  pages of 32 KiB, the last may be short
//   fragment := type <1b> │ len <2b BE> │ CRC32C(data) <4b BE> │ data      never crosses a page
//   type     := 0 rest of page empty │ 1 full │ 2 first │ 3 middle │ 4 last   (low 3 bits)
//               | 0x08 snappy-compressed record │ 0x10 zstd (2.45+, not written by 2.42)
//   series   := 1 <1b> │ (ref <8b BE> │ n <uvarint> │ (len <uvarint> │ utf8)×2n)*
//   samples  := 2 <1b> │ baseRef <8b BE> │ baseT <8b BE> │ (ref−baseRef <varint> │ t−baseT <varint> │ value <8b BE>)*
//   others   := tombstones 3, exemplars 4, mmap markers 5, metadata 6, histograms 7/8: counted, not imported
//
// Replay order as Prometheus: the newest checkpoint.N/ first, then segments > N. A torn or
// corrupt fragment ends that segment (what follows it there is unreadable) and is reported;
// later segments are still read, so as much as possible is recovered.

import fs from 'node:fs';
import path from 'node:path';
import {uncompress} from 'snappyjs';
import {crc32c} from '../encoding/mod.ts';
import type {Label} from '../labels/mod.ts';

const PAGE_SIZE = 32 * 1024;
const HEADER_SIZE = 7;
const SNAPPY = 0x08;
const ZSTD = 0x10;
const SEGMENT_RE = /^\d{8}$/;
const CHECKPOINT_RE = /^checkpoint\.(\d{8})$/;

export const RECORD_SERIES = 1;
export const RECORD_SAMPLES = 2;
export const RECORD_TOMBSTONES = 3;

/** What a WAL holds, in the order read. */
export interface WalVisitor {
  series(ref: number, labels: Label[]): void;
  /** Value as its two IEEE-754 words (bit-exact: stale markers, NaN payloads). */
  sample(ref: number, t: number, hi: number, lo: number): void;
  /** A record of another type (tombstones, exemplars, metadata, histograms…). */
  other(type: number): void;
}

export interface WalProblem {
  file: string;
  offset: number;
  message: string;
}

export interface WalReadStats {
  files: string[];
  records: number;
  problems: WalProblem[];
}

/** The files to replay, in order: checkpoint segments, then the segments after it. */
export function walFiles(walDir: string): string[] {
  let entries: string[];
  try {
    entries = fs.readdirSync(walDir);
  } catch {
    return [];
  }
  let checkpoint = -1;
  for (const e of entries) {
    const m = CHECKPOINT_RE.exec(e);
    if (m) checkpoint = Math.max(checkpoint, Number(m[1]));
  }
  const files: string[] = [];
  if (checkpoint >= 0) {
    const dir = path.join(walDir, `checkpoint.${String(checkpoint).padStart(8, '0')}`);
    for (const s of fs.readdirSync(dir).filter((n) => SEGMENT_RE.test(n)).sort()) files.push(path.join(dir, s));
  }
  for (const s of entries.filter((n) => SEGMENT_RE.test(n) && Number(n) > checkpoint).sort()) files.push(path.join(walDir, s));
  return files;
}

/** True when `walDir` holds anything Prometheus would replay. */
export function hasPrometheusWal(walDir: string): boolean {
  return walFiles(walDir).some((f) => fs.statSync(f).size > 0);
}

class Corrupt extends Error {}

/** Reads every record of `walDir` into `visit`; problems are collected, never thrown. */
export function readPrometheusWal(walDir: string, visit: WalVisitor): WalReadStats {
  const stats: WalReadStats = {files: walFiles(walDir), records: 0, problems: []};
  for (const file of stats.files) {
    const buf = fs.readFileSync(file);
    const rel = path.relative(walDir, file);
    const ended = readSegment(buf, (record, offset) => {
      stats.records++;
      try {
        decodeRecord(record, visit);
      } catch (e) {
        if (!(e instanceof RangeError)) throw e;
        stats.problems.push({file: rel, offset, message: `malformed record: ${e.message}`});
      }
    });
    for (const p of ended) stats.problems.push({file: rel, ...p});
  }
  return stats;
}

/** Splits a segment into records; returns the problem that ended it early, if any. */
export function readSegment(buf: Buffer, onRecord: (record: Buffer, offset: number) => void): Array<{offset: number; message: string}> {
  let pos = 0;
  let parts: Buffer[] = [];
  let partsFlags = 0;
  let recordStart = 0;
  try {
    while (pos < buf.length) {
      const pageEnd = Math.min((Math.floor(pos / PAGE_SIZE) + 1) * PAGE_SIZE, buf.length);
      if (pageEnd - pos < HEADER_SIZE || buf[pos] === 0) {
        // Padding: the rest of the page is empty.
        for (let i = pos; i < pageEnd; i++) if (buf[i] !== 0) throw new Corrupt(`unexpected bytes in page padding at ${i}`);
        pos = pageEnd;
        continue;
      }
      const flags = buf[pos];
      const type = flags & 0x07;
      const len = buf.readUInt16BE(pos + 1);
      const crc = buf.readUInt32BE(pos + 3);
      const start = pos + HEADER_SIZE;
      if (start + len > pageEnd) throw new Corrupt(start + len > buf.length ? 'torn record at the end of the segment' : 'record fragment crosses a page boundary');
      if (crc32c(buf, start, start + len) !== crc) throw new Corrupt('checksum mismatch');
      const data = buf.subarray(start, start + len);
      if (type === 1 || type === 2) {
        if (parts.length > 0) throw new Corrupt('a new record starts inside an unfinished one');
        recordStart = pos;
        partsFlags = flags;
      } else if (type === 3 || type === 4) {
        if (parts.length === 0) throw new Corrupt('a record continues without a start');
      } else {
        throw new Corrupt(`unknown fragment type ${type}`);
      }
      parts.push(data);
      pos = start + len;
      if (type === 1 || type === 4) {
        const raw = parts.length === 1 ? parts[0] : Buffer.concat(parts);
        parts = [];
        if (partsFlags & ZSTD) throw new Corrupt('zstd-compressed WAL records are not supported (Prometheus ≥ 2.45 with --storage.tsdb.wal-compression-type=zstd)');
        onRecord(partsFlags & SNAPPY ? Buffer.from(uncompress(raw)) : raw, recordStart);
      }
    }
    if (parts.length > 0) throw new Corrupt('torn record at the end of the segment');
    return [];
  } catch (e) {
    // Only the segment's own bytes end up here (records are decoded by the caller's callback,
    // which catches its own errors): a torn tail, a bad checksum, a bad snappy stream.
    if (!(e instanceof Corrupt) && !(e instanceof RangeError) && !(e instanceof Error && /Snappy/i.test(e.message))) throw e;
    return [{offset: parts.length > 0 ? recordStart : pos, message: e.message}];
  }
}

function decodeRecord(rec: Buffer, visit: WalVisitor): void {
  const d = new Decoder(rec);
  const type = d.byte();
  if (type === RECORD_SERIES) {
    while (!d.done()) {
      const ref = d.be64();
      const n = d.uvarint();
      const labels: Label[] = [];
      for (let i = 0; i < n; i++) labels.push({name: d.str(), value: d.str()});
      visit.series(ref, labels);
    }
  } else if (type === RECORD_SAMPLES) {
    if (d.done()) return;
    const baseRef = d.be64();
    const baseT = d.be64Signed();
    while (!d.done()) {
      const ref = baseRef + d.varint();
      const t = baseT + d.varint();
      visit.sample(ref, t, d.u32(), d.u32());
    }
  } else {
    visit.other(type);
  }
}

/** Go's encoding.Decbuf for one record; throws RangeError past the end. */
class Decoder {
  private pos = 0;
  constructor(private readonly b: Buffer) {}

  done(): boolean {
    return this.pos >= this.b.length;
  }

  byte(): number {
    if (this.pos >= this.b.length) throw new RangeError('record ends early');
    return this.b[this.pos++];
  }

  u32(): number {
    const v = this.b.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  be64(): number {
    return this.u32() * 2 ** 32 + this.u32();
  }

  be64Signed(): number {
    const v = this.b.readBigInt64BE(this.pos);
    this.pos += 8;
    return Number(v);
  }

  uvarint(): number {
    let x = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      const c = this.byte();
      x += (c & 0x7f) * scale;
      if (c < 0x80) return x;
      scale *= 128;
    }
    throw new RangeError('varint overflow');
  }

  /** Zig-zag (Go's PutVarint). */
  varint(): number {
    const ux = this.uvarint();
    return ux % 2 === 1 ? -(ux + 1) / 2 : ux / 2;
  }

  str(): string {
    const n = this.uvarint();
    if (this.pos + n > this.b.length) throw new RangeError('record ends early');
    const s = this.b.toString('utf8', this.pos, this.pos + n);
    this.pos += n;
    return s;
  }
}
