// Drives `harness serve` (test/goharness/harness/serve.go): our plugin executable under the
// Go go-plugin host, its routes reachable over HTTP (each request one ServeHTTP call), and
// the harness's controls (kill, start, stop) per node.
import assert from 'node:assert/strict';
import {spawn, type ChildProcess} from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import {buildHarness, HARNESS, type PluginTarget} from './goharness.ts';

export const pluginId = 'com.mattermost.mattermost-plugin-metrics';
/** The harness's one user with manage_system (serve.go AdminUserID). */
export const ADMIN = 'harnessadminuser0000000000';

export interface ServeOptions {
  target: PluginTarget;
  /** The harness's working directory: the plugin's (one node) or the parent of node<i>/. */
  cwd: string;
  fileStore: string;
  metricsPort: number;
  nodes?: number;
  /** Plugin settings merged over the defaults. */
  config?: Record<string, unknown>;
}

export type Job = Record<string, any>;

export class Serve {
  private log = '';
  private constructor(
    private readonly child: ChildProcess,
    readonly url: string,
  ) {}

  static async start(o: ServeOptions): Promise<Serve> {
    const args = [
      'serve',
      '-plugin',
      o.target.exe,
      '-filestore',
      o.fileStore,
      '-metrics-listen',
      `127.0.0.1:${o.metricsPort}`,
      '-nodes',
      String(o.nodes ?? 1),
      '-config',
      JSON.stringify(o.config ?? {}),
      // Mattermost's 3 s for the bundle's executable; $PLUGIN_EXE may be a script running tsx.
      '-start-timeout',
      o.target.source === 'env' ? '30s' : '3s',
      '-v',
    ];
    const child = spawn(HARNESS, args, {cwd: o.cwd, stdio: ['pipe', 'pipe', 'pipe']});
    let log = '';
    const onLog = (d: Buffer): void => {
      log += d.toString();
      if (log.length > 4_000_000) log = log.slice(-2_000_000);
    };
    child.stderr!.on('data', onLog);
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      const t = setTimeout(() => reject(new Error(`harness did not start:\n${log.slice(-4000)}`)), 90_000);
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /listening (http:\/\/\S+)/.exec(out);
        if (m) {
          clearTimeout(t);
          resolve(m[1]);
        }
      });
      child.once('exit', (code) => {
        clearTimeout(t);
        reject(new Error(`harness exited (${code}):\n${log.slice(-4000)}`));
      });
    });
    const s = new Serve(child, url);
    child.stderr!.off('data', onLog);
    s.log = log;
    child.stderr!.on('data', (d: Buffer) => {
      s.log += d.toString();
      if (s.log.length > 4_000_000) s.log = s.log.slice(-2_000_000);
    });
    return s;
  }

  logTail(n = 4000): string {
    return this.log.slice(-n);
  }

  /** A plugin route on node `node`, as the admin unless `headers` say otherwise. */
  api(p: string, init: {method?: string; body?: unknown; headers?: Record<string, string>; node?: number} = {}): Promise<Response> {
    const prefix = init.node ? `/node/${init.node}` : '';
    return fetch(`${this.url}${prefix}/plugins/${pluginId}${p}`, {
      method: init.method ?? 'GET',
      headers: {'Mattermost-User-Id': ADMIN, ...init.headers},
      ...(init.body !== undefined ? {body: JSON.stringify(init.body)} : {}),
    });
  }

  async control(action: 'kill' | 'start' | 'stop', node = 0): Promise<void> {
    const r = await fetch(`${this.url}/_harness/${action}?node=${node}`, {method: 'POST'});
    assert.equal(r.status, 200, `${action} node ${node}: ${await r.text()}\n${this.logTail()}`);
  }

  async jobs(node = 0): Promise<Job[]> {
    const r = await this.api('/jobs', {node});
    assert.equal(r.status, 200, await r.clone().text());
    return (await r.json()) as Job[];
  }

  async createJob(minT: number, maxT: number, node = 0): Promise<{job: Job; existing: boolean}> {
    const r = await this.api('/jobs/create', {method: 'POST', body: {min_t: minT, max_t: maxT}, node});
    assert.equal(r.status, 200, await r.clone().text());
    return {job: (await r.json()) as Job, existing: r.headers.get('x-dump-job-existing') === 'true'};
  }

  async waitJob(id: string, done: (j: Job) => boolean, timeoutMs = 60_000, node = 0): Promise<Job> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const j = (await this.jobs(node)).find((x) => x.id === id);
      if (j && done(j)) return j;
      if (Date.now() > deadline) throw new Error(`job ${id} not done in time: ${JSON.stringify(j)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Graceful: OnDeactivate of every node, then the harness exits (stdin closed). */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise((r) => this.child.once('exit', r));
    this.child.stdin!.end();
    const t = setTimeout(() => this.child.kill('SIGKILL'), 20_000);
    await exited;
    clearTimeout(t);
  }
}

export const isFinished = (j: Job): boolean => j.status !== 'pending' && j.status !== 'in_progress';

/** A node started by startScrapingNode: its temp root (node/, filestore/) and the harness. */
export interface ScrapingNode {
  root: string;
  harness: Serve;
  /** Stops the harness (graceful) and removes the root. */
  close(): Promise<void>;
}

/**
 * Builds the harness and starts our plugin as one node scraping `metrics` every second,
 * under a fresh temp root; `seed` may put blocks in the plugin's data dir first.
 */
export async function startScrapingNode(o: {
  target: PluginTarget;
  prefix: string;
  metrics: {start(): Promise<number>; port: number};
  config?: Record<string, unknown>;
  seed?: (dataDir: string) => void;
}): Promise<ScrapingNode> {
  const built = buildHarness();
  assert.ok(built.ok, built.output);
  const root = fs.mkdtempSync(path.join(os.tmpdir(), `${o.prefix}-`));
  const nodeDir = path.join(root, 'node');
  const dataDir = path.join(nodeDir, 'mattermost-plugin-metrics', 'data');
  fs.mkdirSync(dataDir, {recursive: true});
  o.seed?.(dataDir);
  await o.metrics.start();
  const harness = await Serve.start({
    target: o.target,
    cwd: nodeDir,
    fileStore: path.join(root, 'filestore'),
    metricsPort: o.metrics.port,
    config: {ScrapeIntervalSeconds: 1, ScrapeTimeoutSeconds: 1, ...o.config},
  });
  return {
    root,
    harness,
    async close() {
      await harness.stop();
      fs.rmSync(root, {recursive: true, force: true});
    },
  };
}
