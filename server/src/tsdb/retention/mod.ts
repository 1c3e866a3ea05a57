// Public surface of tsdb/retention: block dirs on disk, deleting them crash-safely, and
// retention by time and size.
export {
  type BlockDir,
  type DataDirListing,
  type DeleteHooks,
  type UnreadableDir,
  TMP_FOR_CREATION,
  TMP_FOR_DELETION,
  TMP_LEGACY,
  deleteBlockDir,
  dirBytes,
  fsyncDir,
  listDataDir,
  removeLeftovers,
} from './dirs.ts';
export {
  type ApplyRetentionOptions,
  type DataDirStats,
  type Logger,
  type RetentionBlock,
  type RetentionDecision,
  type RetentionOptions,
  type RetentionReason,
  type RetentionResult,
  applyRetention,
  dataDirStats,
  planRetention,
} from './retention.ts';
