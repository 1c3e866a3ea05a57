// Go's encoding/gob, both directions. Nothing outside bridge/ imports this.
export {Decoder, type Decoded, type DecoderOptions} from './decoder.ts';
export {Encoder} from './encoder.ts';
export {GobError} from './wire.ts';
export * from './types.ts';
