// The JSON the plugin's server routes answer with (server/src/api/status.ts, server/src/dump/jobs.ts).

export type JobStatus = 'pending' | 'in_progress' | 'success' | 'error';

export interface DumpJob {
  id: string;
  status: JobStatus | string;
  create_at: number;
  /** The requested range until the job succeeds, then the actual range (as upstream). */
  min_t: number;
  max_t: number;
  dump_location?: string;
  progress?: number;
  phase?: string;
  error?: string;
  requested_min_t?: number;
  requested_max_t?: number;
  actual_min_t?: number;
  actual_max_t?: number;
  size?: number;
  nodes?: string[];
  created_by?: string;
  file_name?: string;
  node?: string;
  update_at?: number;
  finish_at?: number;
  /** The dump file was deleted (dump retention); the job stays `success`, the download answers 410. */
  expired?: boolean;
  expired_at?: number;
  expired_reason?: string;
  /** The dump was built but may be incomplete (e.g. the scraping node did not flush in time). */
  warning?: string;
}

export interface TSDBStats {
  min_t: number;
  max_t: number;
  num_samples: number;
  num_series: number;
}

export interface TargetHealth {
  job: string;
  instance: string;
  url: string;
  health: 'up' | 'down' | 'unknown';
  lastScrape: number | null;
  lastDurationMs: number | null;
  lastError: string | null;
  samples: number;
  rejected: number;
}

export interface RemoteUsage {
  blocks: number;
  partialBlocks: number;
  bytes: number;
  oldest: number | null;
  newest: number | null;
  dumps: number;
  dumpBytes: number;
}

export interface PluginStatus {
  node: string;
  isLeader: boolean;
  leader: {node: string; since: number; ageMs: number | null} | null;
  targets: TargetHealth[];
  lastScrape: number | null;
  store: {
    dataDir: string;
    headSeries: number;
    headSamples: number;
    headMinTime: number | null;
    headMaxTime: number | null;
    rejectedSamples: number;
    blocks: number;
    blockBytes: number;
    walBytes: number;
    lastCut: number | null;
    lastCompaction: number | null;
    lastRetention: number | null;
    unreadableBlocks: Array<{dir: string; error: string}>;
  } | null;
  remote: {
    fileStore: string;
    lastSync: number | null;
    sync: {
      running: boolean;
      lastSuccessAt: number | null;
      lastError: string | null;
      failingBlocks: Array<{ulid: string; since: number; attempts: number; error: string}>;
      corruptBlocks: string[];
    };
    usage: RemoteUsage | {error: string};
  } | null;
  warnings: {settings: string[]; metrics: string | null; fileStore: string | null};
}

/** Props the System Console hands a custom setting (only the ones read here). */
export interface CustomSettingProps {
  id?: string;
  disabled?: boolean;
}
