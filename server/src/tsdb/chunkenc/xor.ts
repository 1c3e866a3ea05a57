// XOR ("Gorilla") float chunk (Prometheus tsdb/chunkenc/xor.go). Layout: spec §4 and
// ../README.md. Bit-for-bit the same stream Go writes; the only choice is the
// trailing-byte form (XORForm): 'v2' reproduces Prometheus ≤ 2.55 / promtool 2.42
// (an extra 0x00 byte after an aligned whole-byte write), 'v3' is Prometheus ≥ 3.0.
// Both are read by 2.x and 3.x.

import {WriterError} from '../encoding/errors.ts';
import {BitReader, BitWriter} from './bstream.ts';
import {
  GO_NAN_HI,
  GO_NAN_LO,
  STALE_NAN_HI,
  STALE_NAN_LO,
  type XORForm,
  isStaleNaNBits,
  wordsToFloat,
} from './chunk.ts';

const TWO32 = 0x1_0000_0000;
/** Largest number of samples a chunk header can count. */
export const MAX_SAMPLES_PER_CHUNK = 0xffff;
const HEADER_BITS = 16;

const scratchF64 = new Float64Array(1);
const scratchU32 = new Uint32Array(scratchF64.buffer);
const LE = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
const IHI = LE ? 1 : 0;
const ILO = LE ? 0 : 1;

function ctz32(x: number): number {
  return 31 - Math.clz32(x & -x);
}

export interface XORAppenderOptions {
  /** Trailing-byte form of bytes(); default 'v2' (promtool 2.42 byte parity). */
  form?: XORForm;
}

/**
 * Encodes samples into one XOR chunk. Timestamps are integer ms (safe integers),
 * strictly increasing. Reuse one appender for many chunks with reset().
 */
export class XORAppender {
  private readonly w = new BitWriter(256);
  private readonly form: XORForm;
  private n = 0;
  // Doubles from the start (ms timestamps and uint32 bit halves outgrow small integers):
  // V8 then never changes these fields' layout inside a first commit of many series.
  private t = -Infinity;
  private tDelta = 0;
  private vHi = NaN;
  private vLo = NaN;
  /** Leading-zero count of the current window; 0xff = no window yet. */
  private leading = 0xff;
  private trailing = 0;

  constructor(opts: XORAppenderOptions = {}) {
    this.form = opts.form ?? 'v2';
    this.w.reset(HEADER_BITS);
  }

  /**
   * An appender continuing an existing chunk (either form). Appending to it yields the
   * same bytes as encoding all samples in one go. Throws CorruptionError-free
   * WriterError if the chunk does not decode.
   */
  static fromChunk(data: Uint8Array, opts: XORAppenderOptions = {}): XORAppender {
    const a = new XORAppender(opts);
    const it = new XORIterator(data);
    while (it.next()) {
      /* decode to the end */
    }
    if (it.err !== null) throw new WriterError(`append to chunk: ${it.err}`);
    const st = it.state();
    a.w.ensure(st.bitPos);
    a.w.buf.set(data.subarray(0, Math.min(data.length, (st.bitPos + 7) >>> 3)));
    a.w.truncate(st.bitPos);
    a.w.bitLen = st.bitPos;
    a.w.lastOpWholeBytes = data.length > (st.bitPos + 7) >>> 3;
    a.n = st.n;
    a.t = st.t;
    a.tDelta = st.tDelta;
    a.vHi = st.hi;
    a.vLo = st.lo;
    a.leading = st.windowSeen ? st.leading : 0xff;
    a.trailing = st.windowSeen ? st.trailing : 0;
    return a;
  }

  /** Starts a new, empty chunk (keeps the buffer). */
  reset(): void {
    this.w.reset(HEADER_BITS);
    this.n = 0;
    this.leading = 0xff;
    this.trailing = 0;
  }

  numSamples(): number {
    return this.n;
  }

  /** Timestamp of the last appended sample (undefined if empty). */
  lastT(): number | undefined {
    return this.n === 0 ? undefined : this.t;
  }

  /** Current encoded size in bytes (as bytes() would return). */
  byteLength(): number {
    return this.w.byteLen() + (this.form === 'v2' && this.w.hasLegacyTrailingByte() ? 1 : 0);
  }

  /** Appends a sample; any NaN is stored as Go's math.NaN() bits. */
  append(t: number, v: number): void {
    if (v !== v) {
      this.appendBits(t, GO_NAN_HI, GO_NAN_LO);
      return;
    }
    scratchF64[0] = v;
    this.appendBits(t, scratchU32[IHI], scratchU32[ILO]);
  }

  /** Appends a stale marker (0x7FF0000000000002). */
  appendStale(t: number): void {
    this.appendBits(t, STALE_NAN_HI, STALE_NAN_LO);
  }

  /** Appends a sample given the raw IEEE-754 words of its value. */
  appendBits(t: number, hi: number, lo: number): void {
    hi >>>= 0;
    lo >>>= 0;
    const w = this.w;
    const n = this.n;
    if (n === 0) {
      if (!Number.isSafeInteger(t)) throw new WriterError(`timestamp ${t} is not a safe integer`);
      w.ensure(64 + 80);
      this.putVarintBytes(t);
      w.writeBits64(hi, lo, 64);
    } else {
      if (n >= MAX_SAMPLES_PER_CHUNK) throw new WriterError('chunk is full (65535 samples)');
      const tDelta = t - this.t;
      if (!(tDelta > 0) || !Number.isSafeInteger(t)) {
        throw new WriterError(`out-of-order or duplicate timestamp ${t} after ${this.t}`);
      }
      w.ensure(64 + 72 + 80);
      if (n === 1) {
        this.putUvarintBytes(tDelta);
      } else {
        const dod = tDelta - this.tDelta;
        if (dod === 0) {
          w.writeBit(0);
        } else if (dod >= -8191 && dod <= 8192) {
          w.writeBits(0b10, 2);
          w.writeBits(dod & 0x3fff, 14);
        } else if (dod >= -65535 && dod <= 65536) {
          w.writeBits(0b110, 3);
          w.writeBits(dod & 0x1ffff, 17);
        } else if (dod >= -524287 && dod <= 524288) {
          w.writeBits(0b1110, 4);
          w.writeBits(dod & 0xfffff, 20);
        } else {
          w.writeBits(0b1111, 4);
          const dhi = Math.floor(dod / TWO32);
          w.writeBits64(dhi >>> 0, (dod - dhi * TWO32) >>> 0, 64);
        }
      }
      this.tDelta = tDelta;
      this.writeValue(hi, lo);
    }
    this.t = t;
    this.vHi = hi;
    this.vLo = lo;
    this.n = n + 1;
  }

  private writeValue(hi: number, lo: number): void {
    const w = this.w;
    const dHi = (hi ^ this.vHi) >>> 0;
    const dLo = (lo ^ this.vLo) >>> 0;
    if (dHi === 0 && dLo === 0) {
      w.writeBit(0);
      return;
    }
    w.writeBit(1);
    let lead = dHi !== 0 ? Math.clz32(dHi) : 32 + Math.clz32(dLo);
    if (lead >= 32) lead = 31;
    const trail = dLo !== 0 ? ctz32(dLo) : 32 + ctz32(dHi);
    let shift: number;
    let nbits: number;
    if (this.leading !== 0xff && lead >= this.leading && trail >= this.trailing) {
      w.writeBit(0);
      shift = this.trailing;
      nbits = 64 - this.leading - this.trailing;
    } else {
      this.leading = lead;
      this.trailing = trail;
      w.writeBit(1);
      nbits = 64 - lead - trail;
      // 5 bits leading + 6 bits significant (64 is written as 0): one 11-bit write
      // is bit-identical to Go's two writeBits calls, but the whole-byte flag must
      // follow the last Go call (6 bits → not whole bytes); the value write below
      // overwrites it anyway.
      w.writeBits((lead << 6) | (nbits & 63), 11);
      shift = trail;
    }
    // (dHi:dLo) >> shift, then write nbits of it.
    if (shift >= 32) {
      w.writeBits(dHi >>> (shift - 32), nbits);
    } else if (shift === 0) {
      w.writeBits64(dHi, dLo, nbits);
    } else {
      w.writeBits64(dHi >>> shift, ((dLo >>> shift) | (dHi << (32 - shift))) >>> 0, nbits);
    }
  }

  private putVarintBytes(t: number): void {
    this.putUvarintBytes(t >= 0 ? t * 2 : -t * 2 - 1);
  }

  /** uvarint bytes through Go's writeByte (byte-aligned here, but written generally). */
  private putUvarintBytes(x: number): void {
    const w = this.w;
    while (x >= 0x80) {
      w.writeByte((x % 0x80) | 0x80);
      x = Math.floor(x / 0x80);
    }
    w.writeByte(x);
  }

  /**
   * The chunk data (header with sample count + bit stream) in the configured form.
   * Returns a view into the appender's buffer, valid until the next append/reset.
   */
  bytes(): Uint8Array {
    const w = this.w;
    const buf = w.buf;
    buf[0] = this.n >>> 8;
    buf[1] = this.n & 0xff;
    return buf.subarray(0, this.byteLength());
  }
}

/** Decoder state after the last decoded sample (used to continue appending). */
export interface XORIteratorState {
  n: number;
  t: number;
  tDelta: number;
  hi: number;
  lo: number;
  leading: number;
  trailing: number;
  windowSeen: boolean;
  bitPos: number;
}

/**
 * Iterates the samples of an XOR chunk. `next()` returns false at the end or on a
 * decoding error (`err` then holds a description). After next() returns true: `t` (ms),
 * `v` (float), `hi`/`lo` (raw value words), `isStale()`.
 */
export class XORIterator {
  private readonly r: BitReader;
  private readonly total: number;
  private read = 0;
  t = 0;
  hi = 0;
  lo = 0;
  private tDelta = 0;
  private leading = 0;
  private trailing = 0;
  private windowSeen = false;
  err: string | null = null;
  private readonly data: Uint8Array;

  constructor(data: Uint8Array) {
    this.data = data;
    if (data.length < 2) {
      this.total = 0;
      this.err = `chunk data too short (${data.length} bytes)`;
    } else {
      this.total = (data[0] << 8) | data[1];
    }
    this.r = new BitReader(data, HEADER_BITS);
  }

  /** Number of samples according to the header. */
  numSamples(): number {
    return this.total;
  }

  get v(): number {
    return wordsToFloat(this.hi, this.lo);
  }

  isStale(): boolean {
    return isStaleNaNBits(this.hi, this.lo);
  }

  state(): XORIteratorState {
    return {
      n: this.read,
      t: this.t,
      tDelta: this.tDelta,
      hi: this.hi,
      lo: this.lo,
      leading: this.leading,
      trailing: this.trailing,
      windowSeen: this.windowSeen,
      bitPos: this.r.pos,
    };
  }

  next(): boolean {
    if (this.err !== null || this.read >= this.total) return false;
    const r = this.r;
    if (this.read === 0) {
      const u = this.readUvarint();
      this.t = u % 2 === 0 ? u / 2 : -(u + 1) / 2;
      this.hi = r.readBits(32);
      this.lo = r.readBits(32);
    } else if (this.read === 1) {
      this.tDelta = this.readUvarint();
      this.t += this.tDelta;
      this.readValue();
    } else {
      // Prefix: up to four bits, stopping at the first 0 ('0', '10', '110', '1110', '1111').
      let ones = 0;
      while (ones < 4 && r.readBit() === 1) ones++;
      let dod: number;
      if (ones === 0) {
        dod = 0;
      } else if (ones < 4) {
        const n = ones === 1 ? 14 : ones === 2 ? 17 : 20;
        dod = signExtend(r.readBits(n), n);
      } else {
        const dhi = r.readBits(32) | 0;
        const dlo = r.readBits(32);
        dod = dhi * TWO32 + dlo;
        if (!Number.isSafeInteger(dod)) return this.fail('timestamp delta-of-delta out of range');
      }
      this.tDelta += dod;
      this.t += this.tDelta;
      this.readValue();
    }
    if (r.eof) return this.fail(`unexpected end of chunk data at sample ${this.read} of ${this.total}`);
    if (this.read > 0 && this.tDelta <= 0) return this.fail(`non-increasing timestamp at sample ${this.read}`);
    if (!Number.isSafeInteger(this.t)) return this.fail('timestamp out of range');
    this.read++;
    return true;
  }

  private fail(msg: string): boolean {
    this.err = msg;
    return false;
  }

  private readUvarint(): number {
    const r = this.r;
    let x = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      const c = r.readBits(8);
      if (r.eof) return 0;
      x += (c & 0x7f) * mul;
      if (c < 0x80) return x;
      mul *= 0x80;
    }
    this.err = 'invalid varint in chunk';
    return 0;
  }

  private readValue(): void {
    const r = this.r;
    if (r.readBit() === 0) return;
    let nbits: number;
    if (r.readBit() === 0) {
      if (!this.windowSeen) {
        // Go's iterator starts with leading = trailing = 0 (a 64-bit window).
        this.windowSeen = true;
        this.leading = 0;
        this.trailing = 0;
      }
      nbits = 64 - this.leading - this.trailing;
    } else {
      this.leading = r.readBits(5);
      nbits = r.readBits(6);
      if (nbits === 0) nbits = 64;
      if (this.leading + nbits > 64) {
        this.err = `invalid XOR window (leading ${this.leading}, significant ${nbits})`;
        return;
      }
      this.trailing = 64 - this.leading - nbits;
      this.windowSeen = true;
    }
    let bhi = 0;
    let blo: number;
    if (nbits > 32) {
      bhi = r.readBits(nbits - 32);
      blo = r.readBits(32);
    } else {
      blo = r.readBits(nbits);
    }
    const s = this.trailing;
    if (s >= 32) {
      bhi = s === 32 ? blo : blo << (s - 32);
      blo = 0;
    } else if (s > 0) {
      bhi = (bhi << s) | (blo >>> (32 - s));
      blo = blo << s;
    }
    this.hi = (this.hi ^ bhi) >>> 0;
    this.lo = (this.lo ^ blo) >>> 0;
  }

  /** The raw chunk bytes this iterator decodes. */
  bytes(): Uint8Array {
    return this.data;
  }
}

function signExtend(b: number, n: number): number {
  return b > 2 ** (n - 1) ? b - 2 ** n : b;
}

/** Decodes a whole chunk into arrays; throws Error on malformed data. */
export function decodeXOR(data: Uint8Array): {t: number[]; hi: number[]; lo: number[]} {
  const it = new XORIterator(data);
  const t: number[] = [];
  const hi: number[] = [];
  const lo: number[] = [];
  while (it.next()) {
    t.push(it.t);
    hi.push(it.hi);
    lo.push(it.lo);
  }
  if (it.err !== null) throw new Error(it.err);
  return {t, hi, lo};
}

/**
 * Reusable output of decodeXORInto. `v` and the raw words share one buffer: sample i's
 * value is v[i], its IEEE-754 words are words[2i + XOR_HI] and words[2i + XOR_LO].
 */
export class XORColumns {
  t = new Float64Array(0);
  v = new Float64Array(0);
  words = new Uint32Array(0);
  /** Set when decoding stopped on malformed data (the message XORIterator.err would hold). */
  err: string | null = null;

  /** Makes room for n samples, keeping those held. */
  ensure(n: number): void {
    if (this.t.length >= n) return;
    const cap = Math.max(n, 2 * this.t.length, 256);
    const t = new Float64Array(cap);
    const v = new Float64Array(cap);
    t.set(this.t);
    v.set(this.v);
    this.t = t;
    this.v = v;
    this.words = new Uint32Array(v.buffer);
  }
}

/** Index offsets of the high and low word of a value in XORColumns.words. */
export const XOR_HI = IHI;
export const XOR_LO = ILO;

/**
 * Decodes a whole chunk into `out` from index `at` and returns how many samples it holds: exactly the
 * samples XORIterator yields, in order, and out.err = the iterator's final err. Locals
 * instead of iterator state, and 32-bit reads instead of byte loops: a few times faster.
 */
export function decodeXORInto(data: Uint8Array, out: XORColumns, at = 0): number {
  out.err = null;
  if (data.length < 2) {
    out.err = `chunk data too short (${data.length} bytes)`;
    return 0;
  }
  const total = (data[0] << 8) | data[1];
  out.ensure(at + total);
  const ot = out.t;
  const ow = out.words;
  const end = data.length * 8;
  let pos = HEADER_BITS;
  let eof = false;
  let err: string | null = null;
  let t = 0;
  let tDelta = 0;
  let hi = 0;
  let lo = 0;
  let leading = 0;
  let trailing = 0;
  let windowSeen = false;
  let n = 0;
  // Bit reads mirror BitReader: past the end, eof is set and the read returns 0
  // (readBits moves to the end, readBit stays).
  for (; n < total; n++) {
    if (n < 2) {
      // Unsigned varint: the first timestamp (zig-zag) or the first delta.
      let u = 0;
      let mul = 1;
      let done = false;
      for (let i = 0; i < 10; i++) {
        let c = 0;
        if (pos + 8 > end) {
          eof = true;
          pos = end;
        } else {
          c = readBitsAt(data, pos, 8);
          pos += 8;
        }
        if (eof) {
          u = 0;
          done = true;
          break;
        }
        u += (c & 0x7f) * mul;
        if (c < 0x80) {
          done = true;
          break;
        }
        mul *= 0x80;
      }
      if (!done) {
        err = 'invalid varint in chunk';
        u = 0;
      }
      if (n === 0) {
        t = u % 2 === 0 ? u / 2 : -(u + 1) / 2;
        if (pos + 32 > end) {
          eof = true;
          pos = end;
          hi = 0;
        } else {
          hi = readBitsAt(data, pos, 32);
          pos += 32;
        }
        if (pos + 32 > end) {
          eof = true;
          pos = end;
          lo = 0;
        } else {
          lo = readBitsAt(data, pos, 32);
          pos += 32;
        }
        if (eof) {
          err = `unexpected end of chunk data at sample ${n} of ${total}`;
          break;
        }
        if (!Number.isSafeInteger(t)) {
          err = 'timestamp out of range';
          break;
        }
        ot[at + n] = t;
        ow[2 * (at + n) + IHI] = hi;
        ow[2 * (at + n) + ILO] = lo;
        if (err !== null) {
          n++;
          break;
        }
        continue;
      }
      tDelta = u;
      t += tDelta;
    } else {
      // Prefix: up to four bits, stopping at the first 0 ('0', '10', '110', '1110', '1111').
      let ones = 0;
      if (pos + 4 <= end) {
        // All four prefix bits are there: read them at once.
        const p4 = readBitsAt(data, pos, 4);
        ones = p4 < 8 ? 0 : p4 < 12 ? 1 : p4 < 14 ? 2 : p4 < 15 ? 3 : 4;
        pos += ones < 4 ? ones + 1 : 4;
      } else {
        while (ones < 4) {
          let bit = 0;
          if (pos >= end) eof = true;
          else {
            bit = (data[pos >>> 3] >>> (7 - (pos & 7))) & 1;
            pos++;
          }
          if (bit !== 1) break;
          ones++;
        }
      }
      let dod = 0;
      if (ones === 0) {
        dod = 0;
      } else if (ones < 4) {
        const nb = ones === 1 ? 14 : ones === 2 ? 17 : 20;
        let b = 0;
        if (pos + nb > end) {
          eof = true;
          pos = end;
        } else {
          b = readBitsAt(data, pos, nb);
          pos += nb;
        }
        dod = signExtend(b, nb);
      } else {
        let dhi = 0;
        let dlo = 0;
        if (pos + 32 > end) {
          eof = true;
          pos = end;
        } else {
          dhi = readBitsAt(data, pos, 32) | 0;
          pos += 32;
        }
        if (pos + 32 > end) {
          eof = true;
          pos = end;
        } else {
          dlo = readBitsAt(data, pos, 32);
          pos += 32;
        }
        dod = dhi * TWO32 + dlo;
        if (!Number.isSafeInteger(dod)) {
          err = 'timestamp delta-of-delta out of range';
          break;
        }
      }
      tDelta += dod;
      t += tDelta;
    }
    // The value (XORIterator.readValue).
    let control = 0;
    if (pos >= end) eof = true;
    else {
      control = (data[pos >>> 3] >>> (7 - (pos & 7))) & 1;
      pos++;
    }
    if (control !== 0) {
      let second = 0;
      if (pos >= end) eof = true;
      else {
        second = (data[pos >>> 3] >>> (7 - (pos & 7))) & 1;
        pos++;
      }
      let nbits = 0;
      let valid = true;
      if (second === 0) {
        if (!windowSeen) {
          windowSeen = true;
          leading = 0;
          trailing = 0;
        }
        nbits = 64 - leading - trailing;
      } else {
        if (pos + 5 > end) {
          eof = true;
          pos = end;
          leading = 0;
        } else {
          leading = readBitsAt(data, pos, 5);
          pos += 5;
        }
        if (pos + 6 > end) {
          eof = true;
          pos = end;
          nbits = 0;
        } else {
          nbits = readBitsAt(data, pos, 6);
          pos += 6;
        }
        if (nbits === 0) nbits = 64;
        if (leading + nbits > 64) {
          err = `invalid XOR window (leading ${leading}, significant ${nbits})`;
          valid = false;
        } else {
          trailing = 64 - leading - nbits;
          windowSeen = true;
        }
      }
      if (valid) {
        let bhi = 0;
        let blo = 0;
        if (nbits > 32) {
          const nh = nbits - 32;
          if (pos + nh > end) {
            eof = true;
            pos = end;
          } else {
            bhi = readBitsAt(data, pos, nh);
            pos += nh;
          }
          if (pos + 32 > end) {
            eof = true;
            pos = end;
            blo = 0;
          } else {
            blo = readBitsAt(data, pos, 32);
            pos += 32;
          }
        } else if (pos + nbits > end) {
          eof = true;
          pos = end;
        } else {
          blo = readBitsAt(data, pos, nbits);
          pos += nbits;
        }
        const s = trailing;
        if (s >= 32) {
          bhi = s === 32 ? blo : blo << (s - 32);
          blo = 0;
        } else if (s > 0) {
          bhi = (bhi << s) | (blo >>> (32 - s));
          blo = blo << s;
        }
        hi = (hi ^ bhi) >>> 0;
        lo = (lo ^ blo) >>> 0;
      }
    }
    if (eof) {
      err = `unexpected end of chunk data at sample ${n} of ${total}`;
      break;
    }
    if (tDelta <= 0) {
      err = `non-increasing timestamp at sample ${n}`;
      break;
    }
    if (!Number.isSafeInteger(t)) {
      err = 'timestamp out of range';
      break;
    }
    ot[at + n] = t;
    ow[2 * (at + n) + IHI] = hi;
    ow[2 * (at + n) + ILO] = lo;
    if (err !== null) {
      // A varint or window error still yields this sample (as XORIterator does), then stops.
      n++;
      break;
    }
  }
  out.err = err;
  return n;
}

/** The `n` (1..32) bits at bit position `pos`, as an unsigned number; pos + n must be within data. */
function readBitsAt(data: Uint8Array, pos: number, n: number): number {
  const i = pos >>> 3;
  const s = pos & 7;
  let w: number;
  if (i + 4 < data.length) {
    w = ((data[i] << 24) | (data[i + 1] << 16) | (data[i + 2] << 8) | data[i + 3]) << s;
    if (s > 0) w |= data[i + 4] >>> (8 - s);
  } else {
    // Near the end: gather the remaining bytes, zero-padded.
    w = 0;
    for (let k = 0; k < 4; k++) w = (w << 8) | (i + k < data.length ? data[i + k] : 0);
    w <<= s;
    if (s > 0 && i + 4 < data.length) w |= data[i + 4] >>> (8 - s);
  }
  return n === 32 ? w >>> 0 : w >>> (32 - n);
}
