// Public surface of tsdb/wal: our write-ahead log (format: README.md).
export {
  Wal,
  WalError,
  nopLogger,
  type Logger,
  type FsyncPolicy,
  type WalOptions,
  type ReplayVisitor,
  type ReplayStats,
  type CheckpointSeries,
  type TruncateResult,
} from './wal.ts';
export {
  RecordType,
  recordTypeString,
  RecordDecodeError,
  SamplesRecordEncoder,
  SampleColumns,
  encodeSeries,
  encodeChunks,
  encodeMinValidTime,
  decodeSeries,
  decodeSamples,
  decodeChunks,
  decodeMinValidTime,
  beginRecord,
  endRecord,
  type RefSeries,
  type RefChunk,
  RECORD_OVERHEAD,
  MAX_RECORD_PAYLOAD,
} from './record.ts';
export {SEGMENT_MAGIC, SEGMENT_VERSION, SEGMENT_HEADER_LEN, segmentName, parseSegmentName, scanSegment, type SegmentProblem} from './segment.ts';

/** Directory name of our WAL inside a data dir. Prometheus ignores it (not a ULID, not wal/, chunks_head/, wbl/, no .tmp suffix). */
export const WAL_DIR_NAME = 'mm-wal';
