// SaveConfig must send back a whole model.Config with the server's own schema.
// A server-side Config with the awkward parts of the real one (pointer scalars,
// a map of interface maps, slices of struct pointers, raw JSON bytes, a URL-like
// opaque value, an optional pointer section) goes out, is edited, and comes back.
import assert from 'node:assert/strict';
import {test} from 'node:test';

import {GoInterface, iface, map, opaque, slice, struct} from '../gob/index.ts';
import {RpcClient, RpcServer, type RpcHandler} from '../netrpc/index.ts';
import {socketPair} from '../testing/socket-pair.ts';
import {PluginAPI} from './api.ts';
import {toPlain} from './values.ts';

const IfaceMap = map('string', 'interface', 'map[string]interface {}');
const Config = struct('Config', [
  ['ServiceSettings', struct('ServiceSettings', [['SiteURL', 'string'], ['ListenAddress', 'string'], ['EnableDeveloper', 'bool']])],
  ['SqlSettings', struct('SqlSettings', [['DriverName', 'string'], ['DataSource', 'string'], ['DataSourceReplicas', slice('string')], ['QueryTimeout', 'int']])],
  ['LogSettings', struct('LogSettings', [['AdvancedLoggingJSON', 'bytes'], ['FileLevel', 'string']])],
  ['MetricsSettings', struct('MetricsSettings', [['Enable', 'bool'], ['ListenAddress', 'string'], ['BlockProfileRate', 'int']])],
  ['PluginSettings', struct('PluginSettings', [['Enable', 'bool'], ['Plugins', map('string', IfaceMap)], ['PluginStates', map('string', struct('PluginState', [['Enable', 'bool']]))], ['SignaturePublicKeyFiles', slice('string')]])],
  ['ReplicaLagSettings', slice(struct('ReplicaLagSettings', [['DataSource', 'string'], ['QueryAbsoluteLag', 'string']]))],
  ['ImageProxySettings', struct('ImageProxySettings', [['RemoteImageProxyURL', opaque('binaryMarshaler', '')]])],
  ['FeatureFlags', struct('FeatureFlags', [['TestFeature', 'string'], ['AppsEnabled', 'bool']])],
]);
const GetConfigReturns = struct('Z_GetUnsanitizedConfigReturns', [['A', Config]]);
const SaveConfigReturns = struct('Z_SaveConfigReturns', [['A', struct('AppError', [['Id', 'string'], ['Message', 'string']])]]);

const serverConfig = {
  ServiceSettings: {SiteURL: 'https://mm.example.com', ListenAddress: ':8065'},
  SqlSettings: {DriverName: 'postgres', DataSource: 'postgres://u:p@db/mm', DataSourceReplicas: ['postgres://r1'], QueryTimeout: 30},
  LogSettings: {AdvancedLoggingJSON: Buffer.from('{"x":1}'), FileLevel: 'INFO'},
  MetricsSettings: {ListenAddress: ':8067', BlockProfileRate: 0},
  PluginSettings: {
    Enable: true,
    Plugins: new Map([
      ['com.mattermost.mattermost-plugin-metrics', new Map([['dbpath', iface.string('data')], ['scrapeintervalseconds', iface.float64(60)], ['nested', new GoInterface('[]interface {}', [iface.bool(true), null], slice('interface', '[]interface {}'))]])],
      ['other', new Map()],
    ]),
    PluginStates: new Map([['com.mattermost.mattermost-plugin-metrics', {Enable: true}], ['off', {}]]),
  },
  ReplicaLagSettings: [{DataSource: 'r1', QueryAbsoluteLag: 'q'}],
  ImageProxySettings: {RemoteImageProxyURL: Buffer.from('https://proxy.example.com/x')},
  FeatureFlags: {TestFeature: 'off'},
};

void test('updateConfig re-encodes the whole Config with the schema the server sent', async () => {
  const [client, other, done] = await socketPair();
  let saved: unknown;
  const handlers = new Map<string, RpcHandler>([
    ['Plugin.GetUnsanitizedConfig', () => ({type: GetConfigReturns, value: {A: serverConfig}})],
    [
      'Plugin.SaveConfig',
      (args) => {
        saved = (args as {A: unknown}).A;
        return {type: SaveConfigReturns, value: {}};
      },
    ],
  ]);
  try {
    new RpcServer(other, handlers);
    const api = new PluginAPI(new RpcClient(client));
    const result = await api.updateConfig((cfg) => {
      (cfg.MetricsSettings as Record<string, unknown>).Enable = true;
    });
    assert.equal(result.MetricsSettings?.Enable, true);
    // What the server decoded equals what it sent, plus the one change.
    const expected = toPlain({...serverConfig, MetricsSettings: {...serverConfig.MetricsSettings, Enable: true}}) as Record<string, unknown>;
    const got = toPlain(saved) as Record<string, unknown>;
    assert.deepEqual(got.MetricsSettings, {ListenAddress: ':8067', Enable: true});
    assert.deepEqual(got.PluginSettings, expected.PluginSettings);
    assert.deepEqual(got.SqlSettings, expected.SqlSettings);
    assert.deepEqual(got.ReplicaLagSettings, expected.ReplicaLagSettings);
    assert.equal(String(got.ImageProxySettings && (got.ImageProxySettings as {RemoteImageProxyURL: string}).RemoteImageProxyURL), 'https://proxy.example.com/x');
    assert.deepEqual((got.LogSettings as {AdvancedLoggingJSON: Buffer}).AdvancedLoggingJSON, Buffer.from('{"x":1}'));
    // A second update on the same stream reuses the definitions already sent.
    await api.updateConfig((cfg) => {
      (cfg.FeatureFlags as Record<string, unknown>).AppsEnabled = true;
    });
    assert.equal((toPlain(saved) as {FeatureFlags: {AppsEnabled: boolean}}).FeatureFlags.AppsEnabled, true);
  } finally {
    done();
  }
});
