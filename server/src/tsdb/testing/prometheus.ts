// Test helpers: make Debian's prometheus/promtool available and run them.
// Installing: apt-get (root only) with a temporary policy-rc.d so the package's
// service is not started; if systemd is running anyway we stop the units we installed.

import {spawn, spawnSync} from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';

const POLICY = '/usr/sbin/policy-rc.d';

function which(bin: string): string | null {
  for (const d of (process.env.PATH ?? '').split(':').concat(['/usr/bin', '/usr/sbin'])) {
    const p = path.join(d, bin);
    if (fs.existsSync(p)) return p;
  }
  return null;
}

export interface PromBinaries {
  promtool: string;
  prometheus: string;
  version: string;
}

/** Finds prometheus/promtool, installing Debian's package if missing. Returns null if impossible. */
export function ensurePrometheus(): PromBinaries | null {
  let promtool = which('promtool');
  let prometheus = which('prometheus');
  if (!promtool || !prometheus) {
    if (process.getuid?.() !== 0 || !which('apt-get')) return null;
    const ownPolicy = !fs.existsSync(POLICY);
    if (ownPolicy) fs.writeFileSync(POLICY, '#!/bin/sh\nexit 101\n', {mode: 0o755});
    try {
      const env = {...process.env, DEBIAN_FRONTEND: 'noninteractive'};
      const install = (): boolean =>
        spawnSync('apt-get', ['install', '-y', '--no-install-recommends', 'prometheus'], {env, stdio: 'ignore'}).status === 0;
      if (!install()) {
        spawnSync('apt-get', ['update'], {env, stdio: 'ignore'});
        if (!install()) return null;
      }
    } finally {
      if (ownPolicy) fs.rmSync(POLICY, {force: true});
    }
    if (fs.existsSync('/run/systemd/system')) {
      spawnSync('systemctl', ['disable', '--now', 'prometheus.service'], {stdio: 'ignore'});
    }
    promtool = which('promtool');
    prometheus = which('prometheus');
    if (!promtool || !prometheus) return null;
  }
  const v = spawnSync(promtool, ['--version'], {encoding: 'utf8'});
  const version = /version (\S+)/.exec(v.stdout + v.stderr)?.[1] ?? 'unknown';
  return {promtool, prometheus, version};
}

/** Runs promtool; throws with its output on failure. */
export function promtool(bin: PromBinaries, args: string[]): string {
  const r = spawnSync(bin.promtool, args, {encoding: 'utf8', maxBuffer: 1 << 30});
  if (r.status !== 0) throw new Error(`promtool ${args.join(' ')} failed (${r.status}): ${r.stderr}${r.stdout}`.slice(0, 4000));
  return r.stdout;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

export interface RunningPrometheus {
  url: string;
  pid: number;
  log: () => string;
  stop: () => Promise<void>;
}

/**
 * Starts prometheus on `dataDir` bound to 127.0.0.1 and waits until ready; `config` is the
 * YAML to load (none by default), `args` extra flags.
 */
export async function startPrometheus(bin: PromBinaries, dataDir: string, opts: {config?: string; args?: string[]} = {}): Promise<RunningPrometheus> {
  const port = await freePort();
  const cfg = path.join(path.dirname(dataDir), `prometheus-${port}.yml`);
  fs.writeFileSync(cfg, opts.config ?? '');
  let log = '';
  const child = spawn(
    bin.prometheus,
    [
      `--config.file=${cfg}`,
      `--storage.tsdb.path=${dataDir}`,
      '--storage.tsdb.retention.time=100y',
      `--web.listen-address=127.0.0.1:${port}`,
      ...(opts.args ?? []),
    ],
    {stdio: ['ignore', 'pipe', 'pipe']},
  );
  child.stdout.on('data', (d: Buffer) => (log += d.toString()));
  child.stderr.on('data', (d: Buffer) => (log += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let alive = true;
  void exited.then(() => (alive = false));
  const stop = async (): Promise<void> => {
    if (!alive || child.pid === undefined) return;
    process.kill(child.pid, 'SIGTERM');
    const t = setTimeout(() => alive && child.pid !== undefined && process.kill(child.pid, 'SIGKILL'), 10_000);
    await exited;
    clearTimeout(t);
  };
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (!alive) throw new Error(`prometheus exited during startup:\n${log.slice(-4000)}`);
    try {
      const r = await fetch(`${url}/-/ready`);
      if (r.ok) break;
    } catch {
      /* not yet listening */
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`prometheus not ready after 30s:\n${log.slice(-4000)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {url, pid: child.pid!, log: () => log, stop};
}

/** Instant query; returns the result array. */
export async function query(p: RunningPrometheus, q: string, time: number): Promise<any[]> {
  const u = `${p.url}/api/v1/query?query=${encodeURIComponent(q)}&time=${time}`;
  const r = await fetch(u);
  const j = (await r.json()) as any;
  if (j.status !== 'success') throw new Error(`query ${q}: ${JSON.stringify(j).slice(0, 2000)}`);
  return j.data.result;
}
