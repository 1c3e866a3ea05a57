// Runs the plugin process the way Mattermost's supervisor does: launch (go-plugin
// handshake), dispense "hooks", Plugin.Implemented, serve the API and DB driver on
// two broker ids, Plugin.OnActivate; Control.Ping every 30 s; on a crash or a
// failed health check restart after 5 s (giving up after 3 failures within an
// hour, like Mattermost's FailedToStayRunning); OnDeactivate (10 s cap) then
// Control.Quit / SIGKILL to stop. Spec §1.5, §1.6, §5.1, §5.2.

import fs from 'node:fs';
import path from 'node:path';

import {struct, type GoType} from '../server/src/bridge/gob/index.ts';
import {PluginHost} from '../server/src/bridge/goplugin/host.ts';
import {interfaceErrorFrom} from '../server/src/bridge/mattermost/errors.ts';
import {toPlain} from '../server/src/bridge/mattermost/values.ts';
import {zArgs} from '../server/src/bridge/mattermost/wiretypes.ts';
import {EmptyStruct, RpcServer, type RpcClient} from '../server/src/bridge/netrpc/index.ts';
import type {FakeApi} from './api.ts';
import {ConfigType, gobConfig, type ConfigStore, type JsonObject, type Manifest} from './config.ts';
import {StderrParser, type DevLogger} from './log.ts';

const ActivateArgs = struct('Z_OnActivateArgs', [
  ['APIMuxId', 'uint'],
  ['DriverMuxId', 'uint'],
]);
const DeactivateArgs = zArgs('Z_OnDeactivateArgs');
const ConfigurationChangeArgs = zArgs('Z_OnConfigurationChangeArgs');
const ConfigurationWillBeSavedArgs = zArgs('Z_ConfigurationWillBeSavedArgs', ConfigType);

export interface LaunchSpec {
  executable: string;
  args: string[];
  startTimeoutMs: number;
  /** Short description for logs. */
  label: string;
}

/** Mattermost's StartTimeout; tsx mode compiles on the fly and gets longer. */
export const startTimeoutMs = 3_000;
export const tsxStartTimeoutMs = 10_000;

/** manifest.GetExecutableForRuntime for this machine (linux-amd64 / linux-arm64 …). */
export function manifestExecutable(manifest: Manifest, platform = process.platform, arch = process.arch): string | undefined {
  const goArch = arch === 'x64' ? 'amd64' : arch === 'ia32' ? '386' : arch;
  return manifest.server?.executables?.[`${platform}-${goArch}`] ?? manifest.server?.executable;
}

export interface ResolveResult {
  spec: LaunchSpec;
  /** Set when the default executable was missing or stale and tsx mode was chosen instead. */
  hint?: string;
}

/**
 * DEVHOST_PLUGIN_EXE: unset = the manifest's executable in the repo (falling back to
 * tsx mode, with a hint, when it is missing); "tsx" = node --import tsx server/src/main.ts;
 * anything else = that file.
 */
export function resolveLaunch(exe: string | undefined, repoRoot: string, manifest: Manifest): ResolveResult {
  const tsx: LaunchSpec = {
    executable: process.execPath,
    // Absolute loader and entry: the plugin's working directory is the dev host's state dir.
    args: ['--import', import.meta.resolve('tsx'), path.join(repoRoot, 'server', 'src', 'main.ts')],
    startTimeoutMs: tsxStartTimeoutMs,
    label: 'tsx server/src/main.ts',
  };
  if (exe === 'tsx') return {spec: tsx};
  if (exe) {
    const file = path.resolve(exe);
    const rel = path.relative(repoRoot, file);
    return {spec: {executable: file, args: [], startTimeoutMs, label: rel && !rel.startsWith('..') ? rel : file}};
  }
  const rel = manifestExecutable(manifest);
  if (!rel) return {spec: tsx, hint: `plugin.json has no server executable for ${process.platform}-${process.arch}; running from source (tsx)`};
  const file = path.join(repoRoot, rel);
  let stat: fs.Stats | undefined;
  try {
    stat = fs.statSync(file);
  } catch {
    // missing
  }
  if (!stat) return {spec: tsx, hint: `${rel} not built (run 'make dist'); running from source (tsx) instead`};
  const newer = newestSource(path.join(repoRoot, 'server', 'src'));
  const result: ResolveResult = {spec: {executable: file, args: [], startTimeoutMs, label: rel}};
  if (newer && newer.mtimeMs > stat.mtimeMs) {
    result.hint = `${rel} is older than ${path.relative(repoRoot, newer.file)}: rebuild with 'make dist' or use DEVHOST_PLUGIN_EXE=tsx`;
  }
  return result;
}

function newestSource(dir: string): {file: string; mtimeMs: number} | undefined {
  let best: {file: string; mtimeMs: number} | undefined;
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, {withFileTypes: true});
  } catch {
    return undefined;
  }
  for (const e of entries) {
    const p = path.join(dir, e.name);
    const cand = e.isDirectory() ? newestSource(p) : e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') ? {file: p, mtimeMs: fs.statSync(p).mtimeMs} : undefined;
    if (cand && (!best || cand.mtimeMs > best.mtimeMs)) best = cand;
  }
  return best;
}

export class ActivationError extends Error {
  override name = 'ActivationError';
}

export interface ActivePlugin {
  host: PluginHost;
  hooks: RpcClient;
  implemented: ReadonlySet<string>;
  pid: number;
  startedAt: number;
}

export interface SupervisorOptions {
  spec: LaunchSpec;
  /** The plugin's working directory (Mattermost's would be the server's). */
  cwd: string;
  /** Added to the plugin's environment (on top of the dev host's, like go-plugin). */
  env?: NodeJS.ProcessEnv;
  api: FakeApi;
  config: ConfigStore;
  logger: DevLogger;
  pingIntervalMs?: number;
  pingTimeoutMs?: number;
  restartDelayMs?: number;
  deactivateTimeoutMs?: number;
  /** Failures (crash, failed ping, failed restart) within failureWindowMs before giving up. */
  maxFailures?: number;
  failureWindowMs?: number;
}

export type SupervisorState = 'stopped' | 'starting' | 'active' | 'restarting' | 'failed';

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
    }),
  ]);
}

export class PluginSupervisor {
  state: SupervisorState = 'stopped';
  active: ActivePlugin | undefined;
  private stopping = false;
  private failures: number[] = [];
  private pingTimer: NodeJS.Timeout | undefined;
  private restartTimer: NodeJS.Timeout | undefined;
  private launching: Promise<void> | undefined;
  private readonly activationListeners = new Set<(p: ActivePlugin) => void>();
  private readonly o: Required<Omit<SupervisorOptions, 'env'>> & {env: NodeJS.ProcessEnv};

  constructor(opts: SupervisorOptions) {
    this.o = {
      env: {},
      pingIntervalMs: 30_000,
      pingTimeoutMs: 5_000,
      restartDelayMs: 5_000,
      deactivateTimeoutMs: 10_000,
      maxFailures: 3,
      failureWindowMs: 60 * 60 * 1000,
      // Options given as undefined keep their defaults.
      ...(Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined)) as SupervisorOptions),
    };
  }

  /** Launches and activates; rejects (with the plugin stopped) when activation fails. */
  async start(): Promise<ActivePlugin> {
    this.stopping = false;
    this.failures = []; // a manual (re)start forgives earlier failures
    const p = await this.launch();
    this.pingTimer ??= setInterval(() => void this.healthCheck(), this.o.pingIntervalMs);
    this.pingTimer.unref();
    return p;
  }

  /** Called after every successful (re)activation. */
  onActivated(listener: (p: ActivePlugin) => void): () => void {
    this.activationListeners.add(listener);
    return () => this.activationListeners.delete(listener);
  }

  /** Deactivate (if implemented, 10 s cap) and kill (Control.Quit, 2 s, SIGKILL). */
  async stop(): Promise<void> {
    this.stopping = true;
    clearInterval(this.pingTimer);
    clearTimeout(this.restartTimer);
    this.pingTimer = undefined;
    // A (re)start in progress finishes first, so its process is stopped too.
    await this.launching;
    const a = this.active;
    this.active = undefined;
    this.state = 'stopped';
    if (!a) return;
    if (a.implemented.has('OnDeactivate')) {
      try {
        const reply = (await withTimeout(a.hooks.call('Plugin.OnDeactivate', {type: DeactivateArgs, value: {}}), this.o.deactivateTimeoutMs, 'OnDeactivate')) as {A?: unknown};
        const err = interfaceErrorFrom(reply?.A);
        if (err) this.o.logger.error('OnDeactivate returned an error', {error: err.message});
      } catch (err) {
        this.o.logger.warn('OnDeactivate failed', {error: (err as Error).message});
      }
    }
    const clean = await a.host.kill();
    this.o.logger.info(clean ? 'plugin stopped' : 'plugin did not exit within 2 s: killed', {pid: a.pid});
  }

  /** Stop and start again (a new process), like disabling and enabling the plugin. */
  async restart(): Promise<ActivePlugin> {
    await this.stop();
    return this.start();
  }

  /** The server's OnConfigurationChange call after a config save (only if implemented). */
  async configurationChanged(): Promise<void> {
    const a = this.active;
    if (!a?.implemented.has('OnConfigurationChange')) return;
    try {
      const reply = (await a.hooks.call('Plugin.OnConfigurationChange', {type: ConfigurationChangeArgs, value: {}})) as {A?: unknown};
      const err = interfaceErrorFrom(reply?.A);
      if (err) this.o.logger.error('OnConfigurationChange returned an error', {error: err.message});
    } catch (err) {
      this.o.logger.warn('OnConfigurationChange failed', {error: (err as Error).message});
    }
  }

  /**
   * What the System Console does when an admin saves this plugin's settings:
   * ConfigurationWillBeSaved (may reject or replace), save, OnConfigurationChange.
   */
  async savePluginSettings(settings: JsonObject): Promise<void> {
    const cfg = this.o.config.get();
    const id = this.o.config.manifest.id;
    const plugins = ((cfg.PluginSettings ??= {}).Plugins ??= {}) as JsonObject;
    plugins[id] = settings;
    let toSave = settings;
    const a = this.active;
    if (a?.implemented.has('ConfigurationWillBeSaved')) {
      const reply = (await a.hooks.call('Plugin.ConfigurationWillBeSaved', {type: ConfigurationWillBeSavedArgs, value: {A: gobConfig(cfg)}})) as {A?: unknown; B?: unknown};
      const err = interfaceErrorFrom(reply?.B);
      if (err) throw new Error(`the plugin rejected the configuration: ${err.message}`);
      if (reply?.A !== undefined) {
        const changed = toPlain(reply.A) as {PluginSettings?: {Plugins?: Record<string, JsonObject>}};
        toSave = changed.PluginSettings?.Plugins?.[id] ?? settings;
      }
    }
    await this.o.config.savePluginSettings(toSave);
    await this.configurationChanged();
  }

  /** Calls any hook on the running plugin (tests). */
  async callHook(method: string, type: GoType, value: unknown): Promise<unknown> {
    if (!this.active) throw new Error('plugin is not running');
    return this.active.hooks.call(method, {type, value});
  }

  // --------------------------------------------------------------- private

  private launch(): Promise<ActivePlugin> {
    const p = this.launchOnce();
    this.launching = p.then(
      () => undefined,
      () => undefined,
    );
    return p;
  }

  private async launchOnce(): Promise<ActivePlugin> {
    const {spec, logger, api} = this.o;
    this.state = 'starting';
    logger.info('starting plugin', {executable: spec.label});
    const parser = new StderrParser();
    const streamLines = {plugin_stdout: '', plugin_stderr: ''};
    const host = await PluginHost.launch({
      executable: spec.executable,
      args: spec.args,
      cwd: this.o.cwd,
      env: this.o.env,
      startTimeoutMs: spec.startTimeoutMs,
      onStderrLine: (line) => {
        const e = parser.parse(line);
        logger.log('plugin', e.level, e.message, e.fields, 'stderr');
      },
      onLogStream: (source, chunk) => {
        const lines = (streamLines[source] + chunk.toString('utf8')).split('\n');
        streamLines[source] = lines.pop() ?? '';
        for (const l of lines) logger.log('plugin', 'info', l, {}, source);
      },
      onStrayStdout: (line) => logger.log('plugin', 'warn', 'unexpected line on stdout after the handshake', {line}, 'stderr'),
    }).catch((err: Error) => {
      this.state = 'failed';
      throw new ActivationError(`cannot start ${spec.label}: ${err.message}`);
    });
    const pid = host.child.pid ?? 0;
    logger.debug('plugin handshake done', {pid, ms: Math.round(host.handshakeMs)});
    try {
      const hooks = await host.dispense('hooks');
      const implemented = new Set((await hooks.call('Plugin.Implemented', {type: EmptyStruct, value: {}})) as string[]);
      logger.debug('plugin implements', {hooks: [...implemented].join(',')});
      const apiId = host.broker.nextId();
      const driverId = host.broker.nextId();
      const onError = (method: string, err: unknown): void => logger.warn('API call failed', {method, error: (err as Error)?.message ?? String(err)});
      host.broker.accept(apiId).then(
        (s) => new RpcServer(s, api.handlers(), onError),
        (err: Error) => logger.warn('the plugin never dialed the API', {error: err.message}),
      );
      host.broker.accept(driverId).then(
        (s) => new RpcServer(s, api.driverHandlers(), onError),
        (err: Error) => logger.debug('the plugin never dialed the DB driver', {error: err.message}),
      );
      const slow = setTimeout(() => logger.warn('OnActivate is still running after 30 s'), 30_000);
      slow.unref();
      let reply: {A?: unknown};
      try {
        reply = (await hooks.call('Plugin.OnActivate', {type: ActivateArgs, value: {APIMuxId: apiId, DriverMuxId: driverId}})) as {A?: unknown};
      } finally {
        clearTimeout(slow);
      }
      const err = interfaceErrorFrom(reply?.A);
      if (err) throw new ActivationError(`OnActivate failed: ${err.message}`);
      const active: ActivePlugin = {host, hooks, implemented, pid, startedAt: Date.now()};
      this.active = active;
      this.state = 'active';
      void host.exited.then(({code, signal}) => this.onExit(active, code, signal));
      logger.info('plugin activated', {pid, executable: spec.label});
      for (const l of this.activationListeners) l(active);
      return active;
    } catch (err) {
      this.state = 'failed';
      await host.kill();
      throw err instanceof ActivationError ? err : new ActivationError(`activation failed: ${(err as Error).message}`);
    }
  }

  private onExit(a: ActivePlugin, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.active !== a || this.stopping) return;
    this.active = undefined;
    this.o.logger.error('plugin process exited', {pid: a.pid, code: code ?? '', signal: signal ?? ''});
    this.fail();
  }

  private async healthCheck(): Promise<void> {
    const a = this.active;
    if (!a || this.stopping) return;
    let lastErr: Error | undefined;
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        await withTimeout(a.host.ping(), this.o.pingTimeoutMs, 'Control.Ping');
        return;
      } catch (err) {
        lastErr = err as Error;
      }
      if (this.active !== a) return;
    }
    if (this.active !== a || this.stopping) return;
    this.active = undefined;
    this.o.logger.error('plugin health check failed: restarting it', {pid: a.pid, error: lastErr?.message ?? ''});
    await a.host.kill();
    this.fail();
  }

  /** Counts a failure and schedules a restart unless there were too many. */
  private fail(): void {
    const now = Date.now();
    this.failures = this.failures.filter((t) => now - t < this.o.failureWindowMs);
    this.failures.push(now);
    if (this.failures.length >= this.o.maxFailures) {
      this.state = 'failed';
      this.o.logger.error('plugin failed to stay running: not restarting it again (restart the dev host)', {failures: this.failures.length});
      return;
    }
    this.state = 'restarting';
    this.o.logger.info('restarting the plugin', {in_ms: this.o.restartDelayMs});
    clearTimeout(this.restartTimer);
    this.restartTimer = setTimeout(() => {
      if (this.stopping) return;
      this.launch().catch((err: Error) => {
        this.o.logger.error('plugin restart failed', {error: err.message});
        if (!this.stopping) this.fail();
      });
    }, this.o.restartDelayMs);
  }
}
