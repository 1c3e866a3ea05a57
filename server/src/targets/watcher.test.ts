import assert from 'node:assert/strict';
import {test} from 'node:test';
import type {MattermostConfig} from '../bridge/mattermost/config.ts';
import {type ClusterNode, DiscoveryError, type NodeDiscovery} from './discovery.ts';
import {DsnError} from './dsn.ts';
import {AvailabilityCache} from './probe.ts';
import type {Target, TargetSettings} from './resolve.ts';
import {TargetWatcher, type TargetsLogger} from './watcher.ts';

interface LogLine {
  level: string;
  message: string;
  fields?: Record<string, unknown>;
}

function capture(): {lines: LogLine[]; logger: TargetsLogger} {
  const lines: LogLine[] = [];
  const mk = (level: string) => (message: string, fields?: Record<string, unknown>) => void lines.push({level, message, fields});
  return {lines, logger: {debug: mk('debug'), info: mk('info'), warn: mk('warn'), error: mk('error')}};
}

class FakeDiscovery implements NodeDiscovery {
  description = 'postgres://mm:***@db:5432/mm?sslmode=disable';
  nodes: ClusterNode[] = [];
  fail: Error | undefined;
  calls = 0;
  closed = false;
  listNodes = async (): Promise<ClusterNode[]> => {
    this.calls++;
    if (this.fail) throw this.fail;
    return this.nodes.map((n) => ({...n}));
  };
  close = async (): Promise<void> => {
    this.closed = true;
  };
}

function ha(dsn = 'postgres://mm:pw@db/mm', extra: Partial<MattermostConfig> = {}): MattermostConfig {
  return {
    SqlSettings: {DriverName: 'postgres', DataSource: dsn},
    MetricsSettings: {ListenAddress: ':8067'},
    ClusterSettings: {Enable: true, ClusterName: 'c'},
    PluginSettings: {Plugins: {}},
    ...extra,
  };
}

const NE_OFF: TargetSettings = {enableNodeExporterTargets: false, nodeExporterPort: 9100};
const show = (ts: Target[]): string[] => ts.map((t) => `${t.job} ${t.instance} ${t.url}`);

async function until(what: string, cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

test('refreshes every interval (not only on topology change) and emits only on change', async () => {
  const fake = new FakeDiscovery();
  fake.nodes = [{id: 'a', hostname: 'h1'}];
  const emitted: Target[][] = [];
  const {logger} = capture();
  const cfg = ha();
  const w = new TargetWatcher({config: cfg, settings: NE_OFF, intervalMs: 30, logger, onTargets: (t) => emitted.push(t), createDiscovery: () => fake, hostname: () => 'self'});
  await w.start();
  assert.deepEqual(show(emitted[0]), ['prometheus h1:8067 http://h1:8067/metrics']);
  await until('a few ticks', () => fake.calls >= 4);
  assert.equal(emitted.length, 1, 'unchanged list not re-emitted');
  // Calls gets enabled without any topology change: picked up on the next tick.
  (cfg.PluginSettings as Record<string, unknown>).PluginStates = {'com.mattermost.calls': {Enable: true}};
  await until('calls target', () => emitted.length === 2);
  assert.deepEqual(show(emitted[1]), ['calls h1:8067 http://h1:8067/plugins/com.mattermost.calls/metrics', 'prometheus h1:8067 http://h1:8067/metrics']);
  await w.stop();
  assert.ok(fake.closed, 'pool closed on stop');
  const n = fake.calls;
  await new Promise((r) => setTimeout(r, 80));
  assert.equal(fake.calls, n, 'no refresh after stop');
});

test('DB errors: last good nodes kept, capped exponential backoff, one warn per streak, recovery logged', async () => {
  const fake = new FakeDiscovery();
  fake.nodes = [{id: 'a', hostname: 'h1'}, {id: 'b', hostname: 'h2'}];
  const emitted: Target[][] = [];
  const {lines, logger} = capture();
  const w = new TargetWatcher({
    config: ha(),
    settings: NE_OFF,
    intervalMs: 60_000,
    logger,
    onTargets: (t) => emitted.push(t),
    createDiscovery: () => fake,
    hostname: () => 'self',
    backoff: {initialMs: 10, maxMs: 40},
  });
  await w.start();
  fake.fail = new DiscoveryError('connect', fake.description, 'connect ECONNREFUSED 10.0.0.9:5432');
  await w.refreshNow();
  await until('6 failures', () => w.status().consecutiveFailures >= 6);
  assert.equal(emitted.length, 1);
  assert.equal(w.status().nodes?.length, 2);
  assert.match(w.status().lastError ?? '', /ECONNREFUSED/);
  assert.equal(lines.filter((l) => l.level === 'warn').length, 1);
  const retry = lines.filter((l) => l.message.startsWith('cluster discovery') && l.level !== 'info').map((l) => l.fields?.retryInMs);
  assert.deepEqual(retry.slice(0, 5), [10, 20, 40, 40, 40]);
  // Second streak after recovery gets its own single warn.
  fake.fail = undefined;
  fake.nodes = [{id: 'b', hostname: 'h2'}];
  await until('recovered', () => w.status().consecutiveFailures === 0);
  assert.ok(lines.some((l) => l.message === 'cluster discovery: recovered' && l.fields?.afterFailures !== undefined));
  assert.deepEqual(show(emitted.at(-1)!), ['prometheus h2:8067 http://h2:8067/metrics']);
  fake.fail = new Error('boom');
  await w.refreshNow();
  assert.equal(lines.filter((l) => l.level === 'warn').length, 2);
  await w.stop();
});

test('first discovery failing: this node is scraped until discovery works', async () => {
  const fake = new FakeDiscovery();
  fake.fail = new DiscoveryError('auth', fake.description, 'password authentication failed');
  const emitted: Target[][] = [];
  const {logger} = capture();
  const w = new TargetWatcher({config: ha(), settings: NE_OFF, intervalMs: 60_000, logger, onTargets: (t) => emitted.push(t), createDiscovery: () => fake, hostname: () => 'self', backoff: {initialMs: 5, maxMs: 5}});
  await w.start();
  assert.deepEqual(show(emitted[0]), ['prometheus self:8067 http://127.0.0.1:8067/metrics']);
  fake.fail = undefined;
  fake.nodes = [{id: 'x', hostname: '10.0.0.1'}];
  await until('discovered', () => emitted.length === 2);
  assert.deepEqual(show(emitted[1]), ['prometheus 10.0.0.1:8067 http://10.0.0.1:8067/metrics']);
  await w.stop();
});

test('config change: a new DSN rebuilds the client (old one closed); a bad DSN is not retried in a loop', async () => {
  const made: Array<{dsn: string | undefined; d: FakeDiscovery}> = [];
  const {lines, logger} = capture();
  const create = (sql: {DataSource?: string}): NodeDiscovery => {
    if (sql.DataSource === 'bad') throw new DsnError('malformed', 'postgres', 'expected "key=value" pairs');
    const d = new FakeDiscovery();
    d.nodes = [{id: '1', hostname: `n-${made.length}`}];
    made.push({dsn: sql.DataSource, d});
    return d;
  };
  const emitted: Target[][] = [];
  const w = new TargetWatcher({config: ha('postgres://a'), settings: NE_OFF, intervalMs: 20, logger, onTargets: (t) => emitted.push(t), createDiscovery: create, hostname: () => 'self', backoff: {initialMs: 1, maxMs: 1}});
  await w.start();
  await w.setConfig(ha('postgres://a')); // same DSN: same client
  assert.equal(made.length, 1);
  await w.setConfig(ha('postgres://b'));
  assert.equal(made.length, 2);
  assert.ok(made[0].d.closed);
  assert.deepEqual(show(emitted.at(-1)!), ['prometheus n-1:8067 http://n-1:8067/metrics']);
  await w.setConfig(ha('bad'));
  assert.ok(made[1].d.closed);
  assert.deepEqual(show(emitted.at(-1)!), ['prometheus self:8067 http://127.0.0.1:8067/metrics']);
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(lines.filter((l) => l.level === 'error').length, 1, 'bad DSN logged once, retried only at the interval');
  await w.stop();
});

test('node exporter: only hosts that accept a connection; re-probed after the reprobe period', async () => {
  const fake = new FakeDiscovery();
  fake.nodes = [{id: 'a', hostname: 'h1'}, {id: 'b', hostname: 'h2'}];
  const open = new Set(['h1:9100']);
  const probes: string[] = [];
  const emitted: Target[][] = [];
  const {lines, logger} = capture();
  const w = new TargetWatcher({
    config: ha(),
    settings: {enableNodeExporterTargets: true, nodeExporterPort: 9100},
    intervalMs: 60_000,
    logger,
    onTargets: (t) => emitted.push(t),
    createDiscovery: () => fake,
    hostname: () => 'self',
    probe: async (h, p) => {
      probes.push(`${h}:${p}`);
      return open.has(`${h}:${p}`);
    },
    nodeExporterReprobeMs: 50,
  });
  await w.start();
  assert.deepEqual(show(emitted.at(-1)!), ['node h1:9100 http://h1:9100/metrics', 'prometheus h1:8067 http://h1:8067/metrics', 'prometheus h2:8067 http://h2:8067/metrics']);
  assert.deepEqual(probes.sort(), ['h1:9100', 'h2:9100']);
  assert.ok(lines.some((l) => /no node exporter answers/.test(l.message) && l.fields?.address === 'h2:9100'));
  // Within the reprobe period: cached, no new probes.
  await w.refreshNow();
  assert.equal(probes.length, 2);
  // h2 installs node_exporter, h1 loses it: seen after the reprobe period.
  open.clear();
  open.add('h2:9100');
  await new Promise((r) => setTimeout(r, 60));
  await w.refreshNow();
  assert.deepEqual(show(emitted.at(-1)!), ['node h2:9100 http://h2:9100/metrics', 'prometheus h1:8067 http://h1:8067/metrics', 'prometheus h2:8067 http://h2:8067/metrics']);
  await w.stop();
});

test('rtcd: DNS addresses used, last addresses kept on lookup failure, credentials never logged', async () => {
  const {lines, logger} = capture();
  let addrs: string[] | Error = ['10.5.0.2', '10.5.0.1'];
  const emitted: Target[][] = [];
  const config: MattermostConfig = {
    MetricsSettings: {ListenAddress: ':8067'},
    PluginSettings: {Plugins: {'com.mattermost.calls': {rtcdserviceurl: 'http://client:S3cretKey@rtcd.internal:8045'}}},
  };
  let callsRunning: boolean | undefined = true;
  const w = new TargetWatcher({
    config,
    settings: NE_OFF,
    intervalMs: 60_000,
    logger,
    onTargets: (t) => emitted.push(t),
    hostname: () => 'self',
    lookupIPv4: async () => {
      if (addrs instanceof Error) throw addrs;
      return addrs;
    },
    callsRunning: async () => callsRunning,
  });
  await w.start();
  assert.deepEqual(show(emitted.at(-1)!), [
    'calls 10.5.0.1:8045 http://10.5.0.1:8045/metrics',
    'calls 10.5.0.2:8045 http://10.5.0.2:8045/metrics',
    'calls self:8067 http://127.0.0.1:8067/plugins/com.mattermost.calls/metrics',
    'prometheus self:8067 http://127.0.0.1:8067/metrics',
  ]);
  addrs = new Error('getaddrinfo EAI_AGAIN rtcd.internal');
  await w.refreshNow();
  await w.refreshNow();
  assert.equal(emitted.length, 1, 'kept');
  assert.equal(lines.filter((l) => l.level === 'warn' && /rtcd address lookup/.test(l.message)).length, 1);
  callsRunning = false; // GetPluginStatus says Calls stopped
  await w.refreshNow();
  assert.deepEqual(show(emitted.at(-1)!), ['prometheus self:8067 http://127.0.0.1:8067/metrics']);
  assert.ok(!JSON.stringify(lines).includes('S3cretKey'));
  assert.ok(!JSON.stringify(emitted).includes('S3cretKey'));
  await w.stop();
});

test('bad ListenAddress: previous list kept, logged once', async () => {
  const {lines, logger} = capture();
  const emitted: Target[][] = [];
  const w = new TargetWatcher({config: {MetricsSettings: {ListenAddress: ':8067'}}, settings: NE_OFF, intervalMs: 60_000, logger, onTargets: (t) => emitted.push(t), hostname: () => 'self'});
  await w.start();
  await w.setConfig({MetricsSettings: {ListenAddress: 'nonsense'}});
  await w.refreshNow();
  assert.equal(emitted.length, 1);
  assert.equal(lines.filter((l) => l.level === 'error').length, 1);
  await w.stop();
});

test('AvailabilityCache: probe errors count as unavailable; forgotten endpoints are re-probed', async () => {
  let t = 0;
  const seen: string[] = [];
  const cache = new AvailabilityCache(
    async (h) => {
      seen.push(h);
      if (h === 'err') throw new Error('x');
      return h === 'up';
    },
    1000,
    10,
    () => t,
  );
  const changes = await cache.refresh([{host: 'up', port: 1}, {host: 'down', port: 1}, {host: 'err', port: 1}]);
  assert.equal(changes.length, 3);
  assert.ok(cache.isAvailable('up', 1) && !cache.isAvailable('down', 1) && !cache.isAvailable('err', 1) && !cache.isAvailable('unknown', 1));
  await cache.refresh([{host: 'up', port: 1}]);
  assert.equal(seen.length, 3);
  await cache.refresh([{host: 'up', port: 1}, {host: 'down', port: 1}]);
  assert.equal(seen.length, 4, 'down was forgotten, probed again');
  t = 1000;
  await cache.refresh([{host: 'up', port: 1}]);
  assert.equal(seen.length, 5);
});

test('tcpProbe: open port true, closed port false', async () => {
  const {tcpProbe} = await import('./probe.ts');
  const net = await import('node:net');
  const server = net.createServer((s) => s.destroy());
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as {port: number}).port;
  assert.equal(await tcpProbe('127.0.0.1', port, 1000), true);
  await new Promise<void>((r) => server.close(() => r()));
  assert.equal(await tcpProbe('127.0.0.1', port, 1000), false);
});
