// Keeps the scrape target list current: refreshes right away and then every interval
// (not only when the topology changes — Calls start/stop, rtcd DNS, node-exporter and
// config changes are picked up too), emits the list when it changes, and survives
// database trouble: the last good node list is kept, the query is retried with capped
// exponential backoff, and each failure streak is logged once (warn), then at debug,
// then "recovered" (info).

import os from 'node:os';
import dns from 'node:dns';
import net from 'node:net';
import type {MattermostConfig} from '../bridge/mattermost/config.ts';
import {ClusterDiscoveryClient, type ClusterNode, DiscoveryError, type NodeDiscovery, dataSourceKey} from './discovery.ts';
import {DsnError} from './dsn.ts';
import {AvailabilityCache, type ProbeFn, tcpProbe} from './probe.ts';
import {JOB_NODE_EXPORTER, type Target, type TargetSettings, callsEnabledInConfig, parseRtcdServiceUrl, resolveTargets, rtcdServiceUrl} from './resolve.ts';

export interface TargetsLogger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

export interface TargetWatcherOptions {
  /** The UNSANITIZED Mattermost config (GetUnsanitizedConfig): SqlSettings.DataSource is needed. */
  config: MattermostConfig;
  settings: TargetSettings;
  /** Refresh period (the scrape interval is a good choice). */
  intervalMs: number;
  logger: TargetsLogger;
  /** Called with the full, sorted list whenever it differs from the last one emitted (and once at start). */
  onTargets: (targets: Target[]) => void;
  /** Default os.hostname(); ClusterSettings.OverrideHostname wins over both. */
  hostname?: () => string;
  /** Default ClusterDiscoveryClient.fromSqlSettings (throws DsnError for a bad DSN). */
  createDiscovery?: (sql: {DriverName?: string; DataSource?: string}) => NodeDiscovery;
  /** rtcd host → IPv4 addresses. Default dns.lookup(all, family 4) with a 5 s limit. */
  lookupIPv4?: (host: string) => Promise<string[]>;
  /** Whether the Calls plugin runs (GetPluginStatus). Undefined/throws ⇒ PluginSettings.PluginStates. */
  callsRunning?: () => Promise<boolean | undefined>;
  /** Node-exporter probe. Default TCP connect. */
  probe?: ProbeFn;
  probeTimeoutMs?: number;
  /** Re-probe period for node exporters. Default 1 h. */
  nodeExporterReprobeMs?: number;
  /** Retry delays after a discovery failure: initialMs·2^(n−1), capped at maxMs. Default 1 s … 5 min. */
  backoff?: {initialMs?: number; maxMs?: number};
}

export interface TargetWatcherStatus {
  targets: Target[];
  /** Last good node list (HA). */
  nodes: ClusterNode[] | undefined;
  consecutiveFailures: number;
  lastError: string | undefined;
  lastRefreshAt: number | undefined;
}

/** Logs the first failure of a streak at warn, repeats at debug, and the recovery at info. */
class Streak {
  failures = 0;
  lastMessage: string | undefined;

  constructor(
    private readonly logger: TargetsLogger,
    private readonly what: string,
  ) {}

  fail(message: string, fields: Record<string, unknown> = {}): void {
    this.failures++;
    this.lastMessage = message;
    if (this.failures === 1) this.logger.warn(`${this.what}: ${message}`, fields);
    else this.logger.debug(`${this.what} still failing: ${message}`, {...fields, consecutiveFailures: this.failures});
  }

  ok(): void {
    if (this.failures > 0) this.logger.info(`${this.what}: recovered`, {afterFailures: this.failures});
    this.failures = 0;
    this.lastMessage = undefined;
  }

  reset(): void {
    this.failures = 0;
    this.lastMessage = undefined;
  }
}

async function defaultLookupIPv4(host: string): Promise<string[]> {
  const lookup = dns.promises.lookup(host, {family: 4, all: true}).then((r) => r.map((a) => a.address));
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`DNS lookup of ${host} timed out after 5s`)), 5_000);
  });
  try {
    return await Promise.race([lookup, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export class TargetWatcher {
  private config: MattermostConfig;
  private settings: TargetSettings;
  private readonly intervalMs: number;
  private readonly logger: TargetsLogger;
  private readonly hostname: () => string;
  private readonly createDiscovery: (sql: {DriverName?: string; DataSource?: string}) => NodeDiscovery;
  private readonly lookupIPv4: (host: string) => Promise<string[]>;
  private readonly backoffInitialMs: number;
  private readonly backoffMaxMs: number;
  private readonly availability: AvailabilityCache;

  private discovery: NodeDiscovery | undefined;
  private discoveryKey: string | undefined;
  /** A DSN that does not parse: not retried until the config changes. */
  private discoveryConfigError: string | undefined;
  private lastGoodNodes: ClusterNode[] | undefined;
  private readonly rtcdAddresses = new Map<string, string[]>();
  private emitted: string | undefined;
  private targets: Target[] = [];
  private lastRefreshAt: number | undefined;
  private zeroNodesLogged = false;
  private lastListenError: string | undefined;
  private lastRtcdUrlError: string | undefined;

  private readonly dbStreak: Streak;
  private readonly dnsStreak: Streak;

  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> | undefined;
  private kickPending = false;
  private startedGen = 0;
  private waiters: Array<{gen: number; resolve: () => void}> = [];
  private started = false;
  private stopped = false;

  constructor(private readonly options: TargetWatcherOptions) {
    if (!(options.intervalMs > 0)) throw new RangeError('intervalMs must be positive');
    this.config = options.config;
    this.settings = options.settings;
    this.intervalMs = options.intervalMs;
    this.logger = options.logger;
    this.hostname = options.hostname ?? (() => os.hostname());
    this.createDiscovery = options.createDiscovery ?? ((sql) => ClusterDiscoveryClient.fromSqlSettings(sql));
    this.lookupIPv4 = options.lookupIPv4 ?? defaultLookupIPv4;
    this.backoffInitialMs = options.backoff?.initialMs ?? 1_000;
    this.backoffMaxMs = Math.max(this.backoffInitialMs, options.backoff?.maxMs ?? 300_000);
    this.availability = new AvailabilityCache(options.probe ?? tcpProbe, options.nodeExporterReprobeMs ?? 3_600_000, options.probeTimeoutMs ?? 2_000);
    this.dbStreak = new Streak(this.logger, 'cluster discovery');
    this.dnsStreak = new Streak(this.logger, 'rtcd address lookup');
  }

  /** Starts refreshing: first refresh now, then every interval. Resolves after the first refresh. */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    await this.refreshNow();
  }

  /** Stops the loop, waits for a running refresh and closes the database pool. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.inFlight;
    for (const w of this.waiters.splice(0)) w.resolve();
    await this.closeDiscovery();
  }

  /** New config/settings (OnConfigurationChange): refreshes now; a changed driver/DSN rebuilds the client. */
  async setConfig(config: MattermostConfig, settings: TargetSettings = this.settings): Promise<void> {
    this.config = config;
    if (settings.enableNodeExporterTargets !== this.settings.enableNodeExporterTargets || settings.nodeExporterPort !== this.settings.nodeExporterPort) {
      this.availability.clear();
    }
    this.settings = settings;
    this.lastListenError = undefined;
    this.lastRtcdUrlError = undefined;
    await this.refreshNow();
  }

  /** Runs a refresh that starts after this call (now, or after the running one) and resumes the schedule. */
  refreshNow(): Promise<void> {
    if (this.stopped || !this.started) return Promise.resolve();
    const gen = this.startedGen + 1;
    const done = new Promise<void>((resolve) => this.waiters.push({gen, resolve}));
    this.cycle();
    return done;
  }

  /** The last emitted list. */
  current(): Target[] {
    return this.targets.map((t) => ({...t, labels: {...t.labels}}));
  }

  status(): TargetWatcherStatus {
    return {
      targets: this.current(),
      nodes: this.lastGoodNodes?.map((n) => ({...n})),
      consecutiveFailures: this.dbStreak.failures,
      lastError: this.dbStreak.lastMessage ?? this.discoveryConfigError,
      lastRefreshAt: this.lastRefreshAt,
    };
  }

  // ---------------------------------------------------------------- loop

  private cycle(): void {
    if (this.stopped) return;
    if (this.inFlight) {
      this.kickPending = true;
      return;
    }
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const gen = ++this.startedGen;
    this.inFlight = (async () => {
      let retryable = false;
      try {
        retryable = await this.refresh();
      } catch (err) {
        // Not expected (every step handles its errors); never let the loop die.
        this.logger.error('target refresh failed unexpectedly', {error: errorMessage(err)});
      }
      this.inFlight = undefined;
      this.waiters = this.waiters.filter((w) => (w.gen <= gen ? (w.resolve(), false) : true));
      if (this.stopped) return;
      if (this.kickPending) {
        this.kickPending = false;
        this.cycle();
        return;
      }
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.cycle();
      }, retryable ? this.backoffDelay(this.dbStreak.failures) : this.intervalMs);
      this.timer.unref();
    })();
  }

  private backoffDelay(failures: number): number {
    const exp = Math.min(30, Math.max(0, failures - 1));
    return Math.min(this.backoffMaxMs, this.backoffInitialMs * 2 ** exp);
  }

  /** One refresh. Returns true when discovery failed in a way worth retrying early. */
  private async refresh(): Promise<boolean> {
    const config = this.config;
    const settings = this.settings;
    let retryable = false;

    // 1. App nodes (HA only).
    let nodes: ClusterNode[] | undefined;
    if (config.ClusterSettings?.Enable === true) {
      const r = await this.discoverNodes(config);
      nodes = r.nodes;
      retryable = r.retryable;
    } else {
      await this.closeDiscovery();
      this.lastGoodNodes = undefined;
      this.dbStreak.reset();
      this.discoveryConfigError = undefined;
    }
    if (this.stopped) return false;

    // 2. Calls / rtcd.
    let callsRunning: boolean | undefined;
    if (this.options.callsRunning) {
      try {
        callsRunning = await this.options.callsRunning();
      } catch (err) {
        this.logger.debug('Calls plugin status unavailable; using PluginSettings.PluginStates', {error: errorMessage(err)});
      }
    }
    const calls = callsRunning ?? callsEnabledInConfig(config);
    const rtcdAddresses = calls ? await this.resolveRtcd(config) : undefined;

    // 3. Targets, node exporters probed first.
    const selfHostname = config.ClusterSettings?.OverrideHostname || this.hostname();
    let targets: Target[];
    try {
      const topology = {selfHostname, nodes, rtcdAddresses, callsRunning: calls};
      if (settings.enableNodeExporterTargets) {
        const all = resolveTargets(config, settings, topology);
        const endpoints = all.filter((t) => t.job === JOB_NODE_EXPORTER).map((t) => hostPortOf(t.url));
        const changes = await this.availability.refresh(endpoints);
        for (const c of changes) {
          const where = `${c.host}:${c.port}`;
          if (c.available) this.logger.info('node exporter found; scraping it', {address: where});
          else
            this.logger.info('no node exporter answers; not scraping it (checked again hourly)', {
              address: where,
            });
        }
        targets = resolveTargets(config, settings, {...topology, nodeExporterFilter: (h, p) => this.availability.isAvailable(h, p)});
      } else {
        this.availability.clear();
        targets = resolveTargets(config, settings, topology);
      }
      this.lastListenError = undefined;
    } catch (err) {
      const msg = errorMessage(err);
      if (msg !== this.lastListenError) this.logger.error('cannot build scrape targets; keeping the previous list', {error: msg});
      this.lastListenError = msg;
      return retryable;
    }
    if (this.stopped) return false;
    this.lastRefreshAt = Date.now();
    this.emitIfChanged(targets);
    return retryable;
  }

  private async discoverNodes(config: MattermostConfig): Promise<{nodes: ClusterNode[] | undefined; retryable: boolean}> {
    const sql = config.SqlSettings ?? {};
    const key = dataSourceKey(sql.DriverName, sql.DataSource);
    if (key !== this.discoveryKey) {
      await this.closeDiscovery();
      this.discoveryKey = key;
      this.discoveryConfigError = undefined;
      this.dbStreak.reset();
      this.lastGoodNodes = undefined;
      try {
        this.discovery = this.createDiscovery({DriverName: sql.DriverName, DataSource: sql.DataSource});
      } catch (err) {
        // DsnError messages never contain the DSN.
        this.discoveryConfigError = errorMessage(err);
        this.logger.error('cluster discovery disabled: cannot use SqlSettings; scraping this node only until the config changes', {
          error: this.discoveryConfigError,
        });
      }
    }
    if (!this.discovery) return {nodes: this.lastGoodNodes, retryable: false};

    const clusterName = config.ClusterSettings?.ClusterName ?? '';
    try {
      const nodes = await this.discovery.listNodes(clusterName);
      this.dbStreak.ok();
      this.logTopologyChange(this.lastGoodNodes, nodes, clusterName);
      this.lastGoodNodes = nodes;
      return {nodes, retryable: false};
    } catch (err) {
      const e = err instanceof DiscoveryError || err instanceof DsnError ? err : new Error(errorMessage(err));
      this.dbStreak.fail(`${e.message}; keeping the last known node list`, {
        database: this.discovery.description,
        nodes: this.lastGoodNodes?.length ?? 0,
        retryInMs: this.backoffDelay(this.dbStreak.failures + 1),
      });
      return {nodes: this.lastGoodNodes, retryable: true};
    }
  }

  private logTopologyChange(before: ClusterNode[] | undefined, after: ClusterNode[], clusterName: string): void {
    if (after.length === 0) {
      if (!this.zeroNodesLogged) {
        this.logger.warn('ClusterDiscovery has no live app node for this cluster; scraping this node only', {clusterName});
      }
      this.zeroNodesLogged = true;
    } else this.zeroNodesLogged = false;
    if (!before) {
      if (after.length > 0) this.logger.info('cluster nodes discovered', {clusterName, nodes: after.map((n) => n.hostname).join(', ')});
      return;
    }
    const was = new Map(before.map((n) => [n.id, n]));
    const now = new Map(after.map((n) => [n.id, n]));
    const joined = after.filter((n) => !was.has(n.id) || was.get(n.id)!.hostname !== n.hostname);
    const left = before.filter((n) => !now.has(n.id) || now.get(n.id)!.hostname !== n.hostname);
    if (joined.length > 0 || left.length > 0) {
      this.logger.info('cluster topology changed', {
        clusterName,
        joined: joined.map((n) => n.hostname).join(', '),
        left: left.map((n) => n.hostname).join(', '),
      });
    }
  }

  private async resolveRtcd(config: MattermostConfig): Promise<string[] | undefined> {
    const raw = rtcdServiceUrl(config);
    if (raw === '') return undefined;
    let host: string;
    try {
      host = parseRtcdServiceUrl(raw).host;
      this.lastRtcdUrlError = undefined;
    } catch (err) {
      const msg = errorMessage(err);
      if (msg !== this.lastRtcdUrlError) this.logger.warn('rtcd targets skipped', {error: msg});
      this.lastRtcdUrlError = msg;
      return [];
    }
    if (net.isIP(host)) return [host];
    try {
      const addrs = [...new Set(await this.lookupIPv4(host))].sort();
      this.dnsStreak.ok();
      this.rtcdAddresses.clear();
      this.rtcdAddresses.set(host, addrs);
      return addrs;
    } catch (err) {
      const last = this.rtcdAddresses.get(host);
      this.dnsStreak.fail(`${errorMessage(err)}; ${last ? 'keeping the last addresses' : 'no rtcd targets yet'}`, {host});
      return last ?? [];
    }
  }

  private emitIfChanged(targets: Target[]): void {
    const key = JSON.stringify(targets);
    if (key === this.emitted) return;
    this.emitted = key;
    this.targets = targets;
    const byJob: Record<string, number> = {};
    for (const t of targets) byJob[t.job] = (byJob[t.job] ?? 0) + 1;
    this.logger.info('scrape targets updated', {count: targets.length, ...Object.fromEntries(Object.entries(byJob).map(([j, n]) => [`job_${j}`, n]))});
    try {
      this.options.onTargets(this.current());
    } catch (err) {
      this.logger.error('target listener failed', {error: errorMessage(err)});
    }
  }

  private async closeDiscovery(): Promise<void> {
    const d = this.discovery;
    this.discovery = undefined;
    this.discoveryKey = undefined;
    if (d) {
      try {
        await d.close();
      } catch (err) {
        this.logger.debug('closing the discovery pool failed', {error: errorMessage(err)});
      }
    }
  }
}

function hostPortOf(url: string): {host: string; port: number} {
  const u = new URL(url);
  return {host: u.hostname.replace(/^\[(.*)\]$/, '$1'), port: Number(u.port)};
}
