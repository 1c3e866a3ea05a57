// Public surface of tsdb/block: write, open and verify whole blocks.
export {writeBlock, writeSortedBlock, type Sample, type SeriesInput, type SortedSeriesInput, type WriteBlockOptions, type WriteBlockResult} from './writer.ts';
export {Block, openBlock, chunkSamples, decodeChunkColumns, finishChunkColumns, type BlockSeries, type Matcher, type MatchType, type ReadSample} from './reader.ts';
export {verifyBlock, verifyBlockDetailed, type Problem, type VerifyResult} from './verify.ts';
export {type BlockMeta, type BlockMetaCompaction, type BlockDesc, type BlockStats, encodeMeta, decodeMeta, readMetaFile, writeMetaFile, META_FILENAME} from './meta.ts';
export {ChunkCutter, type CuttingRule, type CutOptions, DEFAULT_CHUNK_RANGE, DEFAULT_SAMPLES_PER_CHUNK} from './cut.ts';
export {newULID, MonotonicULID, isULID, ulidTime} from './ulid.ts';
