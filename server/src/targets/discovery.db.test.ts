// ClusterDiscovery against real PostgreSQL 15 and MariaDB servers started here
// (testing/databases.ts): fresh/stale rows, other clusters and types, joins and
// leaves across refreshes, a database going down and coming back, bad credentials.

import assert from 'node:assert/strict';
import {after, before, describe, test} from 'node:test';
import type {MattermostConfig} from '../bridge/mattermost/config.ts';
import {CDS_OFFLINE_AFTER_MS, ClusterDiscoveryClient, DiscoveryError} from './discovery.ts';
import type {Target} from './resolve.ts';
import {DB_PASSWORD, type TestDatabase, startMariaDb, startPostgres} from './testing/databases.ts';
import {TargetWatcher, type TargetsLogger} from './watcher.ts';

let pgDb: TestDatabase | null = null;
let myDb: TestDatabase | null = null;
let startError: unknown;

before(async () => {
  try {
    [pgDb, myDb] = await Promise.all([startPostgres(), startMariaDb()]);
  } catch (err) {
    startError = err;
  }
});

after(async () => {
  await Promise.all([pgDb?.destroy(), myDb?.destroy()]);
});

interface LogLine {
  level: string;
  message: string;
  fields?: Record<string, unknown>;
}

function captureLogger(): {lines: LogLine[]; logger: TargetsLogger} {
  const lines: LogLine[] = [];
  const mk = (level: string) => (message: string, fields?: Record<string, unknown>) => void lines.push({level, message, fields});
  return {lines, logger: {debug: mk('debug'), info: mk('info'), warn: mk('warn'), error: mk('error')}};
}

function haConfig(db: TestDatabase, clusterName: string, dataSource = db.dataSource): MattermostConfig {
  return {
    SqlSettings: {DriverName: db.driver, DataSource: dataSource},
    MetricsSettings: {Enable: true, ListenAddress: ':8067'},
    ClusterSettings: {Enable: true, ClusterName: clusterName},
    PluginSettings: {Plugins: {}},
  };
}

async function until(what: string, cond: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const id = (s: string): string => s.padEnd(26, '0');
const instances = (ts: Target[]): string[] => ts.filter((t) => t.job === 'prometheus').map((t) => t.instance);

for (const driver of ['postgres', 'mysql'] as const) {
  describe(`ClusterDiscovery on ${driver === 'postgres' ? 'PostgreSQL 15' : 'MariaDB'}`, () => {
    const db = (t: {skip: (m: string) => void}): TestDatabase | null => {
      if (startError) throw startError;
      const d = driver === 'postgres' ? pgDb : myDb;
      if (!d) t.skip('database server not available (needs root + apt-get)');
      return d;
    };

    test('returns fresh app nodes of this cluster ordered by Id; ignores stale rows, other clusters, other types', async (t) => {
      const d = db(t);
      if (!d) return;
      const now = Date.now();
      await d.insert([
        {id: id('q2'), clusterName: 'listq', hostname: '10.0.0.2', lastPingAt: now - 1000},
        {id: id('q1'), clusterName: 'listq', hostname: 'app-1.internal', lastPingAt: now},
        {id: id('q3'), clusterName: 'listq', hostname: 'stale', lastPingAt: now - CDS_OFFLINE_AFTER_MS - 60_000},
        {id: id('q4'), clusterName: 'other', hostname: 'other-cluster', lastPingAt: now},
        {id: id('q5'), clusterName: 'listq', hostname: 'not-an-app', lastPingAt: now, type: 'mattermost_other'},
      ]);
      const client = ClusterDiscoveryClient.fromSqlSettings({DriverName: driver, DataSource: d.dataSource});
      try {
        assert.ok(!client.description.includes(DB_PASSWORD) && client.description.includes(':***@'), client.description);
        assert.deepEqual(await client.listNodes('listq'), [
          {id: id('q1'), hostname: 'app-1.internal'},
          {id: id('q2'), hostname: '10.0.0.2'},
        ]);
        assert.deepEqual(await client.listNodes('other'), [{id: id('q4'), hostname: 'other-cluster'}]);
        assert.deepEqual(await client.listNodes('nobody'), []);
      } finally {
        await client.close();
      }
      await assert.rejects(client.listNodes('listq'), (e: DiscoveryError) => e.code === 'closed');
    });

    test('bad credentials: a clear auth error without the password or DSN', async (t) => {
      const d = db(t);
      if (!d) return;
      const wrong = 'Wr0ng-P@ss:word';
      const dsn =
        driver === 'postgres'
          ? d.dataSource.replace(encodeURIComponent(DB_PASSWORD), encodeURIComponent(wrong))
          : d.dataSource.replace(DB_PASSWORD, wrong);
      assert.notEqual(dsn, d.dataSource);
      const client = ClusterDiscoveryClient.fromSqlSettings({DriverName: driver, DataSource: dsn});
      try {
        await assert.rejects(client.listNodes('x'), (e: unknown) => {
          assert.ok(e instanceof DiscoveryError, String(e));
          assert.equal(e.code, 'auth', e.message);
          assert.ok(!e.message.includes(wrong) && !e.message.includes(encodeURIComponent(wrong)), e.message);
          assert.ok(!e.message.includes(dsn));
          assert.match(e.message, /mmuser:\*\*\*@/);
          assert.match(e.message, driver === 'postgres' ? /password authentication failed/ : /Access denied/);
          return true;
        });
      } finally {
        await client.close();
      }
    });

    if (driver === 'postgres') {
      test('key=value DSN with a quoted password; missing table is reported as no-table', async (t) => {
        const d = db(t);
        if (!d) return;
        const kv = `host=127.0.0.1 port=${d.port} user=mmuser password='${DB_PASSWORD}' dbname=mattermost_test sslmode=disable`;
        const c1 = ClusterDiscoveryClient.fromSqlSettings({DriverName: 'postgres', DataSource: kv});
        try {
          assert.ok(Array.isArray(await c1.listNodes('listq')));
        } finally {
          await c1.close();
        }
        const c2 = ClusterDiscoveryClient.fromSqlSettings({DriverName: 'postgres', DataSource: kv.replace('dbname=mattermost_test', 'dbname=postgres')});
        try {
          await assert.rejects(c2.listNodes('x'), (e: DiscoveryError) => e.code === 'no-table' && /ClusterDiscovery table does not exist/.test(e.message));
        } finally {
          await c2.close();
        }
      });

      test('sslmode=prefer falls back to a plain connection when the server has no TLS', async (t) => {
        const d = db(t);
        if (!d) return;
        const c = ClusterDiscoveryClient.fromSqlSettings({DriverName: 'postgres', DataSource: d.dataSource.replace('sslmode=disable', 'sslmode=prefer')});
        try {
          assert.ok(Array.isArray(await c.listNodes('listq')));
        } finally {
          await c.close();
        }
        const r = ClusterDiscoveryClient.fromSqlSettings({DriverName: 'postgres', DataSource: d.dataSource.replace('sslmode=disable', 'sslmode=require')});
        try {
          await assert.rejects(r.listNodes('listq'), (e: DiscoveryError) => e.code === 'tls' || /SSL/i.test(e.message));
        } finally {
          await r.close();
        }
      });
    }

    test('watcher: nodes join and leave across refreshes', async (t) => {
      const d = db(t);
      if (!d) return;
      const now = Date.now();
      await d.insert([
        {id: id('j1'), clusterName: 'joins', hostname: '10.1.0.1', lastPingAt: now},
        {id: id('j2'), clusterName: 'joins', hostname: '10.1.0.2', lastPingAt: now},
      ]);
      const {lines, logger} = captureLogger();
      const emitted: Target[][] = [];
      const w = new TargetWatcher({
        config: haConfig(d, 'joins'),
        settings: {enableNodeExporterTargets: false, nodeExporterPort: 9100},
        intervalMs: 60_000,
        logger,
        onTargets: (ts) => emitted.push(ts),
        hostname: () => 'self',
      });
      try {
        await w.start();
        assert.deepEqual(instances(emitted.at(-1)!), ['10.1.0.1:8067', '10.1.0.2:8067']);
        assert.equal(emitted.at(-1)![0].url, 'http://10.1.0.1:8067/metrics');

        // Unchanged topology: nothing emitted.
        await w.refreshNow();
        assert.equal(emitted.length, 1);

        // A node joins.
        await d.insert([{id: id('j3'), clusterName: 'joins', hostname: 'app-3.internal', lastPingAt: Date.now()}]);
        await w.refreshNow();
        assert.deepEqual(instances(emitted.at(-1)!), ['10.1.0.1:8067', '10.1.0.2:8067', 'app-3.internal:8067']);

        // A node stops pinging (stale) and another is deleted: both leave.
        const stale = Date.now() - CDS_OFFLINE_AFTER_MS - 1000;
        await d.exec(driver === 'postgres' ? 'UPDATE ClusterDiscovery SET LastPingAt = $1 WHERE Id = $2' : 'UPDATE ClusterDiscovery SET LastPingAt = ? WHERE Id = ?', [stale, id('j1')]);
        await d.exec(driver === 'postgres' ? 'DELETE FROM ClusterDiscovery WHERE Id = $1' : 'DELETE FROM ClusterDiscovery WHERE Id = ?', [id('j3')]);
        await w.refreshNow();
        assert.deepEqual(instances(emitted.at(-1)!), ['10.1.0.2:8067']);
        assert.equal(emitted.length, 3);
        const topo = lines.filter((l) => l.message === 'cluster topology changed');
        assert.equal(topo.length, 2);
        assert.equal(topo[1].fields?.left, '10.1.0.1, app-3.internal');
      } finally {
        await w.stop();
      }
    });

    test('watcher: database down keeps the last good list, backs off, logs once, recovers', async (t) => {
      const d = db(t);
      if (!d) return;
      await d.insert([{id: id('d1'), clusterName: 'down', hostname: '10.2.0.1', lastPingAt: Date.now()}]);
      const {lines, logger} = captureLogger();
      const emitted: Target[][] = [];
      const w = new TargetWatcher({
        config: haConfig(d, 'down'),
        settings: {enableNodeExporterTargets: false, nodeExporterPort: 9100},
        intervalMs: 60_000, // only the backoff retries during this test
        logger,
        onTargets: (ts) => emitted.push(ts),
        hostname: () => 'self',
        backoff: {initialMs: 40, maxMs: 160},
      });
      try {
        await w.start();
        assert.deepEqual(instances(emitted.at(-1)!), ['10.2.0.1:8067']);

        await d.stop();
        assert.equal(d.pid(), undefined);
        await w.refreshNow();
        await until('several retries', () => w.status().consecutiveFailures >= 4);
        assert.equal(emitted.length, 1, 'the last good list stays');
        assert.deepEqual(instances(w.current()), ['10.2.0.1:8067']);
        const warns = lines.filter((l) => l.level === 'warn');
        assert.equal(warns.length, 1, JSON.stringify(warns));
        assert.match(warns[0].message, /cluster discovery: .*\((connect|timeout)\)/);
        assert.ok(!warns[0].message.includes(DB_PASSWORD) && !JSON.stringify(warns[0].fields).includes(DB_PASSWORD));
        assert.ok(lines.filter((l) => l.level === 'debug' && /still failing/.test(l.message)).length >= 3);
        // Backoff grows and is capped: retryInMs of the logged failures.
        const delays = lines.filter((l) => /cluster discovery/.test(l.message) && l.level !== 'info').map((l) => l.fields?.retryInMs as number);
        assert.deepEqual(delays.slice(0, 4), [40, 80, 160, 160]);

        // The database comes back: the loop recovers by itself (no refreshNow).
        await d.start();
        await until('recovery', () => w.status().consecutiveFailures === 0);
        assert.ok(lines.some((l) => l.level === 'info' && l.message === 'cluster discovery: recovered'));
        await d.insert([{id: id('d2'), clusterName: 'down', hostname: '10.2.0.2', lastPingAt: Date.now()}]);
        await w.refreshNow();
        assert.deepEqual(instances(emitted.at(-1)!), ['10.2.0.1:8067', '10.2.0.2:8067']);
      } finally {
        await w.stop();
        if (d.pid() === undefined) await d.start();
      }
    });

    test('watcher: a DSN change rebuilds the client; a bad DSN disables discovery without leaking it', async (t) => {
      const d = db(t);
      if (!d) return;
      await d.insert([{id: id('c1'), clusterName: 'cfg', hostname: '10.3.0.1', lastPingAt: Date.now()}]);
      const {lines, logger} = captureLogger();
      const emitted: Target[][] = [];
      const settings = {enableNodeExporterTargets: false, nodeExporterPort: 9100};
      const w = new TargetWatcher({config: haConfig(d, 'cfg', 'garbage-TopSecret'), settings, intervalMs: 60_000, logger, onTargets: (ts) => emitted.push(ts), hostname: () => 'self'});
      try {
        await w.start();
        // No usable DSN: this node only, error logged once without the DSN.
        assert.deepEqual(instances(emitted.at(-1)!), ['self:8067']);
        const errs = lines.filter((l) => l.level === 'error');
        assert.equal(errs.length, 1);
        assert.ok(!JSON.stringify(errs).includes('TopSecret'), JSON.stringify(errs));
        await w.refreshNow();
        assert.equal(lines.filter((l) => l.level === 'error').length, 1, 'not repeated');

        await w.setConfig(haConfig(d, 'cfg'), settings);
        assert.deepEqual(instances(emitted.at(-1)!), ['10.3.0.1:8067']);
        // Cluster off: back to this node, pool closed.
        await w.setConfig({...haConfig(d, 'cfg'), ClusterSettings: {Enable: false}}, settings);
        assert.deepEqual(instances(emitted.at(-1)!), ['self:8067']);
      } finally {
        await w.stop();
      }
    });
  });
}
