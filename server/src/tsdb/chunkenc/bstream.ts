// Bit streams for chunk encodings (Prometheus tsdb/chunkenc/bstream.go).
//
// Bits are written MSB-first within each byte. Values are passed as unsigned 32-bit
// numbers (n <= 32) or as two 32-bit words (n <= 64); no bigint in the hot path.
//
// Prometheus <= 2.55 quirk (spec §4.4): Go's writeByte on a byte-aligned stream leaves an
// extra empty 0x00 byte at the end, so a chunk whose last operation was a whole-byte write
// at an aligned position carries one trailing zero byte. BitWriter tracks whether the last
// operation was such a write (`lastOpWholeBytes`) so the caller can reproduce that form.

/** Growable MSB-first bit writer. Unused bits of the last byte are always zero. */
export class BitWriter {
  buf: Uint8Array;
  /** Total bits written. */
  bitLen = 0;
  /**
   * True when the last write was Go's whole-byte path (writeBits with n a non-zero
   * multiple of 8, or writeByte). Combined with bitLen % 8 === 0 it means Go 2.x would
   * have left an extra 0x00 byte.
   */
  lastOpWholeBytes = false;

  constructor(initialBytes = 128) {
    this.buf = new Uint8Array(initialBytes);
  }

  /** Number of bytes holding the written bits. */
  byteLen(): number {
    return (this.bitLen + 7) >>> 3;
  }

  /** True when Go ≤ 2.55 would have emitted one extra trailing zero byte. */
  hasLegacyTrailingByte(): boolean {
    return this.lastOpWholeBytes && (this.bitLen & 7) === 0;
  }

  /** Ensures room for `bits` more bits plus one spare byte. Keeps new space zeroed. */
  ensure(bits: number): void {
    const need = ((this.bitLen + bits + 7) >>> 3) + 1;
    if (need <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < need) cap *= 2;
    const nb = new Uint8Array(cap);
    nb.set(this.buf.subarray(0, this.byteLen()));
    this.buf = nb;
  }

  /** Truncates to `bitLen` bits (zeroing everything after). */
  truncate(bitLen: number): void {
    const keep = (bitLen + 7) >>> 3;
    this.buf.fill(0, keep);
    if ((bitLen & 7) !== 0) this.buf[keep - 1] &= (0xff << (8 - (bitLen & 7))) & 0xff;
    this.bitLen = bitLen;
  }

  /** Resets to `bitLen` bits of which the first bytes are kept (used for headers). */
  reset(bitLen = 0): void {
    this.buf.fill(0, 0, this.byteLen() + 1);
    this.bitLen = bitLen;
    this.lastOpWholeBytes = false;
  }

  writeBit(bit: number): void {
    this.ensure(1);
    if (bit) this.buf[this.bitLen >>> 3] |= 0x80 >>> (this.bitLen & 7);
    this.bitLen++;
    this.lastOpWholeBytes = false;
  }

  /** Writes the n (0..32) low bits of v, MSB first. Follows Go's writeBits op sequence. */
  writeBits(v: number, n: number): void {
    this.ensure(n);
    this.put(v, n);
    this.lastOpWholeBytes = n >= 8 && (n & 7) === 0;
  }

  /** Writes the n (0..64) low bits of the 64-bit value hi:lo. */
  writeBits64(hi: number, lo: number, n: number): void {
    this.ensure(n);
    if (n > 32) {
      this.put(hi, n - 32);
      this.put(lo, 32);
    } else {
      this.put(lo, n);
    }
    this.lastOpWholeBytes = n >= 8 && (n & 7) === 0;
  }

  /** Go's writeByte. */
  writeByte(b: number): void {
    this.ensure(8);
    this.put(b, 8);
    this.lastOpWholeBytes = true;
  }

  private put(v: number, n: number): void {
    const buf = this.buf;
    let pos = this.bitLen;
    this.bitLen = pos + n;
    if (n < 32) v &= (1 << n) - 1;
    while (n > 0) {
      const idx = pos >>> 3;
      const free = 8 - (pos & 7);
      if (n >= free) {
        n -= free;
        buf[idx] |= (v >>> n) & ((1 << free) - 1);
        pos += free;
      } else {
        buf[idx] |= (v << (free - n)) & 0xff;
        return;
      }
    }
  }
}

/** MSB-first bit reader over a byte slice. Reading past the end sets `eof`. */
export class BitReader {
  private readonly b: Uint8Array;
  /** Bit position. */
  pos: number;
  private readonly endBits: number;
  eof = false;

  constructor(b: Uint8Array, startBit = 0) {
    this.b = b;
    this.pos = startBit;
    this.endBits = b.length * 8;
  }

  readBit(): number {
    const p = this.pos;
    if (p >= this.endBits) {
      this.eof = true;
      return 0;
    }
    this.pos = p + 1;
    return (this.b[p >>> 3] >>> (7 - (p & 7))) & 1;
  }

  /** Reads n (0..32) bits as an unsigned number. */
  readBits(n: number): number {
    let p = this.pos;
    if (p + n > this.endBits) {
      this.eof = true;
      this.pos = this.endBits;
      return 0;
    }
    this.pos = p + n;
    let v = 0;
    const b = this.b;
    while (n > 0) {
      const avail = 8 - (p & 7);
      const byte = b[p >>> 3] & ((1 << avail) - 1);
      if (n >= avail) {
        v = v * (1 << avail) + byte; // multiply: stays exact above 2^31
        n -= avail;
        p += avail;
      } else {
        v = v * (1 << n) + (byte >>> (avail - n));
        break;
      }
    }
    return v;
  }
}
