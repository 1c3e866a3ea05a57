// Tests for the installable bundle made by build/dist.sh (run it first), plus fast checks of
// the two bundlers it uses (build/bundle-server.ts, webapp/build.mjs).
//
//   bash build/dist.sh && bash build/qemu-arm64-setup.sh && \
//     DIST_TEST_REQUIRE=1 node --import tsx --test build/dist.test.ts
//
// Without the bundle (or without qemu-aarch64 for the arm64 smoke test) those tests are
// skipped, unless DIST_TEST_REQUIRE=1 turns the skip into a failure.
import {test, describe, before, after} from 'node:test';
import assert from 'node:assert/strict';
import {spawn, spawnSync} from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import vm from 'node:vm';
import zlib from 'node:zlib';

import React from 'react';
import * as ReactDOM from 'react-dom';
import * as ReactIntl from 'react-intl';

const ROOT = path.resolve(import.meta.dirname, '..');
const NODE = process.execPath;
const REQUIRE = process.env.DIST_TEST_REQUIRE === '1';
const COOKIE = 'Securely message teams, anywhere.';
const HANDSHAKE = /^1\|1\|unix\|\/[^|]+\|netrpc\|\n$/;
const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';
const MAX_BYTES = 100 * 1024 * 1024;
const QEMU = '/usr/bin/qemu-aarch64';
const QEMU_ROOT = '/usr/aarch64-linux-gnu';

const manifestText = fs.readFileSync(path.join(ROOT, 'plugin.json'), 'utf8');
const manifest = JSON.parse(manifestText);
const ID: string = manifest.id;
const TARBALL = path.join(ROOT, 'dist', `${ID}-${manifest.version}.tar.gz`);

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dist-test-'));
after(() => fs.rmSync(tmp, {recursive: true, force: true}));

// ---------------------------------------------------------------------------------------
// A minimal tar reader (ustar/GNU/pax headers), so the test sees exactly what Mattermost's
// extractor sees: entry names, type flags, modes, owners.

interface TarEntry {
  name: string;
  type: string; // '0' regular, '5' directory, '1' hard link, '2' symlink, ...
  mode: number;
  uid: number;
  gid: number;
  mtime: number;
  linkname: string;
  data: Buffer;
}

function readTar(buf: Buffer): TarEntry[] {
  const entries: TarEntry[] = [];
  const str = (b: Buffer) => b.toString('utf8').replace(/\0.*$/s, '');
  const oct = (b: Buffer) => parseInt(str(b).trim() || '0', 8);
  let off = 0;
  let longName: string | null = null;
  let paxPath: string | null = null;
  while (off + 512 <= buf.length) {
    const h = buf.subarray(off, off + 512);
    if (h.every((b) => b === 0)) break;
    const size = oct(h.subarray(124, 136));
    const type = String.fromCharCode(h[156] || 0x30);
    const data = buf.subarray(off + 512, off + 512 + size);
    off += 512 + Math.ceil(size / 512) * 512;
    if (type === 'L') {
      longName = str(data);
      continue;
    }
    if (type === 'x') {
      const m = /(?:^|\n)\d+ path=([^\n]*)\n/.exec(data.toString('utf8'));
      if (m) paxPath = m[1];
      continue;
    }
    if (type === 'g') continue;
    const magic = h.subarray(257, 263).toString('latin1');
    const prefix = magic.startsWith('ustar\0') ? str(h.subarray(345, 500)) : '';
    const name = paxPath ?? longName ?? (prefix ? `${prefix}/${str(h.subarray(0, 100))}` : str(h.subarray(0, 100)));
    longName = paxPath = null;
    entries.push({
      name,
      type,
      mode: oct(h.subarray(100, 108)),
      uid: oct(h.subarray(108, 116)),
      gid: oct(h.subarray(116, 124)),
      mtime: oct(h.subarray(136, 148)),
      linkname: str(h.subarray(157, 257)),
      data,
    });
  }
  return entries;
}

// Extracts like Mattermost's extractTarGz: directories and regular files only, modes kept.
function extract(entries: TarEntry[], dest: string): void {
  for (const e of entries) {
    const target = path.join(dest, e.name);
    assert.ok(target.startsWith(dest + path.sep), `entry escapes the extraction dir: ${e.name}`);
    if (e.type === '5') fs.mkdirSync(target, {recursive: true, mode: 0o755});
    else if (e.type === '0') {
      fs.mkdirSync(path.dirname(target), {recursive: true});
      fs.writeFileSync(target, e.data, {mode: e.mode});
      fs.chmodSync(target, e.mode);
    }
  }
}

function elfMachine(data: Buffer): number {
  assert.equal(data.subarray(0, 4).toString('latin1'), '\x7fELF');
  return data.readUInt16LE(18); // e_machine
}

// ---------------------------------------------------------------------------------------
// Starts the plugin like Mattermost does and times exec -> handshake line on stdout.

interface Handshake {
  line: string;
  ms: number;
  stderr: string;
}

function handshake(cmd: string, args: string[], cwd: string, timeoutMs: number): Promise<Handshake> {
  const sockDir = fs.mkdtempSync(path.join(tmp, 's'));
  const env = {
    PATH: '/nonexistent',
    TMPDIR: sockDir,
    MATTERMOST_PLUGIN: COOKIE,
    PLUGIN_MIN_PORT: '10000',
    PLUGIN_MAX_PORT: '25000',
    PLUGIN_PROTOCOL_VERSIONS: '1',
  };
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(cmd, args, {cwd, env, stdio: ['ignore', 'pipe', 'pipe']});
    let out = '';
    let err = '';
    let done = false;
    const finish = (fn: () => void) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      child.kill('SIGKILL'); // what the Mattermost server does to stop a plugin
      child.once('close', fn);
      if (child.exitCode !== null || child.signalCode !== null) fn();
    };
    const timer = setTimeout(() => finish(() => reject(new Error(`no handshake within ${timeoutMs} ms; stdout=${JSON.stringify(out)} stderr=${err}`))), timeoutMs);
    child.stderr.on('data', (d) => (err += d));
    child.stdout.on('data', (d) => {
      out += d;
      const nl = out.indexOf('\n');
      if (nl >= 0) {
        const ms = Number(process.hrtime.bigint() - t0) / 1e6;
        finish(() => resolve({line: out.slice(0, nl + 1), ms, stderr: err}));
      }
    });
    child.on('error', (e) => finish(() => reject(e)));
    child.on('exit', (code, signal) => {
      if (!done) finish(() => reject(new Error(`exited (${code ?? signal}) before the handshake; stdout=${JSON.stringify(out)} stderr=${err}`)));
    });
  });
}

function stats(ms: number[]): string {
  const s = [...ms].sort((a, b) => a - b);
  const median = s[Math.floor(s.length / 2)];
  return `min ${s[0].toFixed(1)} ms, median ${median.toFixed(1)} ms, max ${s[s.length - 1].toFixed(1)} ms over ${s.length} runs (${ms.map((m) => m.toFixed(0)).join(', ')})`;
}

function median(ms: number[]): number {
  return [...ms].sort((a, b) => a - b)[Math.floor(ms.length / 2)];
}

// ---------------------------------------------------------------------------------------

const bundleMissing = fs.existsSync(TARBALL) ? false : `${path.relative(ROOT, TARBALL)} not built (run build/dist.sh)`;
if (bundleMissing && REQUIRE) {
  test('bundle exists', () => assert.fail(bundleMissing));
}

describe('bundle', {skip: REQUIRE ? false : bundleMissing}, () => {
  let entries: TarEntry[] = [];
  let byName = new Map<string, TarEntry>();
  const extracted = path.join(tmp, 'extracted');
  const exeAmd64 = `${ID}/server/dist/plugin-linux-amd64`;
  const exeArm64 = `${ID}/server/dist/plugin-linux-arm64`;

  before(() => {
    entries = readTar(zlib.gunzipSync(fs.readFileSync(TARBALL)));
    byName = new Map(entries.map((e) => [e.name.replace(/\/$/, ''), e]));
    extract(entries, extracted);
  });

  test(`size is at most 100 MiB`, (t) => {
    const size = fs.statSync(TARBALL).size;
    t.diagnostic(`${path.basename(TARBALL)}: ${(size / 1048576).toFixed(1)} MiB (${size} bytes)`);
    assert.ok(size <= MAX_BYTES, `${size} bytes`);
  });

  test('lists exactly the expected entries under one top-level directory', () => {
    const expected = [
      `${ID}`,
      `${ID}/plugin.json`,
      `${ID}/server`,
      `${ID}/server/dist`,
      exeAmd64,
      exeArm64,
      `${ID}/webapp`,
      `${ID}/webapp/dist`,
      `${ID}/webapp/dist/main.js`,
      `${ID}/public`,
      `${ID}/public/dashboard.js`,
    ];
    const assets = path.join(ROOT, 'assets');
    if (fs.existsSync(assets)) {
      expected.push(`${ID}/assets`);
      for (const rel of fs.readdirSync(assets, {recursive: true}) as string[]) expected.push(`${ID}/assets/${rel}`);
    }
    assert.deepEqual([...byName.keys()].sort(), expected.sort());
    assert.equal(entries.length, byName.size, 'no duplicate entries');
  });

  test('regular files and directories only (no symlinks, no hard links), owned by 0:0', () => {
    for (const e of entries) {
      assert.ok(e.type === '0' || e.type === '5', `${e.name}: type ${e.type} ${e.linkname}`);
      assert.equal(e.linkname, '', e.name);
      assert.equal(e.uid, 0, e.name);
      assert.equal(e.gid, 0, e.name);
    }
    for (const e of entries) {
      const st = fs.lstatSync(path.join(extracted, e.name));
      assert.ok(!st.isSymbolicLink(), e.name);
    }
  });

  test('modes: executables and directories 0755, other files 0644', () => {
    for (const e of entries) {
      const exe = e.name === exeAmd64 || e.name === exeArm64;
      const want = e.type === '5' || exe ? 0o755 : 0o644;
      assert.equal((e.mode & 0o7777).toString(8), want.toString(8), e.name);
    }
  });

  test('plugin.json is the repository one and names both executables and the webapp bundle', () => {
    assert.equal(byName.get(`${ID}/plugin.json`)!.data.toString('utf8'), manifestText);
    assert.equal(manifest.server.executables['linux-amd64'], 'server/dist/plugin-linux-amd64');
    assert.equal(manifest.server.executables['linux-arm64'], 'server/dist/plugin-linux-arm64');
    assert.equal(manifest.webapp.bundle_path, 'webapp/dist/main.js');
    for (const rel of [manifest.server.executables['linux-amd64'], manifest.server.executables['linux-arm64'], manifest.webapp.bundle_path]) {
      assert.ok(byName.has(`${ID}/${rel}`), rel);
    }
  });

  test('executables are SEA-injected ELF files of the right architecture', () => {
    const amd64 = byName.get(exeAmd64)!.data;
    const arm64 = byName.get(exeArm64)!.data;
    assert.equal(elfMachine(amd64), 62, 'x86-64');
    assert.equal(elfMachine(arm64), 183, 'AArch64');
    for (const data of [amd64, arm64]) {
      assert.ok(data.includes(`${SEA_FUSE}:1`), 'SEA fuse flipped');
      assert.ok(data.includes('NODE_SEA_BLOB'), 'blob section present');
    }
  });

  test('webapp/dist/main.js registers the plugin with the host', () => {
    const mainJs = byName.get(`${ID}/webapp/dist/main.js`)!.data.toString('utf8');
    const registered: Array<[string, any]> = [];
    const settings: string[] = [];
    // The host's globals, as the web app exposes them; a document just for the style element.
    const document = {getElementById: () => null, createElement: () => ({}), head: {appendChild: () => undefined}};
    const window = {React, ReactDOM, ReactIntl, registerPlugin: (id: string, plugin: unknown) => registered.push([id, plugin])};
    vm.runInNewContext(mainJs, {window, document});
    assert.equal(registered.length, 1);
    assert.equal(registered[0][0], ID);
    assert.equal(typeof registered[0][1].initialize, 'function');
    registered[0][1].initialize({registerAdminConsoleCustomSetting: (key: string) => settings.push(key)}, {getState: () => ({}), dispatch: () => undefined});
    assert.deepEqual(settings, ['Dashboard', 'Status', 'Stats', 'Dumps']);
  });

  test('public/dashboard.js is the dashboard chunk main.js asks for, by content hash', (t) => {
    const mainJs = byName.get(`${ID}/webapp/dist/main.js`)!.data;
    const chunk = byName.get(`${ID}/public/dashboard.js`)!.data;
    t.diagnostic(`main.js ${mainJs.length} bytes, public/dashboard.js ${chunk.length} bytes`);
    assert.ok(mainJs.length < 150 * 1024, `main.js is ${mainJs.length} bytes, over the 150 KB budget`);
    const hash = crypto.createHash('sha256').update(chunk).digest('hex').slice(0, 16);
    // main.js builds the URL `${basename}/plugins/${id}/public/dashboard.js?v=${hash}`.
    assert.ok(mainJs.includes('/public/dashboard.js?v='), 'main.js loads public/dashboard.js');
    assert.ok(mainJs.includes(`"${hash}"`), `main.js does not carry dashboard.js's hash ${hash}`);
    assert.ok(chunk.includes('mattermostPluginMetricsDashboard'), 'dashboard.js hands the component over on window.mattermostPluginMetricsDashboard');
    assert.ok(!mainJs.includes('uplot'), 'uPlot stays out of main.js');
  });

  test('amd64: handshake with PATH=/nonexistent', async (t) => {
    // Started the way Mattermost does: no arguments, cwd elsewhere, a relative path.
    const times: number[] = [];
    let stderr = '';
    for (let i = 0; i < 7; i++) {
      const hs = await handshake(path.join('.', exeAmd64), [], extracted, 3000);
      assert.match(hs.line, HANDSHAKE);
      const sock = hs.line.split('|')[3];
      assert.ok(Buffer.byteLength(sock) < 108, `socket path too long for sun_path: ${sock}`);
      times.push(hs.ms);
      stderr = hs.stderr;
    }
    t.diagnostic(`amd64 exec -> handshake: ${stats(times)} (target <= 100 ms, hard limit 3 s)`);
    assert.doesNotMatch(stderr, /ExperimentalWarning|single executable|only supports loading built-in modules/i);
    assert.ok(median(times) < 1000, `median ${median(times)} ms`);
  });

  test('amd64: without the magic cookie it exits 1, message on stderr, nothing on stdout', () => {
    for (const cookie of [undefined, 'wrong']) {
      const env: NodeJS.ProcessEnv = {PATH: '/nonexistent', TMPDIR: tmp};
      if (cookie) env.MATTERMOST_PLUGIN = cookie;
      const r = spawnSync(path.join(extracted, exeAmd64), [], {cwd: tmp, env, encoding: 'utf8', timeout: 10_000});
      assert.equal(r.status, 1, `cookie ${cookie}: status ${r.status} signal ${r.signal}`);
      assert.equal(r.stdout, '');
      assert.ok(r.stderr.trim().length > 0, 'a message on stderr');
    }
  });

  const qemuMissing = fs.existsSync(QEMU) && fs.existsSync(path.join(QEMU_ROOT, 'lib/ld-linux-aarch64.so.1'))
    ? false
    : `${QEMU} or the arm64 libraries in ${QEMU_ROOT} are missing (run build/qemu-arm64-setup.sh)`;

  test('arm64 (qemu-user): handshake with PATH=/nonexistent', {skip: REQUIRE ? false : qemuMissing}, async (t) => {
    assert.ok(!qemuMissing, qemuMissing || '');
    const times: number[] = [];
    for (let i = 0; i < 3; i++) {
      const hs = await handshake(QEMU, ['-L', QEMU_ROOT, path.join('.', exeArm64)], extracted, 20_000);
      assert.match(hs.line, HANDSHAKE);
      times.push(hs.ms);
    }
    t.diagnostic(`arm64 under qemu-aarch64 exec -> handshake: ${stats(times)} (emulated; limit here 20 s)`);
  });

  test('arm64 (qemu-user): without the magic cookie it exits 1', {skip: REQUIRE ? false : qemuMissing}, () => {
    const r = spawnSync(QEMU, ['-L', QEMU_ROOT, path.join(extracted, exeArm64)], {cwd: tmp, env: {PATH: '/nonexistent'}, encoding: 'utf8', timeout: 20_000});
    assert.equal(r.status, 1, `status ${r.status} signal ${r.signal} stderr ${r.stderr}`);
    assert.equal(r.stdout, '');
    assert.ok(r.stderr.trim().length > 0);
  });
});

// ---------------------------------------------------------------------------------------
// The bundlers themselves (fast; no built bundle needed).

describe('server bundler (build/bundle-server.ts)', () => {
  const dir = path.join(tmp, 'server-bundler');
  before(() => fs.mkdirSync(dir, {recursive: true}));

  function bundle(entry: string, out: string) {
    return spawnSync(NODE, ['--import', 'tsx', path.join(ROOT, 'build/bundle-server.ts'), entry, out], {cwd: ROOT, encoding: 'utf8'});
  }

  test('optional native add-ons become MODULE_NOT_FOUND; import.meta works in the CJS output', () => {
    fs.writeFileSync(path.join(dir, 'esm-dep.mjs'),
      "import {fileURLToPath} from 'node:url';\nexport const self = fileURLToPath(import.meta.url);\nexport const dir = import.meta.dirname;\nexport const file = import.meta.filename;\n");
    fs.writeFileSync(path.join(dir, 'entry.ts'), [
      "import {self, dir, file} from './esm-dep.mjs';",
      'const codes: string[] = [];',
      "for (const probe of [() => require('pg-native'), () => require('@aws-sdk/signature-v4-crt'), () => require('bufferutil')]) {",
      "  try { probe(); codes.push('loaded'); } catch (e) { codes.push((e as NodeJS.ErrnoException).code ?? String(e)); }",
      '}',
      'console.log(JSON.stringify({codes, self, dir, file}));',
    ].join('\n'));
    const out = path.join(dir, 'out.cjs');
    const r = bundle(path.join(dir, 'entry.ts'), out);
    assert.equal(r.status, 0, r.stderr);
    const code = fs.readFileSync(out, 'utf8');
    assert.doesNotMatch(code, /require\(["'](pg-native|@aws-sdk\/signature-v4-crt|bufferutil)["']\)/);
    const run = spawnSync(NODE, [out], {encoding: 'utf8'});
    assert.equal(run.status, 0, run.stderr);
    assert.deepEqual(JSON.parse(run.stdout), {codes: ['MODULE_NOT_FOUND', 'MODULE_NOT_FOUND', 'MODULE_NOT_FOUND'], self: out, dir, file: out});
  });

  test('a leftover non-built-in require fails the build', () => {
    fs.writeFileSync(path.join(dir, 'bad.ts'), "try { require('surely-not-installed-pkg'); } catch {}\nexport {};\n");
    const r = bundle(path.join(dir, 'bad.ts'), path.join(dir, 'bad.cjs'));
    assert.equal(r.status, 1);
    assert.match(r.stderr, /non-built-in modules at run time: surely-not-installed-pkg/);
  });
});

describe('webapp bundler (webapp/build.mjs)', () => {
  const dir = path.join(tmp, 'webapp-bundler');
  before(() => fs.mkdirSync(dir, {recursive: true}));

  function build(entry: string, out: string) {
    return spawnSync(NODE, [path.join(ROOT, 'webapp/build.mjs'), '--entry', entry, '--outfile', out], {cwd: ROOT, encoding: 'utf8'});
  }

  test('host packages resolve to window globals; JSX uses React.createElement', () => {
    const entry = path.join(dir, 'entry.tsx');
    fs.writeFileSync(entry, [
      "import React from 'react';",
      "import {useSelector} from 'react-redux';",
      "import {combineReducers} from 'redux';",
      'const Stats = () => { const v = useSelector((s: {x: number}) => s.x); return <div className="stats">{v}<>!</></div>; };',
      "window.registerPlugin('t', {initialize(registry: any) { registry.registerAdminConsoleCustomSetting('Stats', Stats); registry.registerReducer(combineReducers({})); }});",
      'declare global { interface Window { registerPlugin(id: string, p: unknown): void } }',
    ].join('\n'));
    const out = path.join(dir, 'main.js');
    const r = build(entry, out);
    assert.equal(r.status, 0, r.stderr);
    const code = fs.readFileSync(out, 'utf8');
    assert.doesNotMatch(code, /\brequire\(/);
    assert.ok(code.length < 2000, `host libraries must not be bundled (${code.length} bytes)`);

    const calls: unknown[] = [];
    const window: any = {
      React: {createElement: (...a: unknown[]) => a, Fragment: 'Fragment'},
      ReactRedux: {useSelector: (f: (s: {x: number}) => number) => f({x: 42})},
      Redux: {combineReducers: () => 'reducer'},
      registerPlugin: (_id: string, p: any) => p.initialize({
        registerAdminConsoleCustomSetting: (key: string, c: () => unknown) => calls.push([key, c()]),
        registerReducer: (red: unknown) => calls.push(red),
      }),
    };
    vm.runInNewContext(code, {window});
    // (JSON round trip: objects made inside the vm context have that realm's prototypes)
    assert.deepEqual(JSON.parse(JSON.stringify(calls)), [['Stats', ['div', {className: 'stats'}, 42, ['Fragment', null, '!']]], 'reducer']);
  });

  test('the plugin build: dashboard.js beside main.js, main.js carrying its content hash', () => {
    const out = path.join(dir, 'plugin', 'main.js');
    const r = spawnSync(NODE, [path.join(ROOT, 'webapp/build.mjs'), '--outfile', out], {cwd: ROOT, encoding: 'utf8'});
    assert.equal(r.status, 0, r.stderr);
    const chunk = fs.readFileSync(path.join(dir, 'plugin', 'dashboard.js'));
    const hash = crypto.createHash('sha256').update(chunk).digest('hex').slice(0, 16);
    assert.match(r.stdout, new RegExp(`dashboard\\.js: ${chunk.length} bytes \\(v=${hash}\\)`));
    assert.ok(fs.readFileSync(out, 'utf8').includes(`"${hash}"`));
  });

  test('subpaths the host does not expose (react/jsx-runtime, react-dom/client) are refused', () => {
    const entry = path.join(dir, 'bad.tsx');
    fs.writeFileSync(entry, "import {createRoot} from 'react-dom/client';\nconsole.log(createRoot);\n");
    const r = build(entry, path.join(dir, 'bad.js'));
    assert.equal(r.status, 1);
    assert.match(r.stderr, /"react-dom\/client" is not available/);
  });
});
