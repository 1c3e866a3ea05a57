// Builds testdata/gointerop (a real hashicorp/yamux peer) for the interop test and
// the benchmark. Uses Debian's Go and yamux packages in GOPATH mode, installing
// them with apt-get when missing and we are root (as in CI). The binary is cached
// under <repo>/.cache/, keyed by a hash of the source and the Go version.

import {execFileSync, spawnSync} from 'node:child_process';
import {createHash} from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import {fileURLToPath} from 'node:url';

export const GO_PACKAGES = ['golang-go', 'golang-github-hashicorp-yamux-dev'];
const GOCODE = '/usr/share/gocode';
const YAMUX_SRC = path.join(GOCODE, 'src/github.com/hashicorp/yamux');

/** Folder of this package (server/src/bridge/yamux). */
export function yamuxDir(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  return path.resolve(here, '..');
}

export function repoRoot(): string {
  return path.resolve(yamuxDir(), '../../../..');
}

export interface GoBuild {
  /** Path of the built binary, or null when Go could not be had. */
  binary: string | null;
  /** Why binary is null, or what was done (installed, built, cached). */
  note: string;
}

function haveGo(): boolean {
  return spawnSync('go', ['version'], {stdio: 'ignore'}).status === 0 && fs.existsSync(path.join(YAMUX_SRC, 'session.go'));
}

function aptInstall(log: string[]): boolean {
  const args = ['-y', '-q', '-o', 'DPkg::Lock::Timeout=300', 'install', ...GO_PACKAGES];
  const env = {...process.env, DEBIAN_FRONTEND: 'noninteractive'};
  let r = spawnSync('apt-get', args, {env, encoding: 'utf8', timeout: 600_000});
  if (r.status !== 0) {
    // Fresh machines have no package lists yet.
    log.push(`apt-get install failed (${r.status}); running apt-get update`);
    spawnSync('apt-get', ['-q', '-o', 'DPkg::Lock::Timeout=300', 'update'], {env, encoding: 'utf8', timeout: 600_000});
    r = spawnSync('apt-get', args, {env, encoding: 'utf8', timeout: 600_000});
  }
  if (r.status !== 0) log.push(`apt-get install failed: ${(r.stderr || '').trim().split('\n').slice(-3).join(' | ')}`);
  return r.status === 0;
}

/**
 * Returns the interop binary, building it if needed. Installs Debian's Go packages
 * first when they are missing and we may (root with apt-get). Throws when an
 * install or build was attempted and failed; returns binary null when Go is absent
 * and cannot be installed here.
 */
export function ensureGoInterop(options: {install?: boolean} = {}): GoBuild {
  const log: string[] = [];
  if (!haveGo()) {
    if (options.install === false) return {binary: null, note: 'Go or Debian yamux source missing'};
    const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
    const hasApt = spawnSync('apt-get', ['--version'], {stdio: 'ignore'}).status === 0;
    if (!isRoot || !hasApt) {
      return {binary: null, note: `Go or Debian yamux source missing and cannot install (${isRoot ? 'no apt-get' : 'not root'})`};
    }
    if (!aptInstall(log) || !haveGo()) {
      throw new Error(`could not install ${GO_PACKAGES.join(' ')}: ${log.join('; ')}`);
    }
    log.push(`installed ${GO_PACKAGES.join(' ')}`);
  }

  const srcDir = path.join(yamuxDir(), 'testdata/gointerop');
  const source = fs.readFileSync(path.join(srcDir, 'main.go'));
  const goVersion = execFileSync('go', ['version'], {encoding: 'utf8'}).trim();
  const yamuxSession = fs.readFileSync(path.join(YAMUX_SRC, 'session.go'));
  const key = createHash('sha256').update(source).update(goVersion).update(yamuxSession).digest('hex').slice(0, 16);
  const cacheDir = path.join(repoRoot(), '.cache/yamux-gointerop');
  const binary = path.join(cacheDir, key, 'gointerop');
  if (fs.existsSync(binary)) return {binary, note: [...log, 'cached build'].join('; ')};

  // GOPATH mode: a throwaway GOPATH holding our package, then Debian's gocode.
  fs.mkdirSync(cacheDir, {recursive: true});
  const gopath = fs.mkdtempSync(path.join(cacheDir, 'gopath-'));
  try {
    const pkgDir = path.join(gopath, 'src/gointerop');
    fs.mkdirSync(pkgDir, {recursive: true});
    fs.copyFileSync(path.join(srcDir, 'main.go'), path.join(pkgDir, 'main.go'));
    fs.mkdirSync(path.dirname(binary), {recursive: true});
    const env = {
      ...process.env,
      GO111MODULE: 'off',
      GOPATH: `${gopath}:${GOCODE}`,
      GOCACHE: path.join(cacheDir, 'gocache'),
      GOFLAGS: '',
      CGO_ENABLED: '0',
    };
    const r = spawnSync('go', ['build', '-o', binary, 'gointerop'], {cwd: pkgDir, env, encoding: 'utf8', timeout: 300_000});
    if (r.status !== 0) throw new Error(`go build failed: ${r.stderr || r.error?.message}`);
  } finally {
    fs.rmSync(gopath, {recursive: true, force: true});
  }
  return {binary, note: [...log, 'built'].join('; ')};
}
