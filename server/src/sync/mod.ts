// Public surface of sync/: verified block sync to the file store, remote retention for
// blocks and dumps, and remote disk usage.
export {BlockSyncer} from './syncer.ts';
export type {BlockOutcome, BlockReport, BlockSyncerOptions, SyncPassResult, SyncStatus} from './types.ts';
export {
  type CleanupDumpsOptions,
  type CleanupRemoteOptions,
  type CleanupResult,
  type DumpDeletion,
  type DumpDeletionReason,
  type RemoteBlockDeletion,
  type RemoteDeletionReason,
  type RemoteUsage,
  type SyncLogger,
  DEFAULT_PARTIAL_GRACE_MS,
  RemoteMetaCache,
  cleanupDumps,
  cleanupRemoteBlocks,
  remoteUsage,
} from './remote.ts';
export {MANIFEST_FILENAME, type Manifest, type ManifestFile, decodeManifest, encodeManifest} from './manifest.ts';
