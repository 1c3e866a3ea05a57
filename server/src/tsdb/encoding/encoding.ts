// Encbuf / Decbuf: the byte helpers every tsdb file format is built from
// (the TypeScript counterpart of Prometheus' tsdb/encoding/encoding.go).
//
// - Fixed-width integers are big-endian.
// - uvarint = Go binary.PutUvarint (LEB128), varint = zig-zag + uvarint.
// - Strings are uvarint(byte length) + UTF-8 bytes.
//
// Numbers: 64-bit quantities (timestamps in ms, chunk refs, offsets) are carried as JS
// numbers and must be safe integers (|x| <= 2^53 - 1, i.e. year 287396 for ms
// timestamps). The *64 variants use bigint for the rare full-range case.
//
// Decbuf has a sticky error: after the first failed read every later read returns 0/""
// and does nothing; callers check `err` once at the end (Prometheus' Decbuf.E).

import {crc32c} from './crc32c.ts';
import {CorruptionError} from './errors.ts';

const TWO32 = 0x1_0000_0000;
const utf8Decoder = new TextDecoder('utf-8');
const utf8Encoder = new TextEncoder();

/** Number of bytes uvarint(x) takes, for a non-negative safe integer x. */
export function uvarintSize(x: number): number {
  let n = 1;
  while (x >= 0x80) {
    x = Math.floor(x / 0x80);
    n++;
  }
  return n;
}

/** Zig-zag transform for a safe integer (exact for |x| < 2^52). */
export function zigzag(x: number): number {
  return x >= 0 ? x * 2 : -x * 2 - 1;
}

/** Append-only growable byte buffer. */
export class Encbuf {
  private buf: Uint8Array;
  private view: DataView;
  /** Number of bytes written. */
  length = 0;

  constructor(initialCapacity = 256) {
    this.buf = new Uint8Array(Math.max(16, initialCapacity));
    this.view = new DataView(this.buf.buffer);
  }

  /** Clears the content, keeping capacity. */
  reset(): void {
    this.length = 0;
  }

  /** The written bytes (a view; copy it if the Encbuf is reused). */
  get(): Uint8Array {
    return this.buf.subarray(0, this.length);
  }

  private grow(extra: number): void {
    const need = this.length + extra;
    if (need <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < need) cap *= 2;
    const nb = new Uint8Array(cap);
    nb.set(this.buf.subarray(0, this.length));
    this.buf = nb;
    this.view = new DataView(nb.buffer);
  }

  putByte(b: number): void {
    this.grow(1);
    this.buf[this.length++] = b;
  }

  putBytes(b: Uint8Array): void {
    this.grow(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
  }

  /** n zero bytes. */
  putZeros(n: number): void {
    this.grow(n);
    this.buf.fill(0, this.length, this.length + n);
    this.length += n;
  }

  putBE16(x: number): void {
    this.grow(2);
    this.view.setUint16(this.length, x);
    this.length += 2;
  }

  putBE32(x: number): void {
    this.grow(4);
    this.view.setUint32(this.length, x >>> 0);
    this.length += 4;
  }

  /** Overwrites 4 bytes at pos (used for length fields filled in afterwards). */
  setBE32(pos: number, x: number): void {
    this.view.setUint32(pos, x >>> 0);
  }

  /** 8-byte big-endian of a non-negative safe integer. */
  putBE64(x: number): void {
    this.grow(8);
    this.view.setUint32(this.length, Math.floor(x / TWO32));
    this.view.setUint32(this.length + 4, x % TWO32);
    this.length += 8;
  }

  /** uvarint of a non-negative safe integer. */
  putUvarint(x: number): void {
    this.grow(10);
    const b = this.buf;
    let n = this.length;
    if (x < 0x1_0000_0000) {
      // 32-bit fast path.
      while (x >= 0x80) {
        b[n++] = (x & 0x7f) | 0x80;
        x >>>= 7;
      }
    } else {
      while (x >= 0x80) {
        b[n++] = (x % 0x80) | 0x80;
        x = Math.floor(x / 0x80);
      }
    }
    b[n++] = x;
    this.length = n;
  }

  /** varint (zig-zag) of a safe integer. */
  putVarint(x: number): void {
    if (x >= -0x0fff_ffff && x <= 0x0fff_ffff) {
      this.putUvarint(x >= 0 ? x * 2 : -x * 2 - 1);
      return;
    }
    this.putUvarint64(BigInt.asUintN(64, (BigInt(x) << 1n) ^ (BigInt(x) >> 63n)));
  }

  /** uvarint of a full-range uint64. */
  putUvarint64(x: bigint): void {
    this.grow(10);
    x = BigInt.asUintN(64, x);
    while (x >= 0x80n) {
      this.buf[this.length++] = Number(x & 0x7fn) | 0x80;
      x >>= 7n;
    }
    this.buf[this.length++] = Number(x);
  }

  /** uvarint byte length + UTF-8 bytes. */
  putUvarintStr(s: string): void {
    const max = s.length * 3;
    this.grow(max + 10);
    if (max < 0x80) {
      // Length fits in one byte: encode in place, then patch the length.
      const at = this.length++;
      const {written} = utf8Encoder.encodeInto(s, this.buf.subarray(this.length));
      this.buf[at] = written;
      this.length += written;
      return;
    }
    const bytes = utf8Encoder.encode(s);
    this.putUvarint(bytes.length);
    this.putBytes(bytes);
  }

  /** Appends CRC-32C (big-endian) of the bytes written since `from`. */
  putCRC32CSince(from: number): void {
    const c = crc32c(this.buf, from, this.length);
    this.putBE32(c);
  }
}

/**
 * Read cursor over a byte slice. `file` and `base` (the slice's offset within the file)
 * are used to report CorruptionErrors with absolute positions.
 */
export class Decbuf {
  readonly b: Uint8Array;
  private readonly view: DataView;
  /** Read position relative to `b`. */
  pos = 0;
  /** Sticky error: the first failure. */
  err: CorruptionError | null = null;

  constructor(
    b: Uint8Array,
    readonly file = '',
    readonly base = 0,
  ) {
    this.b = b;
    this.view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  }

  /** Bytes left. */
  len(): number {
    return this.b.length - this.pos;
  }

  /** Absolute file offset of the cursor. */
  offset(): number {
    return this.base + this.pos;
  }

  /** Records an error (if none yet) at the current position. */
  fail(message: string, at = this.offset()): void {
    if (this.err === null) this.err = new CorruptionError(this.file, at, message);
  }

  private need(n: number, what: string): boolean {
    if (this.err !== null) return false;
    if (this.pos + n > this.b.length) {
      this.fail(`unexpected end of data reading ${what} (need ${n} bytes, have ${this.len()})`);
      return false;
    }
    return true;
  }

  skip(n: number): void {
    if (this.need(n, 'padding')) this.pos += n;
  }

  byte(): number {
    if (!this.need(1, 'byte')) return 0;
    return this.b[this.pos++];
  }

  bytes(n: number): Uint8Array {
    if (!this.need(n, 'bytes')) return new Uint8Array(0);
    const r = this.b.subarray(this.pos, this.pos + n);
    this.pos += n;
    return r;
  }

  be16(): number {
    if (!this.need(2, 'uint16')) return 0;
    const v = this.view.getUint16(this.pos);
    this.pos += 2;
    return v;
  }

  be32(): number {
    if (!this.need(4, 'uint32')) return 0;
    const v = this.view.getUint32(this.pos);
    this.pos += 4;
    return v;
  }

  /** 8-byte big-endian; fails if above 2^53 - 1. */
  be64(): number {
    if (!this.need(8, 'uint64')) return 0;
    const hi = this.view.getUint32(this.pos);
    const lo = this.view.getUint32(this.pos + 4);
    if (hi > 0x1f_ffff) {
      this.fail('uint64 value exceeds 2^53');
      return 0;
    }
    this.pos += 8;
    return hi * TWO32 + lo;
  }

  /** uvarint as a number; fails on overflow beyond 2^53 - 1 or truncation. */
  uvarint(): number {
    if (this.err !== null) return 0;
    const b = this.b;
    let x = 0;
    let mul = 1;
    const start = this.pos;
    for (let i = this.pos; i < b.length; i++) {
      const c = b[i];
      if (i - start === 10) break;
      x += (c & 0x7f) * mul;
      if (c < 0x80) {
        if (x > Number.MAX_SAFE_INTEGER) {
          this.fail('varint exceeds 2^53', this.base + start);
          return 0;
        }
        this.pos = i + 1;
        return x;
      }
      mul *= 0x80;
    }
    this.fail(this.pos >= b.length ? 'unexpected end of data reading varint' : 'invalid varint', this.base + start);
    return 0;
  }

  /** Zig-zag varint as a number. */
  varint(): number {
    const u = this.uvarint();
    // u is an exact safe integer; undo zig-zag without 32-bit ops.
    return u % 2 === 0 ? u / 2 : -(u + 1) / 2;
  }

  /** Full-range uvarint as bigint. */
  uvarint64(): bigint {
    if (this.err !== null) return 0n;
    let x = 0n;
    let s = 0n;
    const start = this.pos;
    for (let i = this.pos; i < this.b.length && i - start < 10; i++) {
      const c = this.b[i];
      x |= BigInt(c & 0x7f) << s;
      if (c < 0x80) {
        this.pos = i + 1;
        return BigInt.asUintN(64, x);
      }
      s += 7n;
    }
    this.fail('invalid or truncated varint', this.base + start);
    return 0n;
  }

  /** uvarint-length-prefixed UTF-8 string. */
  uvarintStr(): string {
    const n = this.uvarint();
    if (!this.need(n, 'string')) return '';
    const s = utf8Decoder.decode(this.b.subarray(this.pos, this.pos + n));
    this.pos += n;
    return s;
  }
}

/**
 * Decodes the "section with len" framing used by the index and postings:
 * `len <4b> | content (len bytes) | CRC32C(content) <4b>` at `off` of `buf`.
 * Returns a Decbuf over the content, positioned at 0. Length and CRC are checked
 * before any field is read; failures throw CorruptionError.
 */
export function newDecbufAt(buf: Uint8Array, off: number, file: string, what: string): Decbuf {
  if (off < 0 || off + 4 > buf.length) {
    throw new CorruptionError(file, off, `${what}: offset out of range (file size ${buf.length})`);
  }
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const l = view.getUint32(off);
  if (off + 4 + l + 4 > buf.length) {
    throw new CorruptionError(file, off, `${what}: length ${l} runs past end of file (size ${buf.length})`);
  }
  const want = view.getUint32(off + 4 + l);
  const got = crc32c(buf, off + 4, off + 4 + l);
  if (want !== got) {
    throw new CorruptionError(file, off, `${what}: checksum mismatch (stored ${hex32(want)}, computed ${hex32(got)})`);
  }
  return new Decbuf(buf.subarray(off + 4, off + 4 + l), file, off + 4);
}

/** Like newDecbufAt for the series framing: `len <uvarint> | content | CRC32C <4b>`. */
export function newDecbufUvarintAt(buf: Uint8Array, off: number, file: string, what: string): Decbuf {
  const head = new Decbuf(buf, file, 0);
  if (off < 0 || off >= buf.length) throw new CorruptionError(file, off, `${what}: offset out of range`);
  head.pos = off;
  const l = head.uvarint();
  if (head.err) throw new CorruptionError(file, off, `${what}: ${head.err.reason}`);
  const start = head.pos;
  if (start + l + 4 > buf.length) throw new CorruptionError(file, off, `${what}: length ${l} runs past end of file`);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const want = view.getUint32(start + l);
  const got = crc32c(buf, start, start + l);
  if (want !== got) {
    throw new CorruptionError(file, off, `${what}: checksum mismatch (stored ${hex32(want)}, computed ${hex32(got)})`);
  }
  return new Decbuf(buf.subarray(start, start + l), file, start);
}

export function hex32(x: number): string {
  return '0x' + (x >>> 0).toString(16).padStart(8, '0');
}
