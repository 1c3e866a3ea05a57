// Public surface of remote/: file-store blocks copied on demand into a bounded local
// cache, and the query source over head + local blocks + those copies.
export {
  type BlockLease,
  DEFAULT_LISTING_TTL_MS,
  DEFAULT_REMOTE_CACHE_BYTES,
  REMOTE_CACHE_DIR,
  type RemoteBlock,
  RemoteBlockCache,
  type RemoteBlockCacheOptions,
  RemoteBlockCorruptError,
  RemoteCacheTooSmallError,
} from './cache.ts';
export {
  estimateWindow,
  NoDataSourceError,
  openQuerySource,
  type QuerySource,
  selectRemoteBlocks,
  type StoreSources,
  WindowRecorder,
  withQuerySource,
} from './source.ts';
