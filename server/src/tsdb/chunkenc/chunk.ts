// Chunk encodings (Prometheus tsdb/chunkenc/chunk.go). We write XOR only.

export enum Encoding {
  None = 0,
  XOR = 1,
  Histogram = 2,
  FloatHistogram = 3,
}

export function encodingString(e: number): string {
  switch (e) {
    case Encoding.None:
      return 'none';
    case Encoding.XOR:
      return 'XOR';
    case Encoding.Histogram:
      return 'histogram';
    case Encoding.FloatHistogram:
      return 'floathistogram';
    default:
      return `<unknown encoding ${e}>`;
  }
}

/** Which byte form a chunk is finished in (spec §4.4). */
export type XORForm = 'v2' | 'v3';

/** The stale marker Prometheus writes when a series disappears: 0x7FF0000000000002. */
export const STALE_NAN_HI = 0x7ff00000;
export const STALE_NAN_LO = 0x00000002;
/** Go's math.NaN() (what Prometheus' parsers produce for "NaN"): 0x7FF8000000000001. */
export const GO_NAN_HI = 0x7ff80000;
export const GO_NAN_LO = 0x00000001;

export function isStaleNaNBits(hi: number, lo: number): boolean {
  return hi === STALE_NAN_HI && lo === STALE_NAN_LO;
}

const scratchF64 = new Float64Array(1);
const scratchU32 = new Uint32Array(scratchF64.buffer);
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
const HI = LITTLE_ENDIAN ? 1 : 0;
const LO = LITTLE_ENDIAN ? 0 : 1;

/**
 * Splits a float64 into its IEEE-754 words. Any NaN becomes Go's math.NaN() bit
 * pattern (JS cannot carry NaN payloads reliably; use the raw-bits APIs for those).
 * Returns hi; lo is written to out[0].
 */
export function floatHi(v: number): number {
  if (v !== v) return GO_NAN_HI;
  scratchF64[0] = v;
  return scratchU32[HI];
}

export function floatLo(v: number): number {
  if (v !== v) return GO_NAN_LO;
  scratchF64[0] = v;
  return scratchU32[LO];
}

/** Float64 from words (NaN payloads are not guaranteed to survive as a JS number). */
export function wordsToFloat(hi: number, lo: number): number {
  scratchU32[HI] = hi;
  scratchU32[LO] = lo;
  return scratchF64[0];
}
