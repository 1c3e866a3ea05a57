// Fast TS-host ↔ TS-plugin loopback over the real process boundary. The Go
// harness (test/goharness) remains the arbiter of protocol conformance; this
// catches regressions in seconds.
import assert from 'node:assert/strict';
import {createHash, randomBytes} from 'node:crypto';
import path from 'node:path';
import {Readable} from 'node:stream';
import {after, before, test} from 'node:test';
import {fileURLToPath} from 'node:url';

import {struct} from '../gob/index.ts';
import {PluginHost} from '../goplugin/host.ts';
import {RpcServer, type RpcClient, type RpcHandler} from '../netrpc/index.ts';
import {callServeHTTP} from './host.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');
const ActivateArgs = struct('Z_OnActivateArgs', [
  ['APIMuxId', 'uint'],
  ['DriverMuxId', 'uint'],
]);
const Empty = struct('', []);

let host: PluginHost;
let hooks: RpcClient;
const logs: string[] = [];
const stray: string[] = [];

function fakeApi(): Map<string, RpcHandler> {
  const reply = (fields: Record<string, unknown>, type = struct('R', Object.keys(fields).map((k) => [k, 'bytes'] as const))) => ({type, value: fields});
  const logged: RpcHandler = (args) => {
    logs.push(String((args as {A?: string}).A));
    return {type: Empty, value: {}};
  };
  const MetricsOn = struct('Z_GetConfigReturns', [['A', struct('Config', [['MetricsSettings', struct('MetricsSettings', [['Enable', 'bool']])]])]]);
  return new Map<string, RpcHandler>([
    ['Plugin.LoadPluginConfiguration', () => reply({A: Buffer.from('{"scrapeintervalseconds":60}')})],
    ['Plugin.GetConfig', () => ({type: MetricsOn, value: {A: {MetricsSettings: {Enable: true}}}})],
    ['Plugin.LogDebug', logged],
    ['Plugin.LogInfo', logged],
    ['Plugin.LogWarn', logged],
    ['Plugin.LogError', logged],
  ]);
}

async function request(method: string, url: string, body?: Buffer) {
  let status = 0;
  let headers = new Map<string, string[]>();
  const chunks: Buffer[] = [];
  await callServeHTTP(
    hooks,
    host.broker,
    {method, url, headers: {'Mattermost-User-Id': ['user1']}, body: body ? Readable.from([body]) : Readable.from([])},
    {
      writeHead: (s, h) => {
        status = s;
        headers = h;
      },
      write: (c) => void chunks.push(Buffer.from(c)),
    },
  );
  return {status, headers, body: Buffer.concat(chunks)};
}

before(async () => {
  host = await PluginHost.launch({
    executable: process.execPath,
    args: ['--import', 'tsx', path.join(root, 'server/src/main.ts')],
    cwd: root,
    env: {MM_METRICS_CONFORMANCE: '1'},
    startTimeoutMs: 10_000,
    onStrayStdout: (l) => stray.push(l),
  });
  hooks = await host.dispense('hooks');
  const implemented = (await hooks.call('Plugin.Implemented', {type: Empty, value: {}})) as string[];
  assert.ok(implemented.includes('OnActivate') && implemented.includes('ServeHTTP'));
  const apiId = host.broker.nextId();
  const driverId = host.broker.nextId();
  void host.broker.accept(apiId).then((s) => new RpcServer(s, fakeApi()));
  void host.broker.accept(driverId).then((s) => new RpcServer(s, new Map()));
  const activated = (await hooks.call('Plugin.OnActivate', {type: ActivateArgs, value: {APIMuxId: apiId, DriverMuxId: driverId}})) as {A?: unknown};
  assert.equal(activated.A, undefined, 'OnActivate returned no error');
});

after(async () => {
  if (host) await host.kill();
});

void test('activation logs through the API', async () => {
  for (let i = 0; i < 50 && !logs.includes('metrics plugin activated'); i++) await new Promise((r) => setTimeout(r, 20));
  assert.ok(logs.includes('metrics plugin activated'), logs.join(','));
});

void test('ServeHTTP: small response with headers', async () => {
  const r = await request('GET', '/conformance/hello');
  assert.equal(r.status, 200);
  assert.equal(r.body.toString(), 'hello user1');
  assert.deepEqual(r.headers.get('Content-Type'), ['text/plain; charset=utf-8']);
});

void test('ServeHTTP: 5 MiB upload through the remote reader', async () => {
  const body = randomBytes(5 * 1024 * 1024);
  const r = await request('POST', '/conformance/echo', body);
  assert.equal(r.status, 200);
  assert.deepEqual(JSON.parse(r.body.toString()), {bytes: body.length, sha256: createHash('sha256').update(body).digest('hex')});
});

void test('ServeHTTP: 50 MiB streamed download', async () => {
  const n = 50 * 1024 * 1024;
  const r = await request('GET', `/conformance/download?bytes=${n}`);
  assert.equal(r.status, 200);
  assert.equal(r.body.length, n);
  for (let i = 0; i < n; i += 1_000_003) assert.equal(r.body[i], i % 251);
});

void test('ServeHTTP: unknown route is a JSON 404', async () => {
  const r = await request('GET', '/nope');
  assert.equal(r.status, 404);
  assert.deepEqual(r.headers.get('Content-Type'), ['application/json']);
  assert.deepEqual(JSON.parse(r.body.toString()), {error: 'not found: /nope'});
});

void test('Control.Ping answers while the plugin does heavy work', async () => {
  const busy = request('POST', '/conformance/busy?seconds=2');
  let worst = 0;
  for (let i = 0; i < 8; i++) {
    const t = performance.now();
    await host.ping();
    worst = Math.max(worst, performance.now() - t);
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.equal((await busy).status, 200);
  assert.ok(worst < 500, `worst ping ${worst.toFixed(1)} ms`);
});

void test('Control.Quit: exits by itself within 2 s, nothing stray on stdout', async () => {
  const t = performance.now();
  assert.ok(await host.kill(), 'exited without SIGKILL');
  assert.ok(performance.now() - t < 2_000);
  assert.deepEqual(stray, []);
});
