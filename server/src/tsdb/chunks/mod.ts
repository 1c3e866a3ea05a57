// Public surface of tsdb/chunks.
export {
  ChunkReader,
  ChunkWriter,
  type ChunkRef,
  type ChunkWriterOptions,
  type RawChunk,
  chunkRef,
  chunkRefOffset,
  chunkRefSegment,
  segmentFileName,
  DEFAULT_CHUNK_SEGMENT_SIZE,
  MAGIC_CHUNKS,
} from './chunks.ts';
