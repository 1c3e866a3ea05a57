// Public surface of tsdb/compact: planning (pure) and executing compactions of a data dir.
export {
  type CompactionGroup,
  type CompactionKind,
  type PlanOptions,
  type Superseded,
  DEFAULT_RANGES,
  PROMETHEUS_RANGES,
  checkRanges,
  compactedMeta,
  findSuperseded,
  plan,
  selectOverlapping,
  splitByRange,
} from './plan.ts';
export {
  type BlockWriteOptions,
  type CompactError,
  type CompactOptions,
  type CompactResult,
  type CompactStep,
  type CompactedBlock,
  compact,
  mergeBlocks,
} from './compact.ts';
