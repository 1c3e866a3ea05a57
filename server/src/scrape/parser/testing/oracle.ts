// Real components for the differential tests: Debian's prometheus-node-exporter and
// prometheus (installed with apt-get under a temporary policy-rc.d so no service starts;
// any systemd unit is disabled again), each run on 127.0.0.1:<free port> and stopped by PID.

import {type ChildProcess, spawn, spawnSync} from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';

const POLICY = '/usr/sbin/policy-rc.d';

export function which(bin: string): string | null {
  for (const d of (process.env.PATH ?? '').split(':').concat(['/usr/bin', '/usr/sbin'])) {
    const p = path.join(d, bin);
    if (fs.existsSync(p)) return p;
  }
  return null;
}

/** Returns the binary path, installing `pkg` with apt-get if needed (root only); null if impossible. */
export function ensureDebianBinary(bin: string, pkg: string, unit: string): string | null {
  const found = which(bin);
  if (found) return found;
  if (process.getuid?.() !== 0 || !which('apt-get')) return null;
  const ownPolicy = !fs.existsSync(POLICY);
  if (ownPolicy) fs.writeFileSync(POLICY, '#!/bin/sh\nexit 101\n', {mode: 0o755});
  try {
    const env = {...process.env, DEBIAN_FRONTEND: 'noninteractive'};
    const install = (): boolean => spawnSync('apt-get', ['install', '-y', '--no-install-recommends', pkg], {env, stdio: 'ignore'}).status === 0;
    if (!install()) {
      spawnSync('apt-get', ['update'], {env, stdio: 'ignore'});
      if (!install()) return null;
    }
  } finally {
    if (ownPolicy) fs.rmSync(POLICY, {force: true});
  }
  if (fs.existsSync('/run/systemd/system')) spawnSync('systemctl', ['disable', '--now', unit], {stdio: 'ignore'});
  return which(bin);
}

export async function freePort(): Promise<number> {
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

export interface Running {
  url: string;
  pid: number;
  log: () => string;
  stop: () => Promise<void>;
}

/** Spawns `bin args`, waits until GET url+readyPath answers 200. */
export async function startProcess(bin: string, args: string[], url: string, readyPath: string): Promise<Running> {
  let log = '';
  const child: ChildProcess = spawn(bin, args, {stdio: ['ignore', 'pipe', 'pipe']});
  child.stdout!.on('data', (d: Buffer) => (log += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  let alive = true;
  const exited = new Promise<void>((resolve) => child.once('exit', () => ((alive = false), resolve())));
  const stop = async (): Promise<void> => {
    if (!alive || child.pid === undefined) return;
    process.kill(child.pid, 'SIGTERM');
    const t = setTimeout(() => alive && child.pid !== undefined && process.kill(child.pid, 'SIGKILL'), 10_000);
    await exited;
    clearTimeout(t);
  };
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (!alive) throw new Error(`${bin} exited during startup:\n${log.slice(-4000)}`);
    try {
      const r = await fetch(url + readyPath);
      await r.arrayBuffer();
      if (r.ok) break;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`${bin} not ready after 30s:\n${log.slice(-4000)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {url, pid: child.pid!, log: () => log, stop};
}

export async function startNodeExporter(bin: string): Promise<Running> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  return startProcess(bin, [`--web.listen-address=127.0.0.1:${port}`], url, '/metrics');
}

/** Starts Prometheus with `config` (JSON is valid YAML) and a fresh data dir under `dir`. */
export async function startPrometheus(bin: string, dir: string, config: unknown): Promise<Running> {
  const port = await freePort();
  const cfg = path.join(dir, `prometheus-${port}.yml`);
  fs.writeFileSync(cfg, JSON.stringify(config));
  const url = `http://127.0.0.1:${port}`;
  return startProcess(
    bin,
    [`--config.file=${cfg}`, `--storage.tsdb.path=${path.join(dir, `data-${port}`)}`, `--web.listen-address=127.0.0.1:${port}`],
    url,
    '/-/ready',
  );
}

export async function promQuery(p: Running, q: string, time: number): Promise<any[]> {
  const r = await fetch(`${p.url}/api/v1/query?query=${encodeURIComponent(q)}&time=${time}`);
  const j = (await r.json()) as any;
  if (j.status !== 'success') throw new Error(`query ${q}: ${JSON.stringify(j).slice(0, 2000)}`);
  return j.data.result;
}
