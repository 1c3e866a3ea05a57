// Public surface of tsdb/encoding.
export {crc32c, crc32cUpdate} from './crc32c.ts';
export {Encbuf, Decbuf, newDecbufAt, newDecbufUvarintAt, uvarintSize, zigzag, hex32} from './encoding.ts';
export {CorruptionError, WriterError, isCorruptionError} from './errors.ts';
