// gob's primitive encodings: unsigned/signed integers, floats, byte strings.
// Spec: mattermost-plugin-protocol.md §3.2.

/** Any malformed or unsupported gob input. */
export class GobError extends Error {
  override name = 'GobError';
}

/** Thrown internally when a message is not complete yet; never escapes the decoder. */
export class NeedMoreData extends Error {
  override name = 'NeedMoreData';
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** Cursor over one gob message. Reads throw GobError on malformed input. */
export class Reader {
  constructor(
    public buf: Buffer,
    public pos = 0,
    public end = buf.length,
  ) {}

  get remaining(): number {
    return this.end - this.pos;
  }

  byte(): number {
    if (this.pos >= this.end) throw new GobError('unexpected end of message');
    return this.buf[this.pos++];
  }

  /** Returns a number when exact, else a bigint. */
  uint(): number | bigint {
    const b = this.byte();
    if (b < 0x80) return b;
    const n = 256 - b;
    if (n > 8) throw new GobError(`invalid uint length byte 0x${b.toString(16)}`);
    if (this.remaining < n) throw new GobError('unexpected end of message in uint');
    if (n <= 6) {
      let v = 0;
      for (let i = 0; i < n; i++) v = v * 256 + this.buf[this.pos++];
      return v;
    }
    let v = 0n;
    for (let i = 0; i < n; i++) v = (v << 8n) | BigInt(this.buf[this.pos++]);
    return v <= MAX_SAFE ? Number(v) : v;
  }

  /** An unsigned value that must fit a JS number (lengths, counts, ids). */
  count(what = 'count'): number {
    const v = this.uint();
    if (typeof v === 'bigint' || v > this.end) throw new GobError(`${what} out of range: ${v}`);
    return v;
  }

  int(): number | bigint {
    const u = this.uint();
    if (typeof u === 'number') {
      // u < 2^53, so halving stays exact.
      const half = Math.floor(u / 2);
      return u % 2 === 1 ? -half - 1 : half;
    }
    const v = u & 1n ? ~(u >> 1n) : u >> 1n;
    return v <= MAX_SAFE && v >= -MAX_SAFE ? Number(v) : v;
  }

  smallInt(what: string): number {
    const v = this.int();
    if (typeof v === 'bigint') throw new GobError(`${what} out of range: ${v}`);
    return v;
  }

  float(): number {
    const first = this.byte();
    const tmp = Buffer.alloc(8);
    if (first < 0x80) {
      tmp[7] = first;
    } else {
      const n = 256 - first;
      if (n > 8) throw new GobError(`invalid float length byte 0x${first.toString(16)}`);
      if (this.remaining < n) throw new GobError('unexpected end of message in float');
      this.buf.copy(tmp, 8 - n, this.pos, this.pos + n);
      this.pos += n;
    }
    // The wire holds the float's bytes reversed, i.e. little-endian.
    return tmp.readDoubleLE(0);
  }

  bytes(): Buffer {
    const n = this.count('byte slice length');
    if (this.remaining < n) throw new GobError('unexpected end of message in byte slice');
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  string(): string {
    return this.bytes().toString('utf8');
  }
}

/** Byte slices at least this long are referenced by chunks() instead of copied in. */
export const REFERENCE_BYTES_MIN = 16 * 1024;

/**
 * Growable output buffer with gob's primitive encoders. Long byte slices can be
 * referenced rather than copied (ref), so a multi-megabyte []byte costs no memcpy
 * on its way to the socket: chunks() yields the buffered bytes and the referenced
 * slices in order.
 */
export class Writer {
  private buf: Buffer;
  /** Bytes in buf (referenced slices excluded). */
  len = 0;
  /** Referenced slices and the buf offset each one follows. */
  private refs: Array<{at: number; bytes: Uint8Array}> = [];
  private refBytes = 0;

  constructor(initial = 256) {
    this.buf = Buffer.allocUnsafe(initial);
  }

  private ensure(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.len);
    this.buf = next;
  }

  byte(b: number): void {
    this.ensure(1);
    this.buf[this.len++] = b;
  }

  uint(v: number | bigint): void {
    if (typeof v === 'number') {
      if (!Number.isInteger(v) || v < 0) throw new GobError(`not an unsigned integer: ${v}`);
      if (v < 0x80) {
        this.byte(v);
        return;
      }
      if (v <= Number.MAX_SAFE_INTEGER) {
        let n = 0;
        for (let x = v; x >= 1; x = Math.floor(x / 256)) n++;
        this.ensure(n + 1);
        this.buf[this.len++] = 256 - n;
        for (let i = n - 1, x = v; i >= 0; i--, x = Math.floor(x / 256)) this.buf[this.len + i] = x % 256;
        this.len += n;
        return;
      }
      v = BigInt(v);
    }
    if (v < 0n || v >= 1n << 64n) throw new GobError(`unsigned integer out of range: ${v}`);
    if (v < 0x80n) {
      this.byte(Number(v));
      return;
    }
    const bytes: number[] = [];
    for (let x = v; x > 0n; x >>= 8n) bytes.unshift(Number(x & 0xffn));
    this.byte(256 - bytes.length);
    this.raw(Buffer.from(bytes));
  }

  int(v: number | bigint): void {
    if (typeof v === 'number') {
      if (!Number.isInteger(v)) throw new GobError(`not an integer: ${v}`);
      if (Math.abs(v) < 2 ** 52) {
        this.uint(v < 0 ? -2 * v - 1 : 2 * v);
        return;
      }
      v = BigInt(v);
    }
    if (v < -(1n << 63n) || v >= 1n << 63n) throw new GobError(`signed integer out of range: ${v}`);
    this.uint(v < 0n ? ((~v) << 1n) | 1n : v << 1n);
  }

  float(f: number): void {
    const tmp = Buffer.allocUnsafe(8);
    tmp.writeDoubleLE(f, 0);
    let start = 0;
    while (start < 8 && tmp[start] === 0) start++;
    if (start === 8) {
      this.byte(0);
      return;
    }
    if (start === 7 && tmp[7] < 0x80) {
      this.byte(tmp[7]);
      return;
    }
    this.byte(256 - (8 - start));
    this.raw(tmp.subarray(start));
  }

  bytes(b: Uint8Array): void {
    this.uint(b.length);
    this.raw(b);
  }

  /** Like bytes(), but a long slice is referenced, not copied: it must not change until the chunks are written. */
  bytesByReference(b: Uint8Array): void {
    this.uint(b.length);
    this.ref(b);
  }

  /** Appends b by reference when it is long, else by copy. */
  ref(b: Uint8Array): void {
    if (b.length < REFERENCE_BYTES_MIN) {
      this.raw(b);
      return;
    }
    this.refs.push({at: this.len, bytes: b});
    this.refBytes += b.length;
  }

  /** Bytes written so far, referenced slices included. */
  get size(): number {
    return this.len + this.refBytes;
  }

  /** The bytes written so far as views in order (no copies); valid until the writer is written to again. */
  chunks(): Uint8Array[] {
    if (this.refs.length === 0) return this.len > 0 ? [this.buf.subarray(0, this.len)] : [];
    const out: Uint8Array[] = [];
    let from = 0;
    for (const {at, bytes} of this.refs) {
      if (at > from) out.push(this.buf.subarray(from, at));
      out.push(bytes);
      from = at;
    }
    if (this.len > from) out.push(this.buf.subarray(from, this.len));
    return out;
  }

  string(s: string): void {
    const n = Buffer.byteLength(s, 'utf8');
    this.uint(n);
    this.ensure(n);
    this.buf.write(s, this.len, 'utf8');
    this.len += n;
  }

  raw(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }

  /** The bytes written so far (a view; copy before reusing the writer). Referenced slices are copied in first. */
  view(): Buffer {
    if (this.refs.length > 0) this.inlineRefs();
    return this.buf.subarray(0, this.len);
  }

  reset(): void {
    this.len = 0;
    this.refs = [];
    this.refBytes = 0;
  }

  private inlineRefs(): void {
    const flat = Buffer.allocUnsafe(this.size);
    let n = 0;
    for (const chunk of this.chunks()) {
      flat.set(chunk, n);
      n += chunk.length;
    }
    this.buf = flat;
    this.len = n;
    this.refs = [];
    this.refBytes = 0;
  }
}

/** Length-prefixes one gob message payload. */
export function frameMessage(payload: Uint8Array, out: Writer): void {
  out.uint(payload.length);
  out.raw(payload);
}
