// Index file v2 (Prometheus tsdb/index/index.go, docs/format/index.md). See ../README.md.
//
//   magic 0xBAAAD700 <4b> | version 2 <1b>
//   symbol table | series (16-byte aligned) | [label indices] | postings (4-byte aligned)
//   | [label offset table] | postings offset table | TOC (6 × <8b> + CRC32C)
//
// Layout 'v3' (default; Prometheus ≥ 3.7, accepted by 2.x): no label indices, no label
// offset table, no "" symbol unless the caller adds it; the TOC aliases
// labelIndices = postings and labelOffsetTable = postingsOffsetTable.
// Layout 'v2' (Prometheus 2.x, promtool 2.42 byte parity): legacy label indices and
// label offset table are written too (the caller adds the "" symbol).

import {crc32c} from '../encoding/crc32c.ts';
import {Decbuf, Encbuf, hex32, newDecbufAt, newDecbufUvarintAt} from '../encoding/encoding.ts';
import {CorruptionError, WriterError} from '../encoding/errors.ts';
import {FileWriter} from '../encoding/filewriter.ts';
import {type Label, type Labels, compareLabels, compareStrings} from '../labels/labels.ts';
import fs from 'node:fs';

export const MAGIC_INDEX = 0xbaaad700;
export const HEADER_LEN = 5;
export const FORMAT_V1 = 1;
export const FORMAT_V2 = 2;
export const TOC_LEN = 6 * 8 + 4;
/** Series entries start at multiples of this; series ref = offset / 16. */
export const SERIES_BYTE_ALIGN = 16;
const POSTINGS_ALIGN = 4;

export type IndexLayout = 'v2' | 'v3';

/** A chunk as the index records it: closed interval [minTime, maxTime] and segment ref. */
export interface ChunkMeta {
  minTime: number;
  maxTime: number;
  ref: number;
}

export interface TOC {
  symbols: number;
  series: number;
  labelIndices: number;
  labelIndicesTable: number;
  postings: number;
  postingsTable: number;
}

export interface IndexWriterOptions {
  layout?: IndexLayout;
  fsync?: boolean;
}

type Stage = 'symbols' | 'series' | 'done';

/**
 * Writes an index file. Stage order is enforced: addSymbol (strictly increasing, byte
 * order) → addSeries (strictly increasing label sets, non-decreasing chunk refs) →
 * close(). Out-of-order calls throw WriterError and leave nothing half-valid behind
 * (call abort() to close the file).
 */
export class IndexWriter {
  private readonly f: FileWriter;
  private readonly layout: IndexLayout;
  private readonly fsync: boolean;
  private stage: Stage = 'symbols';
  private readonly symbols: string[] = [];
  private symbolRefs = new Map<string, number>();
  private readonly buf = new Encbuf(4096);
  private readonly body = new Encbuf(1024);
  private readonly toc: TOC = {symbols: 0, series: 0, labelIndices: 0, labelIndicesTable: 0, postings: 0, postingsTable: 0};
  private lastSeries: Labels | null = null;
  private lastChunkRef = 0;
  /** name → value → series refs (ascending because series come sorted). */
  private readonly postings = new Map<string, Map<string, number[]>>();
  private readonly allRefs: number[] = [];

  constructor(file: string, opts: IndexWriterOptions = {}) {
    this.layout = opts.layout ?? 'v3';
    this.fsync = opts.fsync ?? true;
    this.f = new FileWriter(file);
    const b = this.buf;
    b.reset();
    b.putBE32(MAGIC_INDEX);
    b.putByte(FORMAT_V2);
    this.f.write(b.get());
  }

  addSymbol(s: string): void {
    if (this.stage !== 'symbols') throw new WriterError(`addSymbol: invalid stage ${this.stage}`);
    const n = this.symbols.length;
    if (n > 0 && compareStrings(this.symbols[n - 1], s) >= 0) {
      throw new WriterError(`addSymbol: symbol ${JSON.stringify(s)} out-of-order`);
    }
    this.symbols.push(s);
  }

  private finishSymbols(): void {
    const b = this.buf;
    b.reset();
    b.putBE32(0); // length, patched below
    b.putBE32(this.symbols.length);
    for (let i = 0; i < this.symbols.length; i++) {
      b.putUvarintStr(this.symbols[i]);
      this.symbolRefs.set(this.symbols[i], i);
    }
    b.setBE32(0, b.length - 4);
    b.putCRC32CSince(4);
    this.toc.symbols = this.f.pos;
    this.f.write(b.get());
    this.toc.series = this.f.pos;
    this.stage = 'series';
  }

  private symbolRef(s: string): number {
    const r = this.symbolRefs.get(s);
    if (r === undefined) throw new WriterError(`symbol ${JSON.stringify(s)} not added`);
    return r;
  }

  /**
   * Adds a series with its chunks (time-ordered, non-overlapping). Labels must be sorted
   * with unique names and non-empty values. Returns the series ref (offset / 16).
   */
  addSeries(labels: Labels, chunks: readonly ChunkMeta[]): number {
    if (this.stage === 'symbols') this.finishSymbols();
    if (this.stage !== 'series') throw new WriterError(`addSeries: invalid stage ${this.stage}`);
    if (this.lastSeries !== null && compareLabels(this.lastSeries, labels) >= 0) {
      throw new WriterError('addSeries: series out of order or duplicate');
    }
    for (let i = 0; i < labels.length; i++) {
      if (labels[i].value === '') throw new WriterError(`addSeries: empty value for label ${labels[i].name}`);
      if (i > 0 && compareStrings(labels[i - 1].name, labels[i].name) >= 0) {
        throw new WriterError('addSeries: labels not sorted or duplicate name');
      }
    }
    this.f.pad(SERIES_BYTE_ALIGN);
    const ref = this.f.pos / SERIES_BYTE_ALIGN;
    if (ref > 0xffff_ffff) throw new WriterError('addSeries: index exceeds 64 GiB series section');
    const e = this.body;
    e.reset();
    e.putUvarint(labels.length);
    for (const l of labels) {
      e.putUvarint(this.symbolRef(l.name));
      e.putUvarint(this.symbolRef(l.value));
      let byValue = this.postings.get(l.name);
      if (byValue === undefined) this.postings.set(l.name, (byValue = new Map()));
      let refs = byValue.get(l.value);
      if (refs === undefined) byValue.set(l.value, (refs = []));
      refs.push(ref);
    }
    e.putUvarint(chunks.length);
    let prevMax = 0;
    let prevRef = 0;
    for (let i = 0; i < chunks.length; i++) {
      const c = chunks[i];
      if (c.maxTime < c.minTime) throw new WriterError('addSeries: chunk maxTime < minTime');
      if (c.ref < this.lastChunkRef) throw new WriterError('addSeries: chunk ref out of order');
      if (i === 0) {
        e.putVarint(c.minTime);
        e.putUvarint(c.maxTime - c.minTime);
        e.putUvarint(c.ref);
      } else {
        if (c.minTime <= prevMax) throw new WriterError('addSeries: overlapping chunks');
        e.putUvarint(c.minTime - prevMax);
        e.putUvarint(c.maxTime - c.minTime);
        e.putVarint(c.ref - prevRef);
      }
      prevMax = c.maxTime;
      prevRef = c.ref;
      this.lastChunkRef = c.ref;
    }
    const b = this.buf;
    b.reset();
    b.putUvarint(e.length);
    b.putBytes(e.get());
    b.putBE32(crc32c(e.get()));
    this.f.write(b.get());
    this.allRefs.push(ref);
    this.lastSeries = labels.map((l): Label => ({name: l.name, value: l.value}));
    return ref;
  }

  private writeRefsSection(refs: readonly number[]): void {
    const b = this.buf;
    b.reset();
    b.putBE32(4 + 4 * refs.length);
    b.putBE32(refs.length);
    for (const r of refs) b.putBE32(r);
    b.putCRC32CSince(4);
    this.f.write(b.get());
  }

  /** Writes postings, tables and TOC, then closes (fsync unless disabled). */
  close(): void {
    if (this.stage === 'symbols') this.finishSymbols();
    if (this.stage !== 'series') throw new WriterError(`close: invalid stage ${this.stage}`);
    this.stage = 'done';
    try {
      const f = this.f;
      const names = [...this.postings.keys()].sort(compareStrings);
      const b = this.buf;
      const labelIndexOffsets: [string, number][] = [];
      this.toc.labelIndices = f.pos;
      if (this.layout === 'v2') {
        for (const name of names) {
          f.pad(POSTINGS_ALIGN);
          labelIndexOffsets.push([name, f.pos]);
          const vals = [...this.postings.get(name)!.keys()].map((v) => this.symbolRef(v)).sort((x, y) => x - y);
          b.reset();
          b.putBE32(0);
          b.putBE32(1);
          b.putBE32(vals.length);
          for (const v of vals) b.putBE32(v);
          b.setBE32(0, b.length - 4);
          b.putCRC32CSince(4);
          f.write(b.get());
        }
      }
      this.toc.postings = f.pos;
      const table: [string, string, number][] = [];
      f.pad(POSTINGS_ALIGN);
      table.push(['', '', f.pos]);
      this.writeRefsSection(this.allRefs);
      for (const name of names) {
        const byValue = this.postings.get(name)!;
        const values = [...byValue.keys()].sort(compareStrings);
        for (const v of values) {
          f.pad(POSTINGS_ALIGN);
          table.push([name, v, f.pos]);
          this.writeRefsSection(byValue.get(v)!);
        }
      }
      this.toc.labelIndicesTable = f.pos;
      if (this.layout === 'v2') {
        b.reset();
        b.putBE32(0);
        b.putBE32(labelIndexOffsets.length);
        for (const [name, off] of labelIndexOffsets) {
          b.putUvarint(1);
          b.putUvarintStr(name);
          b.putUvarint(off);
        }
        b.setBE32(0, b.length - 4);
        b.putCRC32CSince(4);
        f.write(b.get());
      }
      this.toc.postingsTable = f.pos;
      b.reset();
      b.putBE32(0);
      b.putBE32(table.length);
      for (const [name, value, off] of table) {
        b.putUvarint(2);
        b.putUvarintStr(name);
        b.putUvarintStr(value);
        b.putUvarint(off);
      }
      b.setBE32(0, b.length - 4);
      b.putCRC32CSince(4);
      f.write(b.get());
      if (this.layout === 'v3') this.toc.labelIndicesTable = this.toc.postingsTable;
      b.reset();
      const t = this.toc;
      for (const x of [t.symbols, t.series, t.labelIndices, t.labelIndicesTable, t.postings, t.postingsTable]) b.putBE64(x);
      b.putCRC32CSince(0);
      f.write(b.get());
      f.close(this.fsync);
    } catch (e) {
      this.f.abort();
      throw e;
    }
  }

  /** Closes the file without completing it (error path). */
  abort(): void {
    this.stage = 'done';
    this.f.abort();
  }
}

/** A decoded series entry. */
export interface SeriesEntry {
  labels: Label[];
  chunks: ChunkMeta[];
}

/**
 * Reads an index file held in memory. open() verifies header, TOC CRC, symbol table
 * (CRC, strictly sorted) and postings offset table (CRC, sorted, label names known) like
 * Prometheus does at block open; series and postings CRCs are verified when read.
 * Every failure is a CorruptionError naming the file and offset.
 */
export class IndexReader {
  readonly file: string;
  readonly b: Uint8Array;
  readonly version: number;
  readonly toc: TOC;
  private readonly syms: string[] = [];
  /** name → (value → postings list offset), in table order. */
  private readonly postingsTable = new Map<string, Map<string, number>>();

  static open(file: string): IndexReader {
    let buf: Buffer;
    try {
      buf = fs.readFileSync(file);
    } catch (e) {
      throw new CorruptionError(file, -1, `read index: ${(e as Error).message}`, {cause: e});
    }
    return new IndexReader(buf, file);
  }

  constructor(b: Uint8Array, file = 'index') {
    this.b = b;
    this.file = file;
    if (b.length < HEADER_LEN + TOC_LEN) throw new CorruptionError(file, 0, `index too short (${b.length} bytes)`);
    const d = new Decbuf(b, file, 0);
    const magic = d.be32();
    if (magic !== MAGIC_INDEX) throw new CorruptionError(file, 0, `invalid magic number ${hex32(magic)}`);
    this.version = d.byte();
    if (this.version !== FORMAT_V2) throw new CorruptionError(file, 4, `unsupported index version ${this.version}`);
    this.toc = this.readTOC();
    this.readSymbols();
    this.readPostingsTable();
  }

  private readTOC(): TOC {
    const off = this.b.length - TOC_LEN;
    const want = new DataView(this.b.buffer, this.b.byteOffset + off + 48, 4).getUint32(0);
    const got = crc32c(this.b, off, off + 48);
    if (want !== got) {
      throw new CorruptionError(this.file, off, `read TOC: checksum mismatch (stored ${hex32(want)}, computed ${hex32(got)})`);
    }
    const d = new Decbuf(this.b.subarray(off, off + 48), this.file, off);
    const toc: TOC = {
      symbols: d.be64(),
      series: d.be64(),
      labelIndices: d.be64(),
      labelIndicesTable: d.be64(),
      postings: d.be64(),
      postingsTable: d.be64(),
    };
    if (d.err) throw d.err;
    for (const [k, v] of Object.entries(toc)) {
      if (v > off) throw new CorruptionError(this.file, off, `read TOC: ${k} offset ${v} beyond TOC`);
    }
    return toc;
  }

  private readSymbols(): void {
    const d = newDecbufAt(this.b, this.toc.symbols, this.file, 'read symbols');
    const n = d.be32();
    for (let i = 0; i < n && d.err === null; i++) {
      const at = d.offset();
      const s = d.uvarintStr();
      if (d.err === null && i > 0 && compareStrings(this.syms[i - 1], s) >= 0) {
        throw new CorruptionError(this.file, at, `read symbols: symbol ${JSON.stringify(s)} out of order`);
      }
      this.syms.push(s);
    }
    if (d.err === null && d.len() !== 0) d.fail(`read symbols: ${d.len()} trailing bytes`);
    if (d.err) throw d.err;
  }

  private readPostingsTable(): void {
    const d = newDecbufAt(this.b, this.toc.postingsTable, this.file, 'read postings offset table');
    const n = d.be32();
    let prevName: string | null = null;
    let prevValue = '';
    for (let i = 0; i < n && d.err === null; i++) {
      const at = d.offset();
      const k = d.uvarint();
      if (d.err === null && k !== 2) throw new CorruptionError(this.file, at, `postings offset table: unexpected key count ${k}`);
      const name = d.uvarintStr();
      const value = d.uvarintStr();
      const off = d.uvarint();
      if (d.err) break;
      if (prevName !== null) {
        const c = compareStrings(prevName, name) || compareStrings(prevValue, value);
        if (c >= 0) throw new CorruptionError(this.file, at, `postings offset table: entry ${JSON.stringify(name)}=${JSON.stringify(value)} out of order`);
      }
      if (i === 0 && (name !== '' || value !== '')) {
        throw new CorruptionError(this.file, at, 'postings offset table: first entry is not the all-postings key');
      }
      if (name !== '' && this.symbolIndex(name) < 0) {
        throw new CorruptionError(this.file, at, `postings offset table: unknown label name symbol ${JSON.stringify(name)}`);
      }
      if (off >= this.b.length - TOC_LEN) throw new CorruptionError(this.file, at, `postings offset ${off} out of range`);
      let m = this.postingsTable.get(name);
      if (m === undefined) this.postingsTable.set(name, (m = new Map()));
      m.set(value, off);
      prevName = name;
      prevValue = value;
    }
    if (d.err) throw d.err;
  }

  /** Index of a symbol or -1 (binary search). */
  symbolIndex(s: string): number {
    let lo = 0;
    let hi = this.syms.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const c = compareStrings(this.syms[mid], s);
      if (c === 0) return mid;
      if (c < 0) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }

  symbols(): readonly string[] {
    return this.syms;
  }

  /** Label names with postings (sorted, without the all-postings key). */
  labelNames(): string[] {
    return [...this.postingsTable.keys()].filter((n) => n !== '');
  }

  /** Values of a label name (sorted); [] if unknown. */
  labelValues(name: string): string[] {
    if (name === '') return [];
    return [...(this.postingsTable.get(name)?.keys() ?? [])];
  }

  /** All (name, value, offset) postings keys in table order, including ("",""). */
  *postingsKeys(): IterableIterator<{name: string; value: string; offset: number}> {
    for (const [name, m] of this.postingsTable) for (const [value, offset] of m) yield {name, value, offset};
  }

  /** Series refs having name=value, ascending ([] if none). */
  postings(name: string, value: string): number[] {
    const off = this.postingsTable.get(name)?.get(value);
    if (off === undefined) return [];
    return this.readPostingsAt(off, `postings ${name}=${JSON.stringify(value)}`);
  }

  /** Every series ref (the all-postings list). */
  allPostings(): number[] {
    return this.postings('', '');
  }

  readPostingsAt(off: number, what = 'postings'): number[] {
    const d = newDecbufAt(this.b, off, this.file, what);
    const n = d.be32();
    if (d.err === null && d.len() !== 4 * n) {
      throw new CorruptionError(this.file, off, `${what}: length ${d.len() + 4} does not match ${n} entries`);
    }
    const refs = new Array<number>(n);
    for (let i = 0; i < n; i++) {
      refs[i] = d.be32();
      if (i > 0 && refs[i] <= refs[i - 1]) {
        throw new CorruptionError(this.file, d.offset() - 4, `${what}: series refs not strictly increasing`);
      }
    }
    if (d.err) throw d.err;
    return refs;
  }

  /** Decodes the series entry with the given ref (offset / 16). */
  series(ref: number): SeriesEntry {
    const off = ref * SERIES_BYTE_ALIGN;
    const what = `series ${ref}`;
    const d = newDecbufUvarintAt(this.b, off, this.file, what);
    const nl = d.uvarint();
    const labels: Label[] = [];
    for (let i = 0; i < nl && d.err === null; i++) {
      const at = d.offset();
      const ni = d.uvarint();
      const vi = d.uvarint();
      if (d.err) break;
      if (ni >= this.syms.length || vi >= this.syms.length) {
        throw new CorruptionError(this.file, at, `${what}: symbol ref out of range`);
      }
      labels.push({name: this.syms[ni], value: this.syms[vi]});
    }
    const nc = d.uvarint();
    const chunks: ChunkMeta[] = [];
    let maxT = 0;
    let ref2 = 0;
    for (let i = 0; i < nc && d.err === null; i++) {
      let minT: number;
      if (i === 0) {
        minT = d.varint();
        maxT = minT + d.uvarint();
        ref2 = d.uvarint();
      } else {
        minT = maxT + d.uvarint();
        maxT = minT + d.uvarint();
        ref2 += d.varint();
      }
      chunks.push({minTime: minT, maxTime: maxT, ref: ref2});
    }
    if (d.err === null && d.len() !== 0) d.fail(`${what}: ${d.len()} trailing bytes`);
    if (d.err) throw new CorruptionError(this.file, d.err.offset, `${what}: ${d.err.reason}`);
    return {labels, chunks};
  }
}
