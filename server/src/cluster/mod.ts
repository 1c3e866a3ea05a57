export {claimDataDir, INSTANCE_FILE} from './instance.ts';
export {Lease, type LeaseHolder, type LeaseKV, type LeaseLogger, type LeaseOptions, type LeaseStatus} from './lease.ts';
export {ClusterFlush, type ClusterFlushOptions, type FlushKV, type FlushLogger, type FlushOutcome, DEFAULT_ACK_POLL_MS, DEFAULT_FLUSH_POLL_MS, FLUSH_DONE_PREFIX, FLUSH_REQUEST_KEY} from './flush.ts';
