// startDevHost: the whole dev host in-process (state dir, fake API, plugin
// process, HTTP listeners). main.ts only turns the environment into options;
// tests and browser tests call this directly.

import fs from 'node:fs/promises';
import path from 'node:path';
import {fileURLToPath} from 'node:url';

import {FakeApi, serverVersion} from './api.ts';
import {ConfigStore, loadManifest, type JsonObject} from './config.ts';
import {buildHostBundle, consoleHandler} from './console.ts';
import {startHttp, type HttpOptions} from './http.ts';
import {KVStore} from './kvstore.ts';
import {DevLogger, type Level, type LogEntry} from './log.ts';
import {PluginSupervisor, resolveLaunch} from './plugin.ts';
import {DevState, users, type LicenseKind} from './state.ts';
import {SyntheticServer} from './synthetic.ts';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export interface DevHostOptions {
  /** The plugin bundle: plugin.json, assets, the built executable (default: this repository). */
  bundleDir?: string;
  /** State directory (config.json, kv.json, state.json, filestore/); default <bundleDir>/.devhost. */
  dir?: string;
  /** Interface to listen on (default 127.0.0.1). */
  host?: string;
  /** Main HTTP port (default 8065; 0 = any free port). */
  port?: number;
  /** Metrics port (default 8067; 0 = any free port). */
  metricsPort?: number;
  /** undefined = the manifest's executable (tsx when not built), 'tsx' = run from source, else a path. */
  pluginExe?: string;
  /** Added to the plugin's environment (it also inherits this process's, as under Mattermost). */
  pluginEnv?: NodeJS.ProcessEnv;
  license?: LicenseKind;
  logLevel?: Level;
  /** Where log lines go (default stdout/stderr). */
  logWrite?: (line: string, entry: LogEntry) => void;
  /** Health check (Control.Ping) period, default 30 s, and per-ping timeout, default 5 s. */
  pingIntervalMs?: number;
  pingTimeoutMs?: number;
  /** Delay before restarting a crashed plugin (default 5 s). */
  restartDelayMs?: number;
  /** Roughly how many series the synthetic server's GET /metrics exposes (default 2,500). */
  series?: number;
  /** The webapp bundle the console page loads (default: the manifest's webapp.bundle_path). */
  webappBundle?: string;
}

export interface DevHost {
  pluginId: string;
  dir: string;
  port: number;
  metricsPort: number;
  /** http://<host>:<port> */
  url: string;
  metricsUrl: string;
  users: typeof users;
  logger: DevLogger;
  kv: KVStore;
  config: ConfigStore;
  state: DevState;
  api: FakeApi;
  /** The synthetic Mattermost server behind GET /metrics on the metrics listener. */
  synthetic: SyntheticServer;
  supervisor: PluginSupervisor;
  pluginPid(): number | undefined;
  setLicense(kind: LicenseKind): void;
  /** The System Console's save: ConfigurationWillBeSaved, write config.json, OnConfigurationChange. */
  savePluginSettings(settings: JsonObject): Promise<void>;
  restartPlugin(): Promise<void>;
  /** OnDeactivate, Control.Quit (SIGKILL after 2 s), close the listeners. Idempotent. */
  stop(): Promise<void>;
}

export async function startDevHost(options: DevHostOptions = {}): Promise<DevHost> {
  const bundleDir = path.resolve(options.bundleDir ?? repoRoot);
  const dir = path.resolve(options.dir ?? path.join(bundleDir, '.devhost'));
  const host = options.host ?? '127.0.0.1';
  const logger = new DevLogger({level: options.logLevel, write: options.logWrite});
  await fs.mkdir(dir, {recursive: true});

  const manifest = await loadManifest(bundleDir);
  const state = await DevState.open(path.join(dir, 'state.json'), options.license ?? 'enterprise');
  const kv = await KVStore.open({file: path.join(dir, 'kv.json')});

  let supervisor: PluginSupervisor | undefined;
  const synthetic = new SyntheticServer({series: options.series});
  const httpOptions: HttpOptions = {
    pluginId: manifest.id,
    host,
    port: options.port ?? 8065,
    metricsPort: options.metricsPort ?? 8067,
    logger,
    plugin: () => supervisor?.active,
    serverMetrics: async () => ({contentType: synthetic.contentType, body: await synthetic.metrics()}),
  };
  const servers = await startHttp(httpOptions);
  try {
    const config = await ConfigStore.open({file: path.join(dir, 'config.json'), dir, port: servers.port, metricsPort: servers.metricsPort, manifest});
    config.setOverrides({
      siteURL: `http://localhost:${servers.port}`,
      listenAddress: `:${servers.port}`,
      metricsListenAddress: `:${servers.metricsPort}`,
    });
    const api = new FakeApi({
      pluginId: manifest.id,
      bundlePath: bundleDir,
      config,
      kv,
      state,
      logger,
      // The server's config listener runs OnConfigurationChange after every save.
      onConfigSaved: () => setImmediate(() => void supervisor?.configurationChanged()),
    });
    // Built now so the first page load does not wait for esbuild; a failure shows on the page.
    buildHostBundle().catch((err: Error) => logger.warn('building the console host bundle failed', {error: err.message}));
    const webapp = (manifest as {webapp?: {bundle_path?: string}}).webapp;
    httpOptions.console = consoleHandler({
      manifest,
      webappBundle: path.resolve(options.webappBundle ?? path.join(bundleDir, webapp?.bundle_path ?? 'webapp/dist/main.js')),
      serverVersion,
      savedSettings: () => config.pluginSettings(),
      save: (settings) => (supervisor ? supervisor.savePluginSettings(settings) : Promise.reject(new Error('the plugin is not running'))),
      pluginState: () => supervisor?.state ?? 'starting',
    });
    const {spec, hint} = resolveLaunch(options.pluginExe, bundleDir, manifest);
    if (hint) logger.warn(hint);
    const sup = new PluginSupervisor({
      spec,
      cwd: dir,
      env: options.pluginEnv,
      api,
      config,
      logger,
      pingIntervalMs: options.pingIntervalMs,
      pingTimeoutMs: options.pingTimeoutMs,
      restartDelayMs: options.restartDelayMs,
    });
    supervisor = sup;
    await sup.start();

    let stopped: Promise<void> | undefined;
    return {
      pluginId: manifest.id,
      dir,
      port: servers.port,
      metricsPort: servers.metricsPort,
      url: `http://${host}:${servers.port}`,
      metricsUrl: `http://${host}:${servers.metricsPort}`,
      users,
      logger,
      kv,
      config,
      state,
      api,
      synthetic,
      supervisor: sup,
      pluginPid: () => sup.active?.pid,
      setLicense: (kind) => {
        state.license = kind;
        logger.info('licence changed', {license: kind});
      },
      savePluginSettings: (settings) => sup.savePluginSettings(settings),
      restartPlugin: async () => {
        await sup.restart();
      },
      stop: () =>
        (stopped ??= (async () => {
          logger.info('stopping');
          await sup.stop();
          await servers.close();
          await kv.flush();
        })()),
    };
  } catch (err) {
    await supervisor?.stop().catch(() => {});
    await servers.close();
    throw err;
  }
}
