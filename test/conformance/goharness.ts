// Helpers shared by the conformance test and the go-plugin round-trip benchmark:
// building the Go harness (test/goharness/build.sh), locating the plugin executable
// and parsing the harness's "ok / not ok" lines.
import {spawnSync} from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const ROOT = path.resolve(import.meta.dirname, '..', '..');
export const GOHARNESS_OUT = process.env.GOHARNESS_OUT ?? path.join(ROOT, '.cache', 'goharness');
export const HARNESS = path.join(GOHARNESS_OUT, 'harness');
export const REFPLUGIN = path.join(GOHARNESS_OUT, 'refplugin');

export interface BuildResult {
  ok: boolean;
  output: string;
}

/** Runs test/goharness/build.sh (installs Debian packages if missing, builds if stale). */
export function buildHarness(): BuildResult {
  const r = spawnSync('bash', [path.join(ROOT, 'test', 'goharness', 'build.sh')], {
    cwd: ROOT,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 30 * 60 * 1000,
    env: {...process.env, GOHARNESS_OUT},
  });
  const output = `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? `\n${String(r.error)}` : ''}`;
  return {ok: r.status === 0, output};
}

function goArch(): string {
  switch (process.arch) {
    case 'x64':
      return 'amd64';
    case 'arm64':
      return 'arm64';
    default:
      return process.arch;
  }
}

function isExecutable(p: string): boolean {
  try {
    const st = fs.statSync(p);
    if (!st.isFile()) return false;
    fs.accessSync(p, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export interface PluginTarget {
  exe: string;
  /** "env" = $PLUGIN_EXE, "dist" = the built bundle, "refplugin" = Go reference fallback. */
  source: 'env' | 'dist' | 'refplugin';
  problem?: string;
}

/**
 * Why a test of our own executable (jobs, dumps: the Go reference plugin has none) cannot
 * run here, or false. Pass `prometheus` (ensurePrometheus()) when the test reads dumps with it.
 */
export function ownPluginSkip(target: PluginTarget, prometheus?: object | null): string | false {
  if (target.source === 'refplugin' || target.problem) return `no plugin executable (${target.problem ?? 'run make dist or set PLUGIN_EXE'})`;
  if (prometheus === null) return 'prometheus is not installed';
  return false;
}

/**
 * The executable under test: $PLUGIN_EXE if set; else the bundle's
 * dist/<id>/server/dist/plugin-linux-<arch> (or dist/plugin-linux-<arch>); else the
 * Go reference plugin, so the suite stays meaningful before our executable exists.
 */
export function resolvePluginExe(): PluginTarget {
  const env = process.env.PLUGIN_EXE;
  if (env) {
    const exe = path.resolve(env);
    return isExecutable(exe) ? {exe, source: 'env'} : {exe, source: 'env', problem: `PLUGIN_EXE=${env} is not an executable file`};
  }
  const name = `plugin-linux-${goArch()}`;
  const candidates: string[] = [];
  try {
    const manifest = JSON.parse(fs.readFileSync(path.join(ROOT, 'plugin.json'), 'utf8')) as {id?: string};
    if (manifest.id) candidates.push(path.join(ROOT, 'dist', manifest.id, 'server', 'dist', name));
  } catch {
    // no manifest: only the flat location below
  }
  candidates.push(path.join(ROOT, 'dist', name));
  for (const c of candidates) {
    if (isExecutable(c)) return {exe: c, source: 'dist'};
  }
  return {exe: REFPLUGIN, source: 'refplugin'};
}

export interface Check {
  name: string;
  ok: boolean;
  /** Detail after the name for "ok" lines, the reason for "not ok" lines. */
  text: string;
}

export interface HarnessRun {
  status: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  checks: Check[];
  summary?: {passed: number; failed: number};
  error?: string;
}

/** Parses the harness's stdout: "ok <name> [detail]", "not ok <name>: <reason>", "N passed, N failed". */
export function parseHarnessOutput(stdout: string): {checks: Check[]; summary?: {passed: number; failed: number}} {
  const checks: Check[] = [];
  let summary: {passed: number; failed: number} | undefined;
  for (const line of stdout.split('\n')) {
    let m = /^not ok (\S+): ?(.*)$/.exec(line);
    if (m) {
      checks.push({name: m[1], ok: false, text: m[2]});
      continue;
    }
    m = /^ok (\S+)(?: (.*))?$/.exec(line);
    if (m) {
      checks.push({name: m[1], ok: true, text: m[2] ?? ''});
      continue;
    }
    m = /^(\d+) passed, (\d+) failed$/.exec(line);
    if (m) summary = {passed: Number(m[1]), failed: Number(m[2])};
  }
  return {checks, summary};
}

/** Runs the harness synchronously with the given arguments. */
export function runHarness(args: string[], opts: {env?: NodeJS.ProcessEnv; timeoutMs?: number} = {}): HarnessRun {
  // The plugin inherits the host's working directory (Mattermost's install dir) and keeps
  // its store there: give each run a scratch one instead of the repository.
  const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'goharness-cwd-'));
  const r = spawnSync(HARNESS, args, {
    cwd,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: opts.timeoutMs ?? 15 * 60 * 1000,
    maxBuffer: 64 * 1024 * 1024,
    env: opts.env ?? process.env,
  });
  fs.rmSync(cwd, {recursive: true, force: true});
  const parsed = parseHarnessOutput(r.stdout ?? '');
  return {
    status: r.status,
    signal: r.signal,
    stdout: r.stdout ?? '',
    stderr: r.stderr ?? '',
    checks: parsed.checks,
    summary: parsed.summary,
    error: r.error ? String(r.error) : undefined,
  };
}
