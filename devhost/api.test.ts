// The fake API through the real wire: the bridge's PluginAPI client (what the
// plugin uses) ↔ net/rpc + gob ↔ FakeApi handlers, over an in-memory stream pair.
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {Duplex, PassThrough} from 'node:stream';
import {after, test} from 'node:test';

import {PluginAPI, RpcServerError} from '../server/src/bridge/mattermost/index.ts';
import {MattermostAppError} from '../server/src/bridge/mattermost/errors.ts';
import {RpcClient, RpcServer} from '../server/src/bridge/netrpc/index.ts';
import {FakeApi, serverVersion} from './api.ts';
import {ConfigStore, fakeSetting, type Manifest} from './config.ts';
import {KVStore} from './kvstore.ts';
import {DevLogger, type LogEntry} from './log.ts';
import {DevState, users} from './state.ts';

const manifest: Manifest = {
  id: 'com.mattermost.mattermost-plugin-metrics',
  settings_schema: {settings: [{key: 'ScrapeIntervalSeconds', type: 'number', default: 60}, {key: 'Dumps', type: 'custom'}]},
};

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await fs.rm(d, {recursive: true, force: true});
});

async function tmpDir(prefix: string): Promise<string> {
  const d = await fs.mkdtemp(path.join(os.tmpdir(), prefix));
  dirs.push(d);
  return d;
}

function duplexPair(): [Duplex, Duplex] {
  const aToB = new PassThrough();
  const bToA = new PassThrough();
  return [Duplex.from({readable: bToA, writable: aToB}), Duplex.from({readable: aToB, writable: bToA})];
}

async function setup(license: 'enterprise' | 'none' = 'enterprise') {
  const dir = await tmpDir('devhost-api-');
  const lines: LogEntry[] = [];
  const logger = new DevLogger({write: (_l, e) => void lines.push(e)});
  const config = await ConfigStore.open({file: path.join(dir, 'config.json'), dir, port: 8065, metricsPort: 8067, manifest});
  const kv = await KVStore.open({file: path.join(dir, 'kv.json')});
  const state = await DevState.open(path.join(dir, 'state.json'), license);
  let saved = 0;
  const fake = new FakeApi({pluginId: manifest.id, bundlePath: '/bundle', config, kv, state, logger, onConfigSaved: () => saved++});
  const [hostSide, pluginSide] = duplexPair();
  new RpcServer(hostSide, fake.handlers());
  const api = new PluginAPI(new RpcClient(pluginSide));
  return {api, fake, kv, config, state, dir, lines, saved: () => saved};
}

void test('server information', async () => {
  const {api, state} = await setup();
  assert.equal(await api.getServerVersion(), serverVersion);
  assert.equal(await api.isEnterpriseReady(), true);
  const diag = await api.getDiagnosticId();
  assert.match(diag, /^[a-z0-9]{26}$/);
  assert.equal(await api.getTelemetryId(), diag);
  assert.equal(await api.getSystemInstallDate(), state.installDate);
  assert.equal(await api.getBundlePath(), '/bundle');
});

void test('the diagnostic id and install date are stable across restarts', async () => {
  const dir = await tmpDir('devhost-state-');
  const a = await DevState.open(path.join(dir, 'state.json'), 'enterprise');
  const b = await DevState.open(path.join(dir, 'state.json'), 'none');
  assert.equal(a.diagnosticId, b.diagnosticId);
  assert.equal(a.installDate, b.installDate);
});

void test('licence: enterprise with Metrics and Cluster, or none (nil)', async () => {
  const {api, state} = await setup();
  const lic = await api.getLicense();
  assert.equal(lic?.SkuShortName, 'enterprise');
  assert.equal(lic?.Features?.Metrics, true);
  assert.equal(lic?.Features?.Cluster, true);
  assert.ok(lic?.Id);
  state.license = 'none';
  assert.equal(await api.getLicense(), undefined);
  const {api: api2} = await setup('none');
  assert.equal(await api2.getLicense(), undefined);
});

void test('GetConfig is sanitized, GetUnsanitizedConfig is not', async () => {
  const {api} = await setup();
  const cfg = await api.getConfig();
  const ucfg = await api.getUnsanitizedConfig();
  assert.equal(cfg.SqlSettings?.DataSource, fakeSetting);
  assert.match(ucfg.SqlSettings?.DataSource ?? '', /^postgres:\/\//);
  assert.equal(ucfg.SqlSettings?.DriverName, 'postgres');
  assert.equal(ucfg.FileSettings?.DriverName, 'local');
  assert.equal(ucfg.MetricsSettings?.Enable, true);
  assert.equal(ucfg.MetricsSettings?.ListenAddress, ':8067');
  assert.equal(ucfg.ClusterSettings?.ClusterName, 'devhost');
  assert.equal(ucfg.ClusterSettings?.Enable ?? false, false);
  assert.equal(ucfg.PluginSettings?.Plugins?.[manifest.id]?.scrapeintervalseconds, 60);
});

void test('plugin configuration: load, get, save (persisted, OnConfigurationChange requested)', async () => {
  const {api, dir, saved} = await setup();
  assert.deepEqual(await api.loadPluginConfiguration(), {scrapeintervalseconds: 60, dumps: null});
  await api.savePluginConfig({ScrapeIntervalSeconds: 30, list: [1, 'a'], obj: {b: true}});
  assert.equal(saved(), 1);
  assert.deepEqual(await api.getPluginConfig(), {ScrapeIntervalSeconds: 30, list: [1, 'a'], obj: {b: true}});
  assert.deepEqual(await api.loadPluginConfiguration(), {scrapeintervalseconds: 30, dumps: null, list: [1, 'a'], obj: {b: true}});
  const file = JSON.parse(await fs.readFile(path.join(dir, 'config.json'), 'utf8')) as {PluginSettings: {Plugins: Record<string, unknown>}};
  assert.deepEqual(file.PluginSettings.Plugins[manifest.id], {ScrapeIntervalSeconds: 30, list: [1, 'a'], obj: {b: true}});
});

void test('KV through the API: the conformance script under Mattermost semantics', async () => {
  const {api, kv} = await setup();
  await api.kvDeleteAll();
  await api.kvSet('k1', Buffer.from('v1'));
  assert.equal((await api.kvGet('k1'))?.toString(), 'v1');
  await api.kvSetWithExpiry('k2', Buffer.from('v2'), 60);
  assert.equal(await api.kvCompareAndSet('k1', Buffer.from('v1'), Buffer.from('v1b')), true);
  assert.equal(await api.kvCompareAndSet('k1', Buffer.from('wrong'), Buffer.from('x')), false);
  const lock = {atomic: true, oldValue: null, expireInSeconds: 15};
  assert.equal(await api.kvSetWithOptions('mutex_x', Buffer.from([1]), lock), true);
  assert.equal(await api.kvSetWithOptions('mutex_x', Buffer.from([1]), lock), false);
  assert.equal(await api.kvCompareAndDelete('k1', Buffer.from('v1b')), true);
  assert.equal(await api.kvGet('k1'), undefined);
  assert.deepEqual(await api.kvList(0, 100), ['k2', 'mutex_x']);
  await api.kvSet('k2', Buffer.alloc(0));
  assert.equal(await api.kvGet('k2'), undefined, 'an empty value deletes');
  await api.kvDelete('mutex_x');
  assert.deepEqual(await api.kvList(0, 100), []);
  assert.deepEqual([...kv.snapshot().keys()], []);
});

void test('KV errors come back as *model.AppError', async () => {
  const {api} = await setup();
  await assert.rejects(api.kvSet('', Buffer.from('x')), (err: unknown) => err instanceof MattermostAppError && err.id === 'model.plugin_key_value.is_valid.key.app_error' && err.statusCode === 400);
  // OldValue without Atomic is invalid (PluginKVSetOptions.IsValid).
  await assert.rejects(api.kvSetWithOptions('k', Buffer.from('v'), {atomic: false, oldValue: Buffer.from('x')}), MattermostAppError);
});

void test('concurrent atomic sets over the wire: exactly one winner', async () => {
  const {api} = await setup();
  const results = await Promise.all(Array.from({length: 30}, () => api.kvSetWithOptions('mutex_race', Buffer.from([1]), {atomic: true, oldValue: null, expireInSeconds: 15})));
  assert.equal(results.filter(Boolean).length, 1);
});

void test('log calls are printed with their fields; events are kept', async () => {
  const {api, fake, lines} = await setup();
  await api.logInfo('hello there', {k: 'v', n: 3, obj: {a: 1}});
  await api.logError('bad', {error: 'boom'});
  const info = lines.find((e) => e.message === 'hello there')!;
  assert.deepEqual([info.source, info.level, info.channel, info.fields], ['plugin', 'info', 'api', {k: 'v', n: '3', obj: '{"a":1}'}]);
  assert.equal(lines.find((e) => e.message === 'bad')?.level, 'error');
  await api.publishWebSocketEvent('stats', {a: 'b'}, {userId: users.admin.id});
  assert.deepEqual(fake.webSocketEvents.at(-1)?.event, `custom_${manifest.id}_stats`);
  assert.deepEqual(fake.webSocketEvents.at(-1)?.data, {a: 'b'});
  assert.equal(fake.webSocketEvents.at(-1)?.broadcast.UserId, users.admin.id);
  for (let i = 0; i < 120; i++) await api.publishWebSocketEvent('flood', {i}, {});
  assert.equal(fake.webSocketEvents.length, 100, 'only the last 100 are kept');
  await api.publishPluginClusterEvent({id: 'sync', data: Buffer.from('x')}, {sendType: 'reliable'});
  assert.deepEqual([fake.clusterEvents.at(-1)?.id, fake.clusterEvents.at(-1)?.data.toString()], ['sync', 'x']);
});

void test('HasPermissionTo: the admin has every permission, the member none', async () => {
  const {api} = await setup();
  assert.equal(await api.hasPermissionTo(users.admin.id, 'manage_system'), true);
  assert.equal(await api.hasPermissionTo(users.admin.id, 'anything_else'), true);
  assert.equal(await api.hasPermissionTo(users.member.id, 'manage_system'), false);
  assert.equal(await api.hasPermissionTo('', 'manage_system'), false);
});

void test("unknown methods answer net/rpc's can't find method", async () => {
  const {api} = await setup();
  await assert.rejects(api.call('GetPluginID', {kind: 'struct', name: '', fields: []}, {}), (err: unknown) => {
    return err instanceof RpcServerError && err.isMissingMethod && err.message === "rpc: can't find method Plugin.GetPluginID";
  });
});
