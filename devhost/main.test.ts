// `make run` end to end: devhost/main.ts as its own process (free ports, tsx
// mode, conformance routes), real HTTP, then SIGTERM → clean exit, plugin gone.
import assert from 'node:assert/strict';
import {spawn, type ChildProcess} from 'node:child_process';
import {readFileSync} from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import {after, before, test} from 'node:test';

import {repoRoot} from './devhost.ts';
import {users} from './state.ts';

/** What LoadPluginConfiguration returns with nothing saved: plugin.json defaults, keys lower-cased. */
function schemaDefaults(): Record<string, unknown> {
  const manifest = JSON.parse(readFileSync(new URL('../plugin.json', import.meta.url), 'utf8')) as {
    settings_schema: {settings: Array<{key: string; default?: unknown}>};
  };
  return Object.fromEntries(manifest.settings_schema.settings.map((s) => [s.key.toLowerCase(), s.default ?? null]));
}

const id = 'com.mattermost.mattermost-plugin-metrics';
let child: ChildProcess;
let url = '';
let pluginPid = 0;
let dir = '';
const output: string[] = [];
let exited: Promise<{code: number | null; signal: NodeJS.Signals | null}>;

before(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'devhost-main-'));
  child = spawn(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'devhost', 'main.ts')], {
    cwd: repoRoot,
    env: {
      ...process.env,
      DEVHOST_DIR: dir,
      DEVHOST_PORT: '0',
      DEVHOST_METRICS_PORT: '0',
      DEVHOST_PLUGIN_EXE: 'tsx',
      MM_METRICS_CONFORMANCE: '1',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({code, signal})));
  readline.createInterface({input: child.stderr!}).on('line', (l) => output.push(l));
  const ready = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ready line within 20 s:\n${output.join('\n')}`)), 20_000);
    readline.createInterface({input: child.stdout!}).on('line', (l) => {
      output.push(l);
      if (l.startsWith('[devhost] info  ready ')) {
        clearTimeout(timer);
        resolve(l);
      }
    });
    child.once('exit', (code) => reject(new Error(`dev host exited (${code}) before it was ready:\n${output.join('\n')}`)));
  });
  url = /url=(\S+)/.exec(ready)![1];
  pluginPid = Number(/plugin_pid=(\d+)/.exec(ready)![1]);
});

after(async () => {
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await fs.rm(dir, {recursive: true, force: true});
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

void test('hello as admin and as anonymous', async () => {
  const admin = await fetch(`${url}/plugins/${id}/conformance/hello`, {headers: {'X-Devhost-User': 'admin'}});
  assert.equal(await admin.text(), `hello ${users.admin.id}`);
  const anonymous = await fetch(`${url}/plugins/${id}/conformance/hello`, {headers: {'X-Devhost-User': 'anonymous'}});
  assert.equal(await anonymous.text(), 'hello ');
});

void test('POST /conformance/api: the API under the dev host semantics', async () => {
  const r = await fetch(`${url}/plugins/${id}/conformance/api`, {method: 'POST'});
  assert.equal(r.status, 200);
  const out = (await r.json()) as Record<string, unknown>;
  const port = new URL(url).port;
  const state = JSON.parse(await fs.readFile(path.join(dir, 'state.json'), 'utf8')) as {diagnosticId: string; installDate: number};
  assert.deepEqual(out, {
    serverVersion: '10.11.0-devhost',
    configDataSource: '*'.repeat(32),
    unsanitizedDataSource: 'postgres://mmuser:mostest@localhost/mattermost_test?sslmode=disable&connect_timeout=10&binary_parameters=yes',
    siteURL: `http://localhost:${port}`,
    metricsListen: out.metricsListen, // a free port chosen at start
    metricsEnable: true,
    s3ssl: true,
    pluginSetting: 60,
    licenseId: 'devhostlicense000000000000',
    licenseMetrics: true,
    enterpriseReady: true,
    diagnosticId: state.diagnosticId,
    telemetryId: state.diagnosticId,
    installDate: state.installDate,
    bundlePathSet: true,
    loadedConfig: schemaDefaults(),
    kvGet: 'v1',
    casOk: true,
    casWrong: false,
    mutexFirst: true,
    mutexSecond: false,
    cadOk: true,
    kvGetAfterDelete: null,
    kvList: ['k2', 'mutex_x'],
    configSaved: true,
    missingMethodError: true,
  });
  assert.match(String(out.metricsListen), /^:\d+$/);
  const kv = JSON.parse(await fs.readFile(path.join(dir, 'kv.json'), 'utf8')) as Record<string, {value: string}>;
  assert.deepEqual(Object.keys(kv), ['k2', 'mutex_x']);
  assert.equal(kv.k2.value, Buffer.from('v2').toString('base64'));
});

void test('a 20 MiB download is streamed', async () => {
  const n = 20 * 1024 * 1024;
  const r = await fetch(`${url}/plugins/${id}/conformance/download?bytes=${n}`);
  assert.equal(r.status, 200);
  let total = 0;
  let chunks = 0;
  for await (const chunk of r.body as unknown as AsyncIterable<Uint8Array>) {
    assert.equal(chunk[0], total % 251);
    total += chunk.length;
    chunks++;
  }
  assert.equal(total, n);
  assert.ok(chunks > 1, 'arrived in pieces');
});

void test('SIGTERM: OnDeactivate, clean exit within a few seconds, no plugin process left', async () => {
  assert.ok(alive(pluginPid));
  const t = performance.now();
  child.kill('SIGTERM');
  const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error('no exit within 5 s')), 5_000).unref());
  const {code, signal} = await Promise.race([exited, timeout]);
  assert.deepEqual({code, signal}, {code: 0, signal: null});
  assert.ok(performance.now() - t < 5_000);
  assert.equal(alive(pluginPid), false, 'plugin process gone');
  assert.ok(output.some((l) => l === '[plugin] info  metrics plugin deactivating'), output.join('\n'));
  assert.ok(output.some((l) => l.startsWith('[devhost] info  plugin stopped')), output.join('\n'));
});
