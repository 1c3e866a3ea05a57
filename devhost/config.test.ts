import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {after, test} from 'node:test';

import {Decoder, Encoder, GoInterface} from '../server/src/bridge/gob/index.ts';
import {toPlain} from '../server/src/bridge/mattermost/values.ts';
import {ConfigStore, ConfigType, fakeSetting, gobConfig, loadManifest, sanitize, type Manifest} from './config.ts';
import {repoRoot} from './devhost.ts';

const manifest: Manifest = {
  id: 'com.example.test',
  settings_schema: {
    settings: [
      {key: 'Stats', type: 'custom'},
      {key: 'ScrapeIntervalSeconds', type: 'number', default: 60},
      {key: 'EnableThing', type: 'bool', default: true},
      {key: 'ApiToken', type: 'text', default: '', secret: true},
    ],
  },
};

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await fs.rm(d, {recursive: true, force: true});
});

async function tmpDir(): Promise<string> {
  const d = await fs.mkdtemp(path.join(os.tmpdir(), 'devhost-config-'));
  dirs.push(d);
  return d;
}

async function open(dir?: string): Promise<{store: ConfigStore; dir: string; file: string}> {
  dir ??= await tmpDir();
  const file = path.join(dir, 'config.json');
  return {store: await ConfigStore.open({file, dir, port: 8065, metricsPort: 8067, manifest}), dir, file};
}

/** Encodes like the API does and decodes like the plugin does. */
function roundTrip(value: unknown): Record<string, Record<string, unknown>> {
  const dec = new Decoder();
  dec.push(new Encoder().encode(ConfigType, value));
  return toPlain(dec.next()!.value) as Record<string, Record<string, unknown>>;
}

void test('config.json is created with Mattermost-like defaults', async () => {
  const {store, dir, file} = await open();
  const saved = JSON.parse(await fs.readFile(file, 'utf8')) as Record<string, Record<string, unknown>>;
  assert.equal(saved.ServiceSettings.SiteURL, 'http://localhost:8065');
  assert.equal(saved.SqlSettings.DriverName, 'postgres');
  assert.deepEqual(saved.FileSettings.DriverName, 'local');
  assert.equal(saved.FileSettings.Directory, path.join(dir, 'filestore'));
  assert.deepEqual([saved.MetricsSettings.Enable, saved.MetricsSettings.ListenAddress], [true, ':8067']);
  assert.deepEqual([saved.ClusterSettings.Enable, saved.ClusterSettings.ClusterName], [false, 'devhost']);
  assert.deepEqual((saved.PluginSettings.Plugins as Record<string, unknown>)[manifest.id], {scrapeintervalseconds: 60, enablething: true, apitoken: ''});
  await fs.access(path.join(dir, 'filestore'));
  assert.equal(store.get().SqlSettings.DataSource, saved.SqlSettings.DataSource);
});

void test('an existing config.json wins field by field; missing sections get defaults', async () => {
  const dir = await tmpDir();
  await fs.writeFile(path.join(dir, 'config.json'), JSON.stringify({SqlSettings: {DataSource: 'postgres://me:pw@db/mm'}, ClusterSettings: {Enable: true}}));
  const {store} = await open(dir);
  const c = store.get();
  assert.equal(c.SqlSettings.DataSource, 'postgres://me:pw@db/mm');
  assert.equal(c.SqlSettings.DriverName, 'postgres');
  assert.equal(c.ClusterSettings.Enable, true);
  assert.equal(c.ClusterSettings.ClusterName, 'devhost');
  assert.equal(c.MetricsSettings.Enable, true);
});

void test('runtime overrides replace the site URL and listen addresses', async () => {
  const {store} = await open();
  store.setOverrides({siteURL: 'http://localhost:1234', listenAddress: ':1234', metricsListenAddress: ':5678'});
  const c = store.get();
  assert.deepEqual([c.ServiceSettings.SiteURL, c.ServiceSettings.ListenAddress, c.MetricsSettings.ListenAddress], ['http://localhost:1234', ':1234', ':5678']);
});

void test('sanitize replaces secrets with 32 asterisks', async () => {
  const {store} = await open();
  await store.savePluginSettings({ScrapeIntervalSeconds: 30, apitoken: 'secret-token'});
  const raw = store.get();
  raw.FileSettings.AmazonS3SecretAccessKey = 's3secret';
  raw.SqlSettings.DataSourceReplicas = ['postgres://replica'];
  const s = sanitize(raw, manifest);
  assert.equal(fakeSetting, '*'.repeat(32));
  assert.equal(s.SqlSettings.DataSource, fakeSetting);
  assert.equal(s.SqlSettings.AtRestEncryptKey, fakeSetting);
  assert.deepEqual(s.SqlSettings.DataSourceReplicas, [fakeSetting]);
  assert.equal(s.FileSettings.AmazonS3SecretAccessKey, fakeSetting);
  assert.equal(s.FileSettings.PublicLinkSalt, fakeSetting);
  assert.equal(s.FileSettings.ExportAmazonS3SecretAccessKey, undefined, 'an unset secret stays unset');
  assert.equal((s.PluginSettings.Plugins as Record<string, Record<string, unknown>>)[manifest.id].apitoken, fakeSetting);
  assert.match(String(raw.SqlSettings.DataSource), /^postgres:\/\//, 'the input is not modified');
  assert.equal(store.sanitized().SqlSettings.DataSource, fakeSetting);
});

void test('LoadPluginConfiguration: schema defaults (null without one) overlaid with saved values, keys lower-cased', async () => {
  const {store, file} = await open();
  assert.deepEqual(JSON.parse(store.loadPluginConfiguration().toString()), {stats: null, scrapeintervalseconds: 60, enablething: true, apitoken: ''});
  await store.savePluginSettings({ScrapeIntervalSeconds: 15, Extra: 'x'});
  assert.deepEqual(JSON.parse(store.loadPluginConfiguration().toString()), {stats: null, scrapeintervalseconds: 15, enablething: true, apitoken: '', extra: 'x'});
  assert.deepEqual(store.pluginSettings(), {ScrapeIntervalSeconds: 15, Extra: 'x'}, 'GetPluginConfig is the raw saved map');
  const saved = JSON.parse(await fs.readFile(file, 'utf8')) as {PluginSettings: {Plugins: Record<string, unknown>}};
  assert.deepEqual(saved.PluginSettings.Plugins[manifest.id], {ScrapeIntervalSeconds: 15, Extra: 'x'});
});

void test('gob: the config crosses the wire with Mattermost names and types', async () => {
  const {store} = await open();
  await store.savePluginSettings({scrapeintervalseconds: 60, nested: {a: [1, 'two', true]}});
  const value = gobConfig(store.get());
  const enc = new Encoder();
  const bytes = enc.encode(ConfigType, value);
  const dec = new Decoder();
  dec.push(bytes);
  const decoded = dec.next()!;
  const names = [...dec.types.values()].map((t) => t.name);
  for (const n of ['Config', 'ServiceSettings', 'SqlSettings', 'FileSettings', 'ClusterSettings', 'MetricsSettings', 'PluginSettings']) {
    assert.ok(names.includes(n), `type ${n} defined`);
  }
  const c = toPlain(decoded.value) as Record<string, Record<string, unknown>>;
  assert.equal(c.MetricsSettings.Enable, true);
  assert.equal(c.MetricsSettings.ListenAddress, ':8067');
  assert.equal(c.MetricsSettings.BlockProfileRate, undefined, 'zero pointer scalars are omitted');
  assert.equal(c.ClusterSettings.Enable, undefined, 'false is omitted');
  assert.equal(c.FileSettings.AmazonS3SSL, true);
  assert.equal(c.FileSettings.AmazonS3RequestTimeoutMilliseconds, 30000);
  assert.deepEqual((c.PluginSettings.Plugins as Record<string, unknown>)[manifest.id], {scrapeintervalseconds: 60, nested: {a: [1, 'two', true]}});
  assert.deepEqual(c.PluginSettings.PluginStates, {[manifest.id]: {Enable: true}});
  // Plugin settings values travel as interfaces: numbers as float64, like encoding/json made them.
  const rawPlugins = (decoded.value as {PluginSettings: {Plugins: Map<string, Map<string, GoInterface>>}}).PluginSettings.Plugins;
  assert.equal(rawPlugins.get(manifest.id)!.get('scrapeintervalseconds')!.name, 'float64');
});

void test('gob: values of the wrong JSON type are left out instead of failing the encode', () => {
  const c = roundTrip(gobConfig({ServiceSettings: {SiteURL: 42, ListenAddress: ':1'}, SqlSettings: {MaxOpenConns: 1.5, QueryTimeout: 30, DataSourceReplicas: ['a', 3]}}));
  assert.equal(c.ServiceSettings.SiteURL, undefined);
  assert.equal(c.ServiceSettings.ListenAddress, ':1');
  assert.equal(c.SqlSettings.MaxOpenConns, undefined);
  assert.equal(c.SqlSettings.QueryTimeout, 30);
  assert.deepEqual(c.SqlSettings.DataSourceReplicas, ['a']);
});

void test("the repository's plugin.json loads and its defaults become the initial settings", async () => {
  const m = await loadManifest(repoRoot);
  assert.equal(m.id, 'com.mattermost.mattermost-plugin-metrics');
  const dir = await tmpDir();
  const store = await ConfigStore.open({file: path.join(dir, 'config.json'), dir, port: 1, metricsPort: 2, manifest: m});
  const loaded = JSON.parse(store.loadPluginConfiguration().toString()) as Record<string, unknown>;
  assert.equal(loaded.scrapeintervalseconds, 60);
  assert.equal(loaded.dumps, null);
});
