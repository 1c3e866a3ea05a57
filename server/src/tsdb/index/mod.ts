// Public surface of tsdb/index.
export {
  IndexReader,
  IndexWriter,
  type ChunkMeta,
  type IndexLayout,
  type IndexWriterOptions,
  type SeriesEntry,
  type TOC,
  MAGIC_INDEX,
  FORMAT_V2,
} from './index.ts';
