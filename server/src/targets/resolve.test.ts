import assert from 'node:assert/strict';
import {test} from 'node:test';
import type {MattermostConfig} from '../bridge/mattermost/config.ts';
import {type Target, TargetConfigError, type TargetSettings, type Topology, getCI, parseRtcdServiceUrl, resolveTargets, splitHostPort} from './resolve.ts';

const NE_ON: TargetSettings = {enableNodeExporterTargets: true, nodeExporterPort: 9100};
const NE_OFF: TargetSettings = {enableNodeExporterTargets: false, nodeExporterPort: 9100};

function cfg(opts: {ha?: boolean; listen?: string; calls?: boolean; rtcd?: string; override?: string} = {}): MattermostConfig {
  const c: MattermostConfig = {
    MetricsSettings: {Enable: true, ...(opts.listen !== undefined ? {ListenAddress: opts.listen} : {})},
    ClusterSettings: {Enable: opts.ha ?? false, ClusterName: 'prod', ...(opts.override ? {OverrideHostname: opts.override} : {})},
    PluginSettings: {
      Plugins: opts.rtcd !== undefined ? {'com.mattermost.calls': {rtcdserviceurl: opts.rtcd}} : {},
      PluginStates: opts.calls ? {'com.mattermost.calls': {Enable: true}, 'com.mattermost.mattermost-plugin-metrics': {Enable: true}} : {},
    } as NonNullable<MattermostConfig['PluginSettings']>,
  };
  return c;
}

/** job instance url, one per line, for readable table tests. */
function show(targets: Target[]): string[] {
  for (const t of targets) assert.deepEqual(t.labels, {job: t.job, instance: t.instance});
  return targets.map((t) => `${t.job} ${t.instance} ${t.url}`);
}

const nodes = [
  {id: 'aaa', hostname: '10.0.0.1'},
  {id: 'bbb', hostname: 'app-2.internal'},
];

const cases: Array<{name: string; config: MattermostConfig; settings: TargetSettings; topology: Topology; want: string[]}> = [
  {
    name: 'single node, default :8067: scraped on loopback, labelled with the hostname',
    config: cfg(),
    settings: NE_OFF,
    topology: {selfHostname: 'mm-host'},
    want: ['prometheus mm-host:8067 http://127.0.0.1:8067/metrics'],
  },
  {
    name: 'single node with a specific listen address and node exporter',
    config: cfg({listen: '10.1.2.3:9999'}),
    settings: NE_ON,
    topology: {selfHostname: 'mm-host'},
    want: ['node mm-host:9100 http://10.1.2.3:9100/metrics', 'prometheus mm-host:9999 http://10.1.2.3:9999/metrics'],
  },
  {
    name: 'single node, localhost / [::] listen hosts map to 127.0.0.1',
    config: cfg({listen: '[::]:8067'}),
    settings: NE_OFF,
    topology: {selfHostname: 'h'},
    want: ['prometheus h:8067 http://127.0.0.1:8067/metrics'],
  },
  {
    name: 'single node, IPv6 listen address',
    config: cfg({listen: '[fd00::5]:8067'}),
    settings: NE_OFF,
    topology: {selfHostname: 'h'},
    want: ['prometheus h:8067 http://[fd00::5]:8067/metrics'],
  },
  {
    name: 'single node ignores discovered nodes (ClusterSettings.Enable false)',
    config: cfg(),
    settings: NE_OFF,
    topology: {selfHostname: 'h', nodes},
    want: ['prometheus h:8067 http://127.0.0.1:8067/metrics'],
  },
  {
    name: 'HA: every discovered node by its ClusterDiscovery hostname',
    config: cfg({ha: true}),
    settings: NE_OFF,
    topology: {selfHostname: 'ignored', nodes},
    want: ['prometheus 10.0.0.1:8067 http://10.0.0.1:8067/metrics', 'prometheus app-2.internal:8067 http://app-2.internal:8067/metrics'],
  },
  {
    name: 'HA with a single live node uses its discovered hostname',
    config: cfg({ha: true}),
    settings: NE_OFF,
    topology: {selfHostname: 'self', nodes: [nodes[1]]},
    want: ['prometheus app-2.internal:8067 http://app-2.internal:8067/metrics'],
  },
  {
    name: 'HA without discovered nodes falls back to this node',
    config: cfg({ha: true, override: 'override-name'}),
    settings: NE_OFF,
    topology: {selfHostname: 'override-name', nodes: []},
    want: ['prometheus override-name:8067 http://127.0.0.1:8067/metrics'],
  },
  {
    name: 'HA + node exporter (some hosts filtered out by the probe)',
    config: cfg({ha: true}),
    settings: NE_ON,
    topology: {selfHostname: 's', nodes, nodeExporterFilter: (h, p) => h === '10.0.0.1' && p === 9100},
    want: [
      'node 10.0.0.1:9100 http://10.0.0.1:9100/metrics',
      'prometheus 10.0.0.1:8067 http://10.0.0.1:8067/metrics',
      'prometheus app-2.internal:8067 http://app-2.internal:8067/metrics',
    ],
  },
  {
    name: 'Calls enabled in PluginStates: plugin endpoint on each app node (job calls)',
    config: cfg({ha: true, calls: true}),
    settings: NE_OFF,
    topology: {selfHostname: 's', nodes},
    want: [
      'calls 10.0.0.1:8067 http://10.0.0.1:8067/plugins/com.mattermost.calls/metrics',
      'calls app-2.internal:8067 http://app-2.internal:8067/plugins/com.mattermost.calls/metrics',
      'prometheus 10.0.0.1:8067 http://10.0.0.1:8067/metrics',
      'prometheus app-2.internal:8067 http://app-2.internal:8067/metrics',
    ],
  },
  {
    name: 'Calls disabled: no calls or rtcd targets even with rtcdserviceurl set',
    config: cfg({rtcd: 'http://rtcd:8045'}),
    settings: NE_OFF,
    topology: {selfHostname: 'h'},
    want: ['prometheus h:8067 http://127.0.0.1:8067/metrics'],
  },
  {
    name: 'callsRunning (GetPluginStatus) overrides PluginStates',
    config: cfg({calls: true}),
    settings: NE_OFF,
    topology: {selfHostname: 'h', callsRunning: false},
    want: ['prometheus h:8067 http://127.0.0.1:8067/metrics'],
  },
  {
    name: 'single node + Calls + rtcd (resolved addresses, credentials stripped) + node exporter',
    config: cfg({calls: true, rtcd: 'http://clientid:SecretKey@rtcd.internal:8045'}),
    settings: NE_ON,
    topology: {selfHostname: 'h', rtcdAddresses: ['10.9.0.1', '10.9.0.2']},
    want: [
      'calls 10.9.0.1:8045 http://10.9.0.1:8045/metrics',
      'calls 10.9.0.2:8045 http://10.9.0.2:8045/metrics',
      'calls h:8067 http://127.0.0.1:8067/plugins/com.mattermost.calls/metrics',
      'node 10.9.0.1:9100 http://10.9.0.1:9100/metrics',
      'node 10.9.0.2:9100 http://10.9.0.2:9100/metrics',
      'node h:9100 http://127.0.0.1:9100/metrics',
      'prometheus h:8067 http://127.0.0.1:8067/metrics',
    ],
  },
  {
    name: 'rtcd unresolved: the URL host itself; https and default port',
    config: cfg({calls: true, rtcd: 'https://rtcd.example.com'}),
    settings: NE_OFF,
    topology: {selfHostname: 'h'},
    want: ['calls h:8067 http://127.0.0.1:8067/plugins/com.mattermost.calls/metrics', 'calls rtcd.example.com:443 https://rtcd.example.com:443/metrics', 'prometheus h:8067 http://127.0.0.1:8067/metrics'],
  },
  {
    name: 'bad rtcdserviceurl only drops rtcd',
    config: cfg({calls: true, rtcd: 'not a url'}),
    settings: NE_OFF,
    topology: {selfHostname: 'h'},
    want: ['calls h:8067 http://127.0.0.1:8067/plugins/com.mattermost.calls/metrics', 'prometheus h:8067 http://127.0.0.1:8067/metrics'],
  },
  {
    name: 'rtcd on an app node address is not duplicated for node exporter',
    config: cfg({ha: true, calls: true, rtcd: 'http://10.0.0.1:8045'}),
    settings: NE_ON,
    topology: {selfHostname: 's', nodes: [nodes[0]]},
    want: [
      'calls 10.0.0.1:8045 http://10.0.0.1:8045/metrics',
      'calls 10.0.0.1:8067 http://10.0.0.1:8067/plugins/com.mattermost.calls/metrics',
      'node 10.0.0.1:9100 http://10.0.0.1:9100/metrics',
      'prometheus 10.0.0.1:8067 http://10.0.0.1:8067/metrics',
    ],
  },
];

for (const c of cases) {
  test(`resolveTargets: ${c.name}`, () => {
    assert.deepEqual(show(resolveTargets(c.config, c.settings, c.topology)), c.want);
  });
}

test('resolveTargets: plugin keys and PluginStates match case-insensitively, Maps accepted', () => {
  const c = cfg();
  (c.PluginSettings as Record<string, unknown>).PluginStates = new Map([['com.mattermost.calls', {enable: true}]]);
  (c.PluginSettings as Record<string, unknown>).Plugins = {'com.mattermost.calls': {RTCDServiceURL: 'http://1.2.3.4:8045'}};
  const got = show(resolveTargets(c, NE_OFF, {selfHostname: 'h'}));
  assert.ok(got.includes('calls 1.2.3.4:8045 http://1.2.3.4:8045/metrics'), got.join('\n'));
  assert.equal(getCI({Abc: 1}, 'abc'), 1);
  assert.equal(getCI(new Map([['abc', 2]]), 'ABC'), 2);
});

test('resolveTargets: bad ListenAddress is a TargetConfigError', () => {
  for (const listen of ['8067', 'host', 'a:b:c', ':99999', '[::1]8067']) {
    assert.throws(() => resolveTargets(cfg({listen}), NE_OFF, {selfHostname: 'h'}), TargetConfigError, listen);
  }
  assert.deepEqual(splitHostPort(':8067'), {host: '', port: 8067});
  assert.deepEqual(splitHostPort('[::1]:8067'), {host: '::1', port: 8067});
});

test('parseRtcdServiceUrl drops credentials and validates', () => {
  assert.deepEqual(parseRtcdServiceUrl('http://id:key@rtcd:8045'), {scheme: 'http', host: 'rtcd', port: 8045});
  assert.deepEqual(parseRtcdServiceUrl('https://[fd00::9]:8045/'), {scheme: 'https', host: 'fd00::9', port: 8045});
  assert.throws(() => parseRtcdServiceUrl('ftp://x:1'), TargetConfigError);
  assert.throws(() => parseRtcdServiceUrl('rtcd:8045x'), TargetConfigError);
  // Credentials never show up in errors either.
  assert.throws(
    () => parseRtcdServiceUrl('http://id:TopSecret@bad host:1'),
    (e: Error) => !e.message.includes('TopSecret'),
  );
});
