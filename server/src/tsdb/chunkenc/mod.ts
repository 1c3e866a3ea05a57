// Public surface of tsdb/chunkenc.
export {BitReader, BitWriter} from './bstream.ts';
export {
  Encoding,
  encodingString,
  type XORForm,
  STALE_NAN_HI,
  STALE_NAN_LO,
  GO_NAN_HI,
  GO_NAN_LO,
  isStaleNaNBits,
  floatHi,
  floatLo,
  wordsToFloat,
} from './chunk.ts';
export {
  XORAppender,
  XORIterator,
  XORColumns,
  XOR_HI,
  XOR_LO,
  decodeXOR,
  decodeXORInto,
  MAX_SAMPLES_PER_CHUNK,
  type XORAppenderOptions,
} from './xor.ts';
