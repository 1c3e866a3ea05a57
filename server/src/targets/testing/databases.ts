// Test helpers: private PostgreSQL 15 and MariaDB servers in temp dirs, listening on
// 127.0.0.1:<free port> only (unix sockets in the temp dir), each started and stopped
// by PID. Debian packages are installed when missing (root + apt-get, like
// tsdb/testing/prometheus.ts) with a temporary policy-rc.d so the packages' own
// services are not started; if they got started anyway (systemd), they are stopped.
//
// Each server gets a database `mattermost_test`, a user `mmuser` with an awkward
// password (@ : / %), and the ClusterDiscovery table exactly as Mattermost's
// migration 000003 creates it.

import {type ChildProcess, spawn, spawnSync} from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import mysql from 'mysql2/promise';

const POLICY = '/usr/sbin/policy-rc.d';
const PG_BIN = '/usr/lib/postgresql/15/bin';

export const DB_NAME = 'mattermost_test';
export const DB_USER = 'mmuser';
/** Needs escaping in a URL DSN ('/', '%'), and exercises Go's last-'@' / first-':' rules. */
export const DB_PASSWORD = 'mm@pa:ss/wo%rd';

export const PG_CLUSTER_DISCOVERY_DDL = `CREATE TABLE IF NOT EXISTS clusterdiscovery (
    id VARCHAR(26) PRIMARY KEY,
    type VARCHAR(64),
    clustername VARCHAR(64),
    hostname VARCHAR(512),
    gossipport integer,
    port integer,
    createat bigint,
    lastpingat bigint
)`;

export const MYSQL_CLUSTER_DISCOVERY_DDL = `CREATE TABLE IF NOT EXISTS ClusterDiscovery (
    Id varchar(26) NOT NULL,
    Type varchar(64) DEFAULT NULL,
    ClusterName varchar(64) DEFAULT NULL,
    Hostname text,
    GossipPort int(11) DEFAULT NULL,
    Port integer DEFAULT NULL,
    CreateAt bigint(20) DEFAULT NULL,
    LastPingAt bigint(20) DEFAULT NULL,
    PRIMARY KEY (Id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`;

export interface DiscoveryRow {
  id: string;
  type?: string;
  clusterName: string;
  hostname: string;
  lastPingAt: number;
}

export interface TestDatabase {
  driver: 'postgres' | 'mysql';
  port: number;
  /** A Mattermost-style DataSource for mmuser over TCP. */
  dataSource: string;
  pid(): number | undefined;
  /** SQL as the test owner (mmuser). */
  exec(sql: string, params?: unknown[]): Promise<void>;
  insert(rows: DiscoveryRow[]): Promise<void>;
  /** Stops the server (by PID); data stays. */
  stop(): Promise<void>;
  /** Starts it again on the same port and data dir. */
  start(): Promise<void>;
  /** Stops it and removes the temp dir. */
  destroy(): Promise<void>;
}

function which(bin: string): string | null {
  for (const d of (process.env.PATH ?? '').split(':').concat(['/usr/bin', '/usr/sbin', '/bin', '/sbin'])) {
    const p = path.join(d, bin);
    if (fs.existsSync(p)) return p;
  }
  return null;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function readPid(file: string): number | undefined {
  try {
    const pid = Number(fs.readFileSync(file, 'utf8').split('\n')[0]);
    return pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * apt-get install with services blocked. False when installing is impossible here
 * (not root, no apt-get: the tests skip); throws when apt-get fails (CI must not skip).
 */
function aptInstall(packages: string[], services: string[]): boolean {
  if (process.getuid?.() !== 0 || !which('apt-get')) return false;
  const pidFiles = ['/run/mysqld/mysqld.pid', '/run/postgresql/15-main.pid'];
  const runningBefore = new Set(pidFiles.map(readPid).filter((p): p is number => p !== undefined && alive(p)));
  const ownPolicy = !fs.existsSync(POLICY);
  if (ownPolicy) fs.writeFileSync(POLICY, '#!/bin/sh\nexit 101\n', {mode: 0o755});
  let ok = false;
  try {
    const env = {...process.env, DEBIAN_FRONTEND: 'noninteractive'};
    // Other test processes may hold the dpkg lock: wait for it instead of failing.
    const lock = ['-o', 'DPkg::Lock::Timeout=120'];
    let output = '';
    const install = (): boolean => {
      const r = spawnSync('apt-get', [...lock, 'install', '-y', '--no-install-recommends', ...packages], {env, encoding: 'utf8'});
      output = `${r.stdout ?? ''}${r.stderr ?? ''}`;
      return r.status === 0;
    };
    ok = install();
    if (!ok) {
      spawnSync('apt-get', [...lock, 'update'], {env, stdio: 'ignore'});
      ok = install();
    }
    if (!ok) throw new Error(`apt-get install ${packages.join(' ')} failed:\n${output.slice(-3000)}`);
  } finally {
    if (ownPolicy) fs.rmSync(POLICY, {force: true});
  }
  // Whatever the packages started despite policy-rc.d (e.g. under systemd) is stopped.
  for (const svc of services) {
    if (fs.existsSync('/run/systemd/system')) spawnSync('systemctl', ['disable', '--now', `${svc}.service`], {stdio: 'ignore'});
  }
  // Only a service this install started (not one that ran before) is stopped, by its PID.
  for (const pid of pidFiles.map(readPid)) {
    if (pid !== undefined && !runningBefore.has(pid) && alive(pid)) process.kill(pid, 'SIGTERM');
  }
  return ok;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

function userIds(name: string): {uid: number; gid: number} | null {
  for (const line of fs.readFileSync('/etc/passwd', 'utf8').split('\n')) {
    const f = line.split(':');
    if (f[0] === name) return {uid: Number(f[2]), gid: Number(f[3])};
  }
  return null;
}

/** A server process we started; stop() signals exactly this PID. */
class Proc {
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  log = '';

  start(cmd: string, args: string[], opts: {uid?: number; gid?: number}): void {
    const child = spawn(cmd, args, {stdio: ['ignore', 'pipe', 'pipe'], ...opts});
    child.stdout!.on('data', (d: Buffer) => (this.log = (this.log + d.toString()).slice(-20_000)));
    child.stderr!.on('data', (d: Buffer) => (this.log = (this.log + d.toString()).slice(-20_000)));
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    this.child = child;
  }

  get pid(): number | undefined {
    return this.child && this.child.exitCode === null && this.child.signalCode === null ? this.child.pid : undefined;
  }

  async stop(signal: NodeJS.Signals): Promise<void> {
    const pid = this.pid;
    if (pid === undefined) return;
    process.kill(pid, signal);
    const t = setTimeout(() => this.pid !== undefined && process.kill(pid, 'SIGKILL'), 15_000);
    await this.exited;
    clearTimeout(t);
  }
}

async function waitFor(what: string, proc: Proc, attempt: () => Promise<void>, timeoutMs = 40_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    if (proc.pid === undefined) throw new Error(`${what} exited during startup:\n${proc.log.slice(-4000)}`);
    try {
      await attempt();
      return;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`${what} not ready after ${timeoutMs} ms (${String(last)}):\n${proc.log.slice(-4000)}`);
    await new Promise((r) => setTimeout(r, 150));
  }
}

// ---------------------------------------------------------------- PostgreSQL

/** Starts a private PostgreSQL 15; null when it cannot be installed (not root / no apt). */
export async function startPostgres(): Promise<TestDatabase | null> {
  if (!fs.existsSync(path.join(PG_BIN, 'postgres'))) {
    if (!aptInstall(['postgresql-15'], ['postgresql']) || !fs.existsSync(path.join(PG_BIN, 'postgres'))) return null;
  }
  const isRoot = process.getuid?.() === 0;
  const ids = isRoot ? userIds('postgres') : null;
  if (isRoot && !ids) return null;
  const runAs = ids ? {uid: ids.uid, gid: ids.gid} : {};
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mm-targets-pg-'));
  if (ids) fs.chownSync(dir, ids.uid, ids.gid);
  fs.chmodSync(dir, 0o700);
  const data = path.join(dir, 'data');
  const superPw = 'super-secret';
  const pwfile = path.join(dir, 'pw');
  fs.writeFileSync(pwfile, `${superPw}\n`, {mode: 0o600});
  if (ids) fs.chownSync(pwfile, ids.uid, ids.gid);
  const init = spawnSync(
    path.join(PG_BIN, 'initdb'),
    ['-D', data, '-U', 'postgres', `--pwfile=${pwfile}`, '--auth-local=trust', '--auth-host=scram-sha-256', '-E', 'UTF8', '--no-sync'],
    {encoding: 'utf8', ...runAs},
  );
  if (init.status !== 0) throw new Error(`initdb failed: ${init.stderr}${init.stdout}`);
  const port = await freePort();
  const proc = new Proc();
  const start = async (): Promise<void> => {
    proc.start(
      path.join(PG_BIN, 'postgres'),
      ['-D', data, '-k', dir, '-h', '127.0.0.1', '-p', String(port), '-c', 'fsync=off', '-c', 'full_page_writes=off', '-c', 'synchronous_commit=off', '-c', 'shared_buffers=16MB', '-c', 'max_connections=30'],
      runAs,
    );
    await waitFor('postgres', proc, async () => {
      const c = new pg.Client({host: '127.0.0.1', port, user: 'postgres', password: superPw, database: 'postgres', connectionTimeoutMillis: 2000});
      await c.connect();
      await c.end();
    });
  };
  await start();

  const su = new pg.Client({host: '127.0.0.1', port, user: 'postgres', password: superPw, database: 'postgres'});
  await su.connect();
  await su.query(`CREATE USER ${DB_USER} PASSWORD ${su.escapeLiteral(DB_PASSWORD)}`);
  await su.query(`CREATE DATABASE ${DB_NAME} OWNER ${DB_USER}`);
  await su.end();

  const exec = async (sql: string, params: unknown[] = []): Promise<void> => {
    const c = new pg.Client({host: '127.0.0.1', port, user: DB_USER, password: DB_PASSWORD, database: DB_NAME});
    await c.connect();
    try {
      await c.query(sql, params);
    } finally {
      await c.end();
    }
  };
  await exec(PG_CLUSTER_DISCOVERY_DDL);

  return {
    driver: 'postgres',
    port,
    dataSource: `postgres://${DB_USER}:${encodeURIComponent(DB_PASSWORD)}@127.0.0.1:${port}/${DB_NAME}?sslmode=disable&connect_timeout=10&binary_parameters=yes`,
    pid: () => proc.pid,
    exec,
    insert: async (rows) => {
      for (const r of rows) {
        await exec(
          'INSERT INTO ClusterDiscovery (Id, Type, ClusterName, Hostname, GossipPort, Port, CreateAt, LastPingAt) VALUES ($1, $2, $3, $4, 8074, 8075, $5, $5)',
          [r.id, r.type ?? 'mattermost_app', r.clusterName, r.hostname, r.lastPingAt],
        );
      }
    },
    stop: () => proc.stop('SIGINT'), // fast shutdown
    start,
    destroy: async () => {
      await proc.stop('SIGINT');
      fs.rmSync(dir, {recursive: true, force: true});
    },
  };
}

// ---------------------------------------------------------------- MariaDB

/** Starts a private MariaDB; null when it cannot be installed (not root / no apt). */
export async function startMariaDb(): Promise<TestDatabase | null> {
  let server = which('mariadbd');
  let installDb = which('mariadb-install-db');
  if (!server || !installDb) {
    if (!aptInstall(['mariadb-server'], ['mariadb'])) return null;
    server = which('mariadbd');
    installDb = which('mariadb-install-db');
    if (!server || !installDb) return null;
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mm-targets-maria-'));
  const data = path.join(dir, 'data');
  const sock = path.join(dir, 'sock');
  const user = process.getuid?.() === 0 ? 'root' : os.userInfo().username;
  const init = spawnSync(
    installDb,
    ['--no-defaults', `--datadir=${data}`, `--user=${user}`, '--auth-root-authentication-method=normal', '--skip-test-db', '--skip-name-resolve'],
    {encoding: 'utf8'},
  );
  if (init.status !== 0) throw new Error(`mariadb-install-db failed: ${init.stderr}${init.stdout}`);
  const port = await freePort();
  const proc = new Proc();
  const start = async (): Promise<void> => {
    proc.start(
      server,
      [
        '--no-defaults',
        `--datadir=${data}`,
        `--socket=${sock}`,
        `--port=${port}`,
        '--bind-address=127.0.0.1',
        `--pid-file=${path.join(dir, 'mariadbd.pid')}`,
        `--tmpdir=${dir}`,
        `--user=${user}`,
        '--skip-name-resolve',
        '--innodb-buffer-pool-size=16M',
        '--innodb-flush-log-at-trx-commit=0',
        '--innodb-doublewrite=0',
      ],
      {},
    );
    await waitFor('mariadbd', proc, async () => {
      const c = await mysql.createConnection({socketPath: sock, user: 'root', connectTimeout: 2000});
      await c.end();
    });
  };
  await start();

  const root = await mysql.createConnection({socketPath: sock, user: 'root'});
  await root.query(`CREATE DATABASE ${DB_NAME}`);
  for (const host of ['%', 'localhost']) {
    await root.query('CREATE USER ?@? IDENTIFIED BY ?', [DB_USER, host, DB_PASSWORD]);
    await root.query(`GRANT ALL ON ${DB_NAME}.* TO ?@?`, [DB_USER, host]);
  }
  await root.end();

  const exec = async (sql: string, params: unknown[] = []): Promise<void> => {
    const c = await mysql.createConnection({host: '127.0.0.1', port, user: DB_USER, password: DB_PASSWORD, database: DB_NAME});
    try {
      await c.query(sql, params);
    } finally {
      await c.end();
    }
  };
  await exec(MYSQL_CLUSTER_DISCOVERY_DDL);

  return {
    driver: 'mysql',
    port,
    dataSource: `${DB_USER}:${DB_PASSWORD}@tcp(127.0.0.1:${port})/${DB_NAME}?charset=utf8mb4,utf8&readTimeout=30s&writeTimeout=30s`,
    pid: () => proc.pid,
    exec,
    insert: async (rows) => {
      for (const r of rows) {
        await exec(
          'INSERT INTO ClusterDiscovery (Id, Type, ClusterName, Hostname, GossipPort, Port, CreateAt, LastPingAt) VALUES (?, ?, ?, ?, 8074, 8075, ?, ?)',
          [r.id, r.type ?? 'mattermost_app', r.clusterName, r.hostname, r.lastPingAt, r.lastPingAt],
        );
      }
    },
    stop: () => proc.stop('SIGTERM'),
    start,
    destroy: async () => {
      await proc.stop('SIGTERM');
      fs.rmSync(dir, {recursive: true, force: true});
    },
  };
}
