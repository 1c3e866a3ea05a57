// Types of sync/: options, per-block outcomes, pass results and the status for the API.

import type {FileBackend} from '../filestore/backend.ts';
import type {Problem} from '../tsdb/block/mod.ts';
import type {LocalFile, ManifestFile} from './manifest.ts';
import type {CleanupDumpsOptions, DumpDeletion, SyncLogger} from './remote.ts';

export interface BlockSyncerOptions {
  backend: FileBackend;
  /** The TSDB data directory (DB.dir). */
  dataDir: string;
  logger?: SyncLogger;
  /** RetentionDurationDays: only blocks with maxTime after now − this are uploaded; cleanupRemote's default. */
  retentionDays: number;
  /** FileStoreSyncPeriodMinutes. */
  periodMinutes: number;
  /** FileStoreCleanupPeriodMinutes; 0/undefined: cleanup only when cleanupRemote() is called. */
  cleanupPeriodMinutes?: number;
  /** Dump retention applied by the periodic cleanup (DumpRetentionDays / DumpRetentionTotalMB). */
  dumpRetention?: Pick<CleanupDumpsOptions, 'retentionDays' | 'totalMB' | 'protect'>;
  /** Dump dirs (job ids) that retention must keep whatever the settings: jobs still pending or running. */
  protectDump?: (name: string) => boolean;
  /** Told after dump retention deleted dumps, so the job records can say so (called inside the cleanup). */
  onDumpsDeleted?: (deleted: DumpDeletion[]) => void | Promise<void>;
  /** Blocks uploaded at once. Default 2. */
  blockConcurrency?: number;
  /** Files uploaded at once within one block. Default 3. */
  fileConcurrency?: number;
  /** Per-file upload timeout (ms). Default 15 min. */
  fileTimeoutMs?: number;
  /** After uploading: 'size' checks the listed sizes (default); 'sha256' also reads every uploaded file back. */
  verifyUploads?: 'size' | 'sha256';
  /** Blocks already remote: 'size' trusts sizes + manifest (default); 'sha256' reads each block back once per process. */
  verifyRemote?: 'size' | 'sha256';
  /** Checks a local block before it is uploaded (default: verifyBlock inline); run it in a worker if blocks are big. */
  verifyLocal?: (dir: string) => Problem[] | Promise<Problem[]>;
  /** kick() debounce (ms). Default 10 s. */
  kickDelayMs?: number;
  /** stop() waits this long (ms) for the running pass before aborting it. Default 30 s. */
  stopTimeoutMs?: number;
  /** Remote partial leftovers younger than this are kept by cleanup. Default 1 day. */
  partialGraceMs?: number;
  now?: () => number;
  /** Default `plugin-data/mattermost-plugin-metrics/data`. */
  remoteDir?: string;
}

export type BlockOutcome =
  | 'uploaded' // was absent remotely
  | 'repaired' // was incomplete or mismatched
  | 'complete' // ours, verified
  | 'accepted' // written by the Go plugin (no manifest), accepted as is
  | 'outside-retention'
  | 'corrupt' // local block fails verifyBlock: never uploaded
  | 'vanished' // deleted locally while we worked: aborted
  | 'failed';

export interface BlockReport {
  ulid: string;
  outcome: BlockOutcome;
  /** Files written (data files, manifest, meta.json). */
  files?: number;
  bytes?: number;
  /** Why a repair was needed, or what failed. */
  detail?: string;
  error?: string;
}

export interface SyncPassResult {
  startedAt: number;
  finishedAt: number;
  /** A failure that stopped the whole pass (listing). */
  error: string | null;
  blocks: BlockReport[];
  uploaded: number;
  repaired: number;
  failed: number;
  corrupt: number;
  bytesUploaded: number;
}

export interface SyncStatus {
  running: boolean;
  lastPass: (Omit<SyncPassResult, 'blocks'> & {result: 'ok' | 'partial' | 'failed'}) | null;
  lastSuccessAt: number | null;
  lastError: string | null;
  /** Blocks failing on consecutive passes. */
  failingBlocks: Array<{ulid: string; since: number; attempts: number; error: string}>;
  corruptBlocks: string[];
  totals: {passes: number; failedPasses: number; uploadedBlocks: number; repairedBlocks: number; blockFailures: number; bytesUploaded: number};
}

export interface Plan {
  kind: 'skip' | 'upload';
  outcome: BlockOutcome;
  detail?: string;
  /** Removed before anything is uploaded, in order (meta.json first). */
  removeFirst: string[];
  /** Remote files not part of the block that would confuse a reader (extra chunk segments). */
  removeExtra: string[];
  upload: LocalFile[];
  /** Entries of files kept as they are (sha256 known). */
  keep: ManifestFile[];
  /** False when the remote manifest is already right (only meta.json is missing). */
  writeManifest: boolean;
}
