// The plugin: wires configuration, logging and the HTTP routes together. The
// only module that knows every part.

import {randomUUID} from 'node:crypto';
import {readFile} from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import type {
  MattermostConfig,
  MattermostPlugin,
  PluginAPI,
  PluginContext,
  PluginLogger,
  SupportFile,
} from './bridge/mattermost/index.ts';
import {changedSettings, defaultSettings, parseSettings, requireValidSettings, SettingsError, type Settings} from './config/mod.ts';
import {addJobRoutes, addQueryRoutes, Router, statusBody, tsdbStatsBody, withPrometheusErrorEnvelope, type JobsSource, type StatusSource} from './api/mod.ts';
import {ClusterFlush, Lease, claimDataDir} from './cluster/mod.ts';
import {ConformanceRoutes, conformanceEnabled} from './conformance/routes.ts';
import {type DumpMetadata, DumpJobRunner, DumpJobStore, JOB_FLUSH_WAIT_MS, SUPPORT_FLUSH_WAIT_MS, dumpPrepare, supportPacketFiles} from './dump/mod.ts';
import {backendFromConfig, type FileBackend} from './filestore/mod.ts';
import {REMOTE_CACHE_DIR, RemoteBlockCache, type StoreSources} from './remote/mod.ts';
import {RemoteMetaCache} from './sync/remote.ts';
import {ScrapeManager, type ScrapeConfig, type TargetHealth} from './scrape/mod.ts';
import {BlockSyncer, type DumpDeletionReason} from './sync/mod.ts';
import {TargetWatcher, type Target} from './targets/mod.ts';
import {DB, type TaskRunner} from './tsdb/db.ts';
import {WorkerPool} from './worker/mod.ts';

export const pluginId = 'com.mattermost.mattermost-plugin-metrics';

/** What an admin needs to know that is not an error of a single request. */
export interface PluginWarnings {
  /** Settings that were rejected (the previous valid settings stay in force). */
  settings: string[];
  /** The server's own metrics are off and could not be turned on (licence). */
  metrics: string | null;
  /** The file store is not usable (bad FileSettings); blocks stay local only. */
  fileStore: string | null;
}

/** Upkeep of the store (block cuts, compaction, retention). */
const maintenanceEveryMs = 60_000;
/** Only one node scrapes; the others stand by. */
const leaderKey = 'leader_scrape';

function syncSettings(s: Settings) {
  return {
    retentionDays: s.retentionDurationDays,
    periodMinutes: s.fileStoreSyncPeriodMinutes,
    cleanupPeriodMinutes: s.fileStoreCleanupPeriodMinutes,
    dumpRetention: {retentionDays: s.dumpRetentionDays, totalMB: s.dumpRetentionTotalMB},
  };
}

function scrapeConfig(s: Settings): ScrapeConfig {
  return {
    intervalMs: s.scrapeIntervalSeconds * 1000,
    timeoutMs: s.scrapeTimeoutSeconds * 1000,
    honorLabels: s.honorLabels,
    honorTimestamps: s.honorTimestamps,
    bodySizeLimit: s.bodySizeLimitBytes,
    sampleLimit: s.sampleLimit,
    labelLimit: s.labelLimit,
    labelNameLengthLimit: s.labelNameLengthLimit,
    labelValueLengthLimit: s.labelValueLengthLimit,
  };
}

/** What collection runs while the plugin is active. */
interface Collection {
  db: DB;
  lease: Lease;
  watcher: TargetWatcher;
  scraper: ScrapeManager;
  maintenance: NodeJS.Timeout;
  targets: Target[];
  /** Null when the file store could not be set up (see warnings.fileStore). */
  syncer: BlockSyncer | null;
  backend: FileBackend | null;
  /** Null without a file store. */
  jobs: JobsSource | null;
  /** File-store blocks copied for queries; null without a file store. */
  remoteCache: RemoteBlockCache | null;
  /** Flush requests between a node building a dump and the scraping node. */
  flusher: ClusterFlush;
  /** meta.json of file-store blocks, for the dumps' newest-block check. */
  remoteMeta: RemoteMetaCache;
}

export class MetricsPlugin implements MattermostPlugin {
  private api: PluginAPI | undefined;
  private settings: Settings = {...defaultSettings};
  private readonly conformance: ConformanceRoutes | undefined;
  private collection: Collection | undefined;
  private readonly router: Router;
  /** This process in the cluster's leadership lease. */
  readonly nodeId = `${os.hostname()}#${randomUUID().slice(0, 8)}`;
  readonly warnings: PluginWarnings = {settings: [], metrics: null, fileStore: null};
  /** Heavy work (block writes, compaction, dumps) runs here, off the event loop. */
  readonly workers = new WorkerPool(1);

  constructor(private readonly log: PluginLogger) {
    this.conformance = conformanceEnabled() ? new ConformanceRoutes(() => this.api, this.workers) : undefined;
    this.router = new Router({
      isAdmin: async (userId) => (await this.api?.hasPermissionTo(userId, 'manage_system')) ?? false,
      onError: (request, err) => this.log.error('API request failed', {path: new URL(request.url).pathname, error: (err as Error).message}),
    })
      .add('GET', '/status', async () => Response.json(await statusBody(this.statusSource())))
      .add('GET', '/tsdb/stats', () => Response.json(tsdbStatsBody(this.statusSource().store())));
    addJobRoutes(this.router, () => this.collection?.jobs ?? null);
    addQueryRoutes(this.router, {stores: () => this.queryStores()});
  }

  private statusSource(): StatusSource {
    const c = this.collection;
    return {
      node: this.nodeId,
      isLeader: () => c?.lease.isLeader ?? false,
      leader: async () => {
        if (!c) return null;
        const st = await c.lease.status();
        return st.holder ? {...st.holder, ageMs: st.ageMs} : null;
      },
      targets: () => this.targetHealth(),
      store: () => (c ? {...c.db.stats(), dataDir: c.db.dir} : null),
      warnings: () => this.warnings,
      sync: () => (c?.syncer && c.backend ? {fileStore: c.backend.describe(), status: c.syncer.status(), usage: () => c.syncer!.remoteUsage()} : null),
    };
  }

  /** What queries read: head + local blocks, and the file store's blocks (every node, leader or not). */
  private queryStores(): StoreSources | null {
    const c = this.collection;
    if (!c) return null;
    return {local: () => ({source: c.db.querier(), blocks: c.db.blocks()}), remote: c.remoteCache};
  }

  setAPI(api: PluginAPI): void {
    this.api = api;
  }

  get currentSettings(): Readonly<Settings> {
    return this.settings;
  }

  /** Invalid settings are reported and the previous valid ones stay in force. */
  async onConfigurationChange(): Promise<void> {
    if (!this.api) return;
    const {settings, problems} = parseSettings(await this.api.loadPluginConfiguration());
    this.warnings.settings = problems;
    if (problems.length > 0) {
      this.log.warn('plugin settings rejected; keeping the previous ones', {problems: problems.join('; ')});
      throw new SettingsError(problems);
    }
    const changed = changedSettings(this.settings, settings);
    this.settings = settings;
    if (changed.length > 0) this.log.info('plugin settings applied', {changed: changed.join(',')});
    const c = this.collection;
    if (c && changed.length > 0) {
      c.scraper.updateConfig(scrapeConfig(settings));
      c.db.setRetention(settings.localRetentionHours * 3_600_000, settings.localRetentionSizeMB * 1024 * 1024);
      c.syncer?.updateSettings(syncSettings(settings));
      await c.watcher.setConfig(await this.api.getUnsanitizedConfig(), settings);
      if (changed.includes('dbPath')) this.log.warn('TSDB path changes take effect when the plugin is disabled and enabled again');
    }
  }

  async onActivate(): Promise<void> {
    await this.ensureServerMetricsEnabled();
    await this.startCollection();
    this.log.info('metrics plugin activated', {node: this.nodeId, dataDir: this.collection?.db.dir ?? ''});
  }

  async onDeactivate(): Promise<void> {
    this.log.info('metrics plugin deactivating');
    await this.stopCollection();
    await this.workers.close();
  }

  /** The local data directory: DBPath, relative to the server's working directory. */
  dataDir(): string {
    return path.resolve(process.cwd(), this.settings.dbPath);
  }

  targetHealth(): TargetHealth[] {
    return this.collection?.scraper.health() ?? [];
  }

  private async startCollection(): Promise<void> {
    const api = this.api;
    if (!api || this.collection) return;
    const settings = this.settings;
    const pool = this.workers;
    const runner: TaskRunner = {
      writeHeadBlock: (input, transfer) => pool.run('tsdbWriteHeadBlock', input, transfer),
      compact: (input) => pool.run('tsdbCompact', input),
      retention: (input) => pool.run('tsdbRetention', input),
      importPrometheusWal: (input) => pool.run('tsdbImportPrometheusWal', input),
    };
    const config = await api.getUnsanitizedConfig();
    let backend: FileBackend | null = null;
    try {
      backend = backendFromConfig(config.FileSettings, {cwd: process.cwd(), logger: this.log});
      this.warnings.fileStore = null;
    } catch (err) {
      this.warnings.fileStore = `The file store is not usable, so blocks stay on this node only: ${(err as Error).message}`;
      this.log.error(this.warnings.fileStore);
    }
    let syncer: BlockSyncer | null = null;
    const db = DB.open({
      dir: this.dataDir(),
      retentionMs: settings.localRetentionHours * 3_600_000,
      retentionBytes: settings.localRetentionSizeMB * 1024 * 1024,
      logger: this.log,
      runner,
      onBlocksChanged: () => syncer?.kick(),
      // A file store that is down must not make local retention lose blocks for good.
      retentionKeeps: (blocks) => syncer?.notInFileStore(blocks) ?? [],
    });
    let jobRunner: DumpJobRunner | null = null;
    if (backend) {
      syncer = new BlockSyncer({
        backend,
        dataDir: db.dir,
        logger: this.log,
        ...syncSettings(settings),
        // Dump retention never deletes the files of a job still pending or running, and
        // marks the jobs whose dumps it deleted (their download then answers 410).
        protectDump: (name) => jobRunner?.isActive(name) ?? false,
        onDumpsDeleted: async (deleted) => {
          await jobRunner?.markExpired(deleted.map((d) => ({id: d.id, reason: this.retentionReason(d.reason)})));
        },
      });
    }
    const scraper = new ScrapeManager(db, scrapeConfig(settings), {logger: this.log});
    let targets: Target[] = [];
    let predecessor: string | undefined;
    try {
      predecessor = claimDataDir(db.dir, this.nodeId);
    } catch (err) {
      this.log.warn('could not record this process in the data dir; after a crash the next one waits for the lease to expire', {error: (err as Error).message});
    }
    const lease = new Lease(api, {
      key: leaderKey,
      nodeId: this.nodeId,
      predecessor,
      logger: this.log,
      // Only the leader scrapes and syncs its blocks (as upstream).
      onAcquired: () => {
        scraper.resume();
        void scraper.sync(targets);
        syncer?.start();
        // Jobs wait for the scraping node (see prefersToBuild below).
        jobRunner?.wake();
      },
      // A node that loses the lease stops scraping at once.
      onLost: () => {
        void scraper.stop();
        void syncer?.stop();
      },
    });
    // A standby node building a dump asks the scraping node for its newest samples.
    const flusher = new ClusterFlush(api, {
      nodeId: this.nodeId,
      isLeader: () => lease.isLeader,
      leaderNode: async () => (await lease.status()).holder?.node ?? null,
      // The requester learns of a failed upload (its dump then says what may be missing).
      flush: async () => {
        await db.flush();
        const pass = await syncer?.syncOnce();
        if (pass?.error) throw new Error(`syncing to the file store failed: ${pass.error}`);
        if (pass && pass.failed > 0) throw new Error(`${pass.failed} block(s) could not be uploaded to the file store`);
      },
      logger: this.log,
    });
    const remoteMeta = new RemoteMetaCache();
    const watcher = new TargetWatcher({
      config,
      settings,
      intervalMs: settings.scrapeIntervalSeconds * 1000,
      logger: this.log,
      onTargets: (t) => {
        targets = t;
        if (this.collection) this.collection.targets = t;
        if (lease.isLeader) void scraper.sync(t);
      },
    });
    const maintenance = setInterval(() => {
      db.maintain().catch((err: Error) => this.log.error('tsdb upkeep failed', {error: err.message}));
    }, maintenanceEveryMs);
    maintenance.unref();
    let jobs: JobsSource | null = null;
    if (backend) {
      const runner = new DumpJobRunner({
        store: new DumpJobStore(api),
        backend,
        nodeId: this.nodeId,
        logger: this.log,
        metadata: () => this.dumpMetadata(),
        // Only the scraping node's head has the newest samples: it builds the jobs, a
        // standby node only those the scraping node leaves pending (busy or gone).
        prefersToBuild: () => lease.isLeader,
        // Only the scraping node syncs; it re-uploads the block if it still has it locally.
        onDamagedBlock: (ulid) => syncer?.recheck([ulid]),
        // A range ending now must include the head and blocks not yet synced (on a
        // standby node: the scraping node's, see dump/prepare.ts).
        prepare: dumpPrepare({
          local: async () => {
            await db.flush();
            await syncer?.syncOnce();
          },
          flusher,
          backend,
          waitMs: JOB_FLUSH_WAIT_MS,
          metaCache: remoteMeta,
        }),
      });
      jobRunner = runner;
      jobs = {runner, backend};
      try {
        await runner.start();
      } catch (err) {
        this.log.error('could not check for interrupted dump jobs', {error: (err as Error).message});
      }
    }
    const remoteCache = backend ? new RemoteBlockCache({backend, dir: path.join(db.dir, REMOTE_CACHE_DIR), logger: this.log}) : null;
    this.collection = {db, lease, watcher, scraper, maintenance, targets, syncer, backend, jobs, remoteCache, flusher, remoteMeta};
    await watcher.start();
    lease.start();
    flusher.start();
  }

  private async stopCollection(): Promise<void> {
    const c = this.collection;
    if (!c) return;
    this.collection = undefined;
    clearInterval(c.maintenance);
    await c.flusher.stop();
    await c.jobs?.runner.stop();
    await c.lease.stop();
    await c.scraper.stop();
    await c.syncer?.stop();
    await c.watcher.stop();
    await c.db.close();
    c.remoteCache?.close();
  }

  /** What a dump's metadata.yaml says about this server. */
  private async dumpMetadata(): Promise<DumpMetadata> {
    const api = this.api;
    if (!api) throw new Error('plugin API not available');
    const config = await api.getConfig();
    const license = await api.getLicense();
    let pluginVersion = 'unknown';
    try {
      const manifest = JSON.parse(await readFile(path.join(await api.getBundlePath(), 'plugin.json'), 'utf8')) as {version?: string};
      pluginVersion = manifest.version ?? pluginVersion;
    } catch {
      // the bundle path or manifest is not readable: keep "unknown"
    }
    const customer = (license?.Customer as {Id?: string} | undefined)?.Id;
    return {
      serverVersion: await api.getServerVersion(),
      diagnosticId: await api.getDiagnosticId(),
      pluginId,
      pluginVersion,
      siteURL: config.ServiceSettings?.SiteURL ?? '',
      licenseId: license?.Id ?? '',
      customerId: customer ?? '',
    };
  }

  /** Rejects a System Console save with the reasons shown to the admin. */
  async configurationWillBeSaved(config: MattermostConfig): Promise<void> {
    const plugins = config.PluginSettings?.Plugins ?? {};
    const mine = plugins[pluginId] ?? Object.entries(plugins).find(([id]) => id.toLowerCase() === pluginId)?.[1];
    requireValidSettings(mine);
  }

  async serveHTTP(request: Request, _context: PluginContext): Promise<Response> {
    const handled = await this.conformance?.handle(request);
    if (handled) return handled;
    return withPrometheusErrorEnvelope(request, await this.router.handle(request));
  }

  async serveMetrics(request: Request, context: PluginContext): Promise<Response> {
    return this.serveHTTP(request, context);
  }

  async onPluginClusterEvent(_context: PluginContext, event: {id: string; data: Buffer}): Promise<void> {
    this.conformance?.clusterEvents.push({id: event.id, data: event.data.toString('utf8')});
  }

  /** Why dump retention deleted a dump, for its job record. */
  private retentionReason(reason: DumpDeletionReason): string {
    return reason === 'age'
      ? `dump retention: older than ${this.settings.dumpRetentionDays} days (DumpRetentionDays)`
      : `dump retention: the dumps exceeded ${this.settings.dumpRetentionTotalMB} MB in total (DumpRetentionTotalMB); the oldest were deleted`;
  }

  /**
   * The Support Packet's metrics: a fresh dump of the last SupportPacketMetricsDays days
   * built on this node, else the newest finished dump job with a WARNING.txt, else only
   * status.json and a WARNING.txt (dump/support.ts has the budgets).
   */
  async generateSupportData(_context: PluginContext): Promise<SupportFile[]> {
    const c = this.collection;
    const db = c?.db;
    const syncer = c?.syncer;
    const res = await supportPacketFiles({
      backend: c?.backend ?? null,
      noBackendReason: c ? (this.warnings.fileStore ?? undefined) : 'the plugin is not collecting (not activated or stopping)',
      days: this.settings.supportPacketMetricsDays,
      metadata: () => this.dumpMetadata(),
      prepare: c?.backend
        ? dumpPrepare({
            local: async () => {
              await db?.flush();
              await syncer?.syncOnce();
            },
            flusher: c.flusher,
            backend: c.backend,
            waitMs: SUPPORT_FLUSH_WAIT_MS,
            metaCache: c.remoteMeta,
          })
        : undefined,
      jobs: c?.jobs ? () => c.jobs!.runner.list() : null,
      status: async () => {
        const lease = c ? await c.lease.status().catch(() => null) : null;
        return {
          plugin: pluginId,
          node: this.nodeId,
          leader: lease?.holder ? {...lease.holder, ageMs: lease.ageMs} : null,
          isLeader: c?.lease.isLeader ?? false,
          warnings: this.warnings,
          targets: this.targetHealth(),
          store: db ? db.stats() : null,
          sync: syncer ? syncer.status() : null,
        };
      },
      logger: this.log,
    });
    return res.files;
  }

  /**
   * The plugin scrapes the server's metrics listener, which only runs with
   * MetricsSettings.Enable. Turn it on when the licence includes metrics (as the Go
   * plugin does); otherwise say so instead of collecting nothing silently.
   */
  private async ensureServerMetricsEnabled(): Promise<void> {
    const api = this.api;
    if (!api) return;
    const config = await api.getConfig();
    if (config.MetricsSettings?.Enable) {
      this.warnings.metrics = null;
      return;
    }
    const license = await api.getLicense();
    if (license?.Features?.Metrics) {
      await api.updateConfig((raw) => {
        (raw.MetricsSettings as Record<string, unknown>).Enable = true;
      });
      this.warnings.metrics = null;
      this.log.info("enabled the server's performance metrics (MetricsSettings.Enable) so this plugin can collect them");
      return;
    }
    this.warnings.metrics =
      "The server's performance metrics are off and this Mattermost licence does not include them, so there is nothing to collect. " +
      'Metrics need an Enterprise licence.';
    this.log.warn(this.warnings.metrics);
  }
}
