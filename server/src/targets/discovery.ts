// The app nodes of an HA cluster, read from Mattermost's ClusterDiscovery table over a
// direct connection (pg / mysql2) built from the unsanitized SqlSettings (protocol
// spec §5.7, §7). Same query as the Go plugin (server/cluster.go):
//
//   SELECT Id, Hostname FROM ClusterDiscovery
//   WHERE Type = 'mattermost_app' AND ClusterName = ? AND LastPingAt > now − 30 min ORDER BY Id
//
// Identifiers are unquoted: PostgreSQL folds them to the lower-case table Mattermost
// created (clusterdiscovery, columns come back as id/hostname); MySQL keeps CamelCase.
//
// A small pool (≤ 2 connections), connect and query timeouts, and errors that never
// carry the DSN or password (DiscoveryError; the target is described with the
// password replaced by ***).

import {createHash} from 'node:crypto';
import fs from 'node:fs';
import type {ConnectionOptions} from 'node:tls';
import pg from 'pg';
import mysql from 'mysql2/promise';
import {type DbConnectionSpec, type MysqlConnectionSpec, type PgConnectionSpec, describeSpec, parseDataSource} from './dsn.ts';

export const CDS_TYPE_APP = 'mattermost_app';
/** model.CDSOfflineAfterMillis: a node that has not pinged for 30 min is gone. */
export const CDS_OFFLINE_AFTER_MS = 30 * 60 * 1000;

export const PG_QUERY =
  "SELECT Id, Hostname FROM ClusterDiscovery WHERE Type = 'mattermost_app' AND ClusterName = $1 AND LastPingAt > $2 ORDER BY Id";
export const MYSQL_QUERY =
  "SELECT Id, Hostname FROM ClusterDiscovery WHERE Type = 'mattermost_app' AND ClusterName = ? AND LastPingAt > ? ORDER BY Id";

export interface ClusterNode {
  id: string;
  hostname: string;
}

export type DiscoveryErrorCode = 'connect' | 'auth' | 'tls' | 'timeout' | 'no-table' | 'query' | 'closed';

/** A discovery failure. The message names the database as describeSpec() does (password ***). */
export class DiscoveryError extends Error {
  override name = 'DiscoveryError';
  constructor(
    readonly code: DiscoveryErrorCode,
    readonly target: string,
    detail: string,
  ) {
    super(`cluster discovery via ${target} failed (${code}): ${detail}`);
  }
}

/** What the watcher needs; tests substitute fakes. */
export interface NodeDiscovery {
  /** Loggable, password-free description of the database. */
  readonly description: string;
  listNodes(clusterName: string): Promise<ClusterNode[]>;
  close(): Promise<void>;
}

export interface ClusterDiscoveryOptions {
  /** Per-query limit (client side, plus statement_timeout / max_execution_time on the server). Default 10 s. */
  queryTimeoutMs?: number;
  /** Connect limit when the DSN has none (connect_timeout / timeout). Default 10 s. */
  connectTimeoutMs?: number;
  /** 1 or 2. Default 2. */
  poolSize?: number;
  /** Idle connections are closed after this. Default 60 s. */
  idleTimeoutMs?: number;
  offlineAfterMs?: number;
  now?: () => number;
}

/** Identity of a (driver, DataSource) pair without keeping the DSN around in clear. */
export function dataSourceKey(driverName: string | undefined, dataSource: string | undefined): string {
  return createHash('sha256')
    .update(`${(driverName ?? '').toLowerCase()}\0${dataSource ?? ''}`)
    .digest('hex');
}

/** Node-side error fields the drivers set. */
interface DriverError {
  message?: string;
  code?: string | number;
  errno?: number;
}

export class ClusterDiscoveryClient implements NodeDiscovery {
  readonly description: string;
  private readonly queryTimeoutMs: number;
  private readonly connectTimeoutMs: number;
  private readonly poolSize: number;
  private readonly idleTimeoutMs: number;
  private readonly offlineAfterMs: number;
  private readonly now: () => number;
  /** TLS settings to try in order (sslmode=prefer/allow, tls=preferred fall back once). */
  private readonly tlsAttempts: Array<ConnectionOptions | false>;
  private attempt = 0;
  private pgPool: pg.Pool | undefined;
  private myPool: mysql.Pool | undefined;
  private closed = false;

  /** Parses the DSN (throws DsnError) but does not connect yet. */
  static fromSqlSettings(
    sql: {DriverName?: string; DataSource?: string} | undefined,
    options: ClusterDiscoveryOptions = {},
  ): ClusterDiscoveryClient {
    return new ClusterDiscoveryClient(parseDataSource(sql?.DriverName, sql?.DataSource), options);
  }

  constructor(
    private readonly spec: DbConnectionSpec,
    options: ClusterDiscoveryOptions = {},
  ) {
    this.description = describeSpec(spec);
    this.queryTimeoutMs = options.queryTimeoutMs ?? 10_000;
    this.connectTimeoutMs = spec.connectTimeoutMs ?? options.connectTimeoutMs ?? 10_000;
    this.poolSize = Math.min(2, Math.max(1, options.poolSize ?? 2));
    this.idleTimeoutMs = options.idleTimeoutMs ?? 60_000;
    this.offlineAfterMs = options.offlineAfterMs ?? CDS_OFFLINE_AFTER_MS;
    this.now = options.now ?? Date.now;
    this.tlsAttempts = spec.driver === 'postgres' ? this.pgTlsAttempts(spec) : this.mysqlTlsAttempts(spec);
  }

  async listNodes(clusterName: string): Promise<ClusterNode[]> {
    if (this.closed) throw new DiscoveryError('closed', this.description, 'client is closed');
    const since = this.now() - this.offlineAfterMs;
    for (;;) {
      try {
        const rows = this.spec.driver === 'postgres' ? await this.queryPg(clusterName, since) : await this.queryMysql(clusterName, since);
        return rows;
      } catch (err) {
        // sslmode=prefer / allow, tls=preferred: switch once to the other TLS setting.
        if (this.attempt + 1 < this.tlsAttempts.length && this.isTlsNegotiationError(err)) {
          await this.endPools();
          this.attempt++;
          continue;
        }
        throw this.wrap(err);
      }
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.endPools();
  }

  // ---------------------------------------------------------------- PostgreSQL

  private pgTlsAttempts(spec: PgConnectionSpec): Array<ConnectionOptions | false> {
    const files = (): ConnectionOptions => {
      const o: ConnectionOptions = {};
      if (spec.sslrootcert && spec.sslrootcert !== 'system') o.ca = this.readFile(spec.sslrootcert, 'sslrootcert');
      if (spec.sslcert) o.cert = this.readFile(spec.sslcert, 'sslcert');
      if (spec.sslkey) o.key = this.readFile(spec.sslkey, 'sslkey');
      return o;
    };
    // libpq/lib/pq: require with a root certificate behaves like verify-ca.
    const noVerify = (): ConnectionOptions =>
      spec.sslrootcert ? {...files(), rejectUnauthorized: true, checkServerIdentity: () => undefined} : {...files(), rejectUnauthorized: false};
    switch (spec.sslmode) {
      case 'disable':
        return [false];
      case 'allow':
        return [false, noVerify()];
      case 'prefer':
        return [noVerify(), false];
      case 'require':
        return [noVerify()];
      case 'verify-ca':
        return [{...files(), rejectUnauthorized: true, checkServerIdentity: () => undefined}];
      case 'verify-full':
        return [{...files(), rejectUnauthorized: true}];
    }
  }

  private getPgPool(spec: PgConnectionSpec): pg.Pool {
    if (this.pgPool) return this.pgPool;
    const pool = new pg.Pool({
      host: spec.host,
      port: spec.port,
      user: spec.user,
      password: spec.password,
      database: spec.database,
      ssl: this.tlsAttempts[this.attempt],
      application_name: spec.applicationName ?? 'mattermost-plugin-metrics',
      options: spec.options,
      connectionTimeoutMillis: this.connectTimeoutMs,
      query_timeout: this.queryTimeoutMs,
      statement_timeout: this.queryTimeoutMs,
      max: this.poolSize,
      idleTimeoutMillis: this.idleTimeoutMs,
      allowExitOnIdle: true,
    });
    // An idle client losing its connection (server restart) is reported here; without
    // a listener it would be an uncaught 'error' event. The pool drops that client.
    pool.on('error', () => undefined);
    this.pgPool = pool;
    return pool;
  }

  private async queryPg(clusterName: string, since: number): Promise<ClusterNode[]> {
    const pool = this.getPgPool(this.spec as PgConnectionSpec);
    const res = await pool.query<Record<string, unknown>>(PG_QUERY, [clusterName, since]);
    return res.rows.map(toNode);
  }

  // ---------------------------------------------------------------- MySQL

  private mysqlTlsAttempts(spec: MysqlConnectionSpec): Array<ConnectionOptions | false> {
    switch (spec.tls) {
      case 'false':
        return [false];
      case 'true':
        return [{rejectUnauthorized: true, ...(spec.host ? {servername: isIp(spec.host) ? undefined : spec.host} : {})}];
      case 'skip-verify':
        return [{rejectUnauthorized: false}];
      case 'preferred':
        return [{rejectUnauthorized: false}, false];
    }
  }

  private getMysqlPool(spec: MysqlConnectionSpec): mysql.Pool {
    if (this.myPool) return this.myPool;
    const ssl = this.tlsAttempts[this.attempt];
    const pool = mysql.createPool({
      ...(spec.net === 'unix' ? {socketPath: spec.socketPath} : {host: spec.host, port: spec.port}),
      user: spec.user,
      password: spec.password,
      database: spec.database,
      ...(ssl ? {ssl: ssl as mysql.SslOptions} : {}),
      connectTimeout: this.connectTimeoutMs,
      connectionLimit: this.poolSize,
      maxIdle: 1,
      idleTimeout: this.idleTimeoutMs,
      enableKeepAlive: true,
      supportBigNumbers: true,
      bigNumberStrings: false,
      multipleStatements: false,
    });
    // Errors of idle pooled connections: the pool's own listener is `once`.
    pool.pool.on('connection', (conn) => conn.on('error', () => undefined));
    this.myPool = pool;
    return pool;
  }

  private async queryMysql(clusterName: string, since: number): Promise<ClusterNode[]> {
    const spec = this.spec as MysqlConnectionSpec;
    const pool = this.getMysqlPool(spec);
    const timeout = Math.min(this.queryTimeoutMs, spec.readTimeoutMs ?? Infinity);
    const [rows] = await pool.query({sql: MYSQL_QUERY, timeout}, [clusterName, since]);
    return (rows as Array<Record<string, unknown>>).map(toNode);
  }

  // ---------------------------------------------------------------- shared

  private readFile(file: string, what: string): Buffer {
    try {
      return fs.readFileSync(file);
    } catch (err) {
      throw new DiscoveryError('tls', this.description, `cannot read ${what} file ${file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
    }
  }

  private async endPools(): Promise<void> {
    const p = this.pgPool;
    const m = this.myPool;
    this.pgPool = undefined;
    this.myPool = undefined;
    await Promise.allSettled([p?.end(), m?.end()]);
  }

  private isTlsNegotiationError(err: unknown): boolean {
    const msg = String((err as DriverError)?.message ?? '');
    return /ssl|tls|secure connection|encryption/i.test(msg) && !this.isAuthError(err as DriverError);
  }

  private isAuthError(e: DriverError): boolean {
    return e?.code === '28P01' || e?.code === '28000' || e?.code === 'ER_ACCESS_DENIED_ERROR' || e?.errno === 1045 || e?.code === 'ER_DBACCESS_DENIED_ERROR';
  }

  /** Maps a driver error to a DiscoveryError with a password-free message. */
  private wrap(err: unknown): DiscoveryError {
    if (err instanceof DiscoveryError) return err;
    const e = (err ?? {}) as DriverError;
    let detail = scrub(String(e.message ?? err), this.spec.password);
    if (detail === '' && (err as {errors?: unknown[]})?.errors) {
      // AggregateError (e.g. localhost resolving to ::1 and 127.0.0.1, both refused)
      detail = ((err as {errors: DriverError[]}).errors ?? []).map((x) => scrub(String(x.message ?? x), this.spec.password)).join('; ');
    }
    const code = String(e.code ?? '');
    let kind: DiscoveryErrorCode = 'query';
    if (this.isAuthError(e)) kind = 'auth';
    else if (code === '42P01' || code === 'ER_NO_SUCH_TABLE') {
      kind = 'no-table';
      detail = `the ClusterDiscovery table does not exist in database "${this.spec.database}" (${detail})`;
    } else if (code === 'ETIMEDOUT' || code === 'PROTOCOL_SEQUENCE_TIMEOUT' || code === '57014' || /timeout|timed out/i.test(detail)) kind = 'timeout';
    else if (/^(ECONNREFUSED|ECONNRESET|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH|ENOENT|EPIPE|PROTOCOL_CONNECTION_LOST)$/.test(code)) kind = 'connect';
    else if (code === '' && /connect|terminat|closed|ECONNREFUSED/i.test(detail)) kind = 'connect';
    else if (/ssl|tls|certificate|self[- ]signed/i.test(detail)) kind = 'tls';
    if (code !== '' && !detail.includes(code)) detail = `${detail} [${code}]`;
    return new DiscoveryError(kind, this.description, detail || 'unknown error');
  }
}

function isIp(h: string): boolean {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(h) || h.includes(':');
}

function toNode(row: Record<string, unknown>): ClusterNode {
  let id: unknown;
  let hostname: unknown;
  for (const [k, v] of Object.entries(row)) {
    const lk = k.toLowerCase();
    if (lk === 'id') id = v;
    else if (lk === 'hostname') hostname = v;
  }
  const str = (v: unknown): string => (Buffer.isBuffer(v) ? v.toString('utf8') : v == null ? '' : String(v));
  return {id: str(id), hostname: str(hostname)};
}

/** Removes a password that a driver message might echo (never seen, but cheap insurance). */
function scrub(message: string, password: string | undefined): string {
  if (!password || password.length < 4) return message;
  return message.split(password).join('***');
}
