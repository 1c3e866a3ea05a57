// Public surface of tsdb/head: the in-memory appendable store.
export {Head, hashLabels, type HeadOptions, type HeadStats, type TruncateStats} from './head.ts';
export {HeadAppender, AppendError, REJECT_REASONS, type RejectReason, type CommitResult} from './appender.ts';
export {MemSeries, type HeadChunk} from './series.ts';
export {type ReplayCounts} from './replay.ts';
