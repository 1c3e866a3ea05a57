// Mattermost's SqlSettings.DataSource, parsed the way the Go server's drivers parse it,
// into connection options for the Node drivers (pg, mysql2).
//
//  * postgres: lib/pq accepts a URL (`postgres://user:pass@host:port/db?sslmode=…`) or
//    libpq key=value pairs (`host=… user=… dbname=…`). The URL is split like Go's
//    net/url: the authority ends at the first '/', '?' or '#', the user info at the
//    LAST '@' (so a raw '@' in the password works), the password starts after the
//    first ':'; user and password are percent-decoded ('/' in a password must be
//    written %2F, as in Go). pg's own connectionString parser is not used: it parses
//    differently and maps sslmode=require to verify-full.
//  * mysql: go-sql-driver's `[user[:password]@][net[(addr)]]/dbname[?params]`, split
//    exactly like its ParseDSN: the LAST '/' separates the database, the LAST '@'
//    before it ends the user info, the FIRST ':' splits user and password. The
//    password is taken verbatim (no decoding), as the Go driver does.
//
// Errors are DsnError with a code; their messages never contain the DSN or the password.
// The password is a non-enumerable property of the parsed spec, so JSON.stringify /
// util.inspect of a spec (e.g. in a log line) does not show it.

export type DsnErrorCode =
  | 'empty'
  | 'unsupported-driver'
  | 'malformed'
  | 'missing-user'
  | 'missing-database'
  | 'bad-port'
  | 'bad-param'
  | 'unsupported';

export class DsnError extends Error {
  override name = 'DsnError';
  constructor(
    readonly code: DsnErrorCode,
    readonly driver: string,
    detail: string,
  ) {
    super(`invalid SqlSettings.DataSource for driver "${driver}": ${detail}`);
  }
}

/** lib/pq / libpq sslmode values. */
export type PgSslMode = 'disable' | 'allow' | 'prefer' | 'require' | 'verify-ca' | 'verify-full';
const PG_SSLMODES: readonly PgSslMode[] = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'];

export interface PgConnectionSpec {
  driver: 'postgres';
  /** Host name, IP address, or a directory holding the unix socket (starts with '/'). */
  host: string;
  port: number;
  user: string;
  /** Non-enumerable. */
  password?: string;
  database: string;
  sslmode: PgSslMode;
  /** True when sslmode was not in the DSN (then `prefer`, as libpq/newer lib/pq). */
  sslmodeDefaulted: boolean;
  sslrootcert?: string;
  sslcert?: string;
  sslkey?: string;
  connectTimeoutMs?: number;
  applicationName?: string;
  /** The startup `options` parameter (search_path is folded into it as `-c search_path=…`). */
  options?: string;
}

/** go-sql-driver `tls` values that can be honoured without Go-side registration. */
export type MysqlTlsMode = 'false' | 'true' | 'skip-verify' | 'preferred';

export interface MysqlConnectionSpec {
  driver: 'mysql';
  net: 'tcp' | 'unix';
  /** tcp only. */
  host?: string;
  port?: number;
  /** unix only. */
  socketPath?: string;
  user: string;
  /** Non-enumerable. */
  password?: string;
  database: string;
  tls: MysqlTlsMode;
  connectTimeoutMs?: number;
  readTimeoutMs?: number;
  writeTimeoutMs?: number;
}

export type DbConnectionSpec = PgConnectionSpec | MysqlConnectionSpec;

/** Normalises SqlSettings.DriverName. */
export function normaliseDriverName(driverName: string | undefined): 'postgres' | 'mysql' {
  const d = (driverName ?? '').trim().toLowerCase();
  if (d === 'postgres' || d === 'postgresql') return 'postgres';
  if (d === 'mysql') return 'mysql';
  throw new DsnError('unsupported-driver', driverName ?? '', 'SqlSettings.DriverName must be "postgres" or "mysql"');
}

/** Parses SqlSettings.DataSource for SqlSettings.DriverName. Throws DsnError. */
export function parseDataSource(driverName: string | undefined, dataSource: string | undefined): DbConnectionSpec {
  const driver = normaliseDriverName(driverName);
  const dsn = (dataSource ?? '').trim();
  if (dsn === '') throw new DsnError('empty', driver, 'DataSource is empty');
  return driver === 'postgres' ? parsePostgresDsn(dsn) : parseMysqlDsn(dsn);
}

function setPassword<T extends object>(spec: T, password: string | undefined): T {
  if (password !== undefined) {
    Object.defineProperty(spec, 'password', {value: password, enumerable: false, writable: false, configurable: false});
  }
  return spec;
}

// ---------------------------------------------------------------- PostgreSQL

function pgError(code: DsnErrorCode, detail: string): DsnError {
  return new DsnError(code, 'postgres', detail);
}

function percentDecode(s: string, what: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw pgError('malformed', `invalid percent-encoding in the ${what}`);
  }
}

/** Parses a lib/pq URL or key=value DSN. */
export function parsePostgresDsn(dsn: string): PgConnectionSpec {
  const kv = /^postgres(ql)?:\/\//i.test(dsn) ? pgUrlToPairs(dsn) : pgParseKeyValue(dsn);
  return pgPairsToSpec(kv);
}

/** Like lib/pq: the URL becomes key=value pairs, then the query parameters override them. */
function pgUrlToPairs(dsn: string): Map<string, string> {
  const pairs = new Map<string, string>();
  let rest = dsn.slice(dsn.indexOf('://') + 3);
  const hash = rest.indexOf('#');
  if (hash >= 0) rest = rest.slice(0, hash);
  let query = '';
  const q = rest.indexOf('?');
  // The authority ends at the first '/', '?' (Go's url.Parse: getScheme, then "//" authority).
  const slash = rest.indexOf('/');
  let authorityEnd = rest.length;
  if (slash >= 0) authorityEnd = slash;
  if (q >= 0 && q < authorityEnd) authorityEnd = q;
  const authority = rest.slice(0, authorityEnd);
  let pathAndQuery = rest.slice(authorityEnd);
  const q2 = pathAndQuery.indexOf('?');
  if (q2 >= 0) {
    query = pathAndQuery.slice(q2 + 1);
    pathAndQuery = pathAndQuery.slice(0, q2);
  }

  const at = authority.lastIndexOf('@');
  const hostPort = at >= 0 ? authority.slice(at + 1) : authority;
  if (at >= 0) {
    const userinfo = authority.slice(0, at);
    const colon = userinfo.indexOf(':');
    const user = percentDecode(colon >= 0 ? userinfo.slice(0, colon) : userinfo, 'user name');
    if (user !== '') pairs.set('user', user);
    if (colon >= 0) pairs.set('password', percentDecode(userinfo.slice(colon + 1), 'password'));
  }
  if (hostPort !== '') {
    let host: string;
    let port = '';
    if (hostPort.startsWith('[')) {
      const close = hostPort.indexOf(']');
      if (close < 0) throw pgError('malformed', 'unterminated [IPv6] host');
      host = hostPort.slice(1, close);
      const after = hostPort.slice(close + 1);
      if (after !== '') {
        if (!after.startsWith(':')) throw pgError('malformed', 'unexpected text after the [IPv6] host');
        port = after.slice(1);
      }
    } else {
      const colon = hostPort.lastIndexOf(':');
      host = colon >= 0 ? hostPort.slice(0, colon) : hostPort;
      port = colon >= 0 ? hostPort.slice(colon + 1) : '';
    }
    host = percentDecode(host, 'host');
    if (host !== '') pairs.set('host', host);
    if (port !== '') pairs.set('port', port);
  }
  const dbname = pathAndQuery.replace(/^\//, '');
  if (dbname !== '') pairs.set('dbname', percentDecode(dbname, 'database name'));

  if (query !== '') {
    for (const part of query.split('&')) {
      if (part === '') continue;
      const eq = part.indexOf('=');
      const key = percentDecode((eq >= 0 ? part.slice(0, eq) : part).replace(/\+/g, ' '), 'query');
      const value = eq >= 0 ? percentDecode(part.slice(eq + 1).replace(/\+/g, ' '), 'query') : '';
      pairs.set(key, value);
    }
  }
  return pairs;
}

/** libpq key=value syntax: values may be 'single quoted'; backslash escapes ' and \. */
function pgParseKeyValue(dsn: string): Map<string, string> {
  const pairs = new Map<string, string>();
  let i = 0;
  const n = dsn.length;
  const isSpace = (c: string): boolean => c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\f' || c === '\v';
  while (true) {
    while (i < n && isSpace(dsn[i])) i++;
    if (i >= n) break;
    let key = '';
    while (i < n && dsn[i] !== '=' && !isSpace(dsn[i])) key += dsn[i++];
    while (i < n && isSpace(dsn[i])) i++;
    if (key === '' || i >= n || dsn[i] !== '=') {
      // The offending text is not quoted: it may be (part of) a password.
      throw pgError('malformed', `expected "key=value" pairs (problem at character ${i + 1})`);
    }
    i++; // '='
    while (i < n && isSpace(dsn[i])) i++;
    let value = '';
    if (i < n && dsn[i] === "'") {
      i++;
      let closed = false;
      while (i < n) {
        const c = dsn[i];
        if (c === '\\' && i + 1 < n) {
          value += dsn[i + 1];
          i += 2;
        } else if (c === "'") {
          i++;
          closed = true;
          break;
        } else {
          value += c;
          i++;
        }
      }
      if (!closed) throw pgError('malformed', `unterminated quoted value for key "${key.slice(0, 30)}"`);
    } else {
      while (i < n && !isSpace(dsn[i])) {
        if (dsn[i] === '\\' && i + 1 < n) {
          value += dsn[i + 1];
          i += 2;
        } else value += dsn[i++];
      }
    }
    pairs.set(key, value);
  }
  if (pairs.size === 0) throw pgError('malformed', 'no key=value pairs');
  return pairs;
}

function parsePort(raw: string, driver: string): number {
  if (!/^\d{1,5}$/.test(raw)) throw new DsnError('bad-port', driver, 'the port is not a number');
  const port = Number(raw);
  if (port < 1 || port > 65535) throw new DsnError('bad-port', driver, `port ${port} is out of range`);
  return port;
}

function pgPairsToSpec(pairs: Map<string, string>): PgConnectionSpec {
  const get = (k: string): string | undefined => {
    const v = pairs.get(k);
    return v === undefined || v === '' ? undefined : v;
  };
  const user = get('user');
  if (!user) throw pgError('missing-user', 'no user name');
  const host = get('host') ?? 'localhost';
  if (host.includes(',')) throw pgError('unsupported', 'several hosts (multi-host DSNs) are not supported');
  const port = parsePort(get('port') ?? '5432', 'postgres');
  // libpq: dbname defaults to the user name.
  const database = get('dbname') ?? user;
  const rawMode = get('sslmode');
  let sslmode: PgSslMode = 'prefer';
  if (rawMode !== undefined) {
    if (!(PG_SSLMODES as readonly string[]).includes(rawMode)) {
      throw pgError('unsupported', `sslmode "${rawMode.slice(0, 30)}" is not one of ${PG_SSLMODES.join(', ')}`);
    }
    sslmode = rawMode as PgSslMode;
  }
  let connectTimeoutMs: number | undefined;
  const ct = get('connect_timeout');
  if (ct !== undefined) {
    if (!/^-?\d+$/.test(ct)) throw pgError('bad-param', 'connect_timeout is not a whole number of seconds');
    const s = Number(ct);
    if (s > 0) connectTimeoutMs = Math.max(s, 2) * 1000; // libpq: values below 2 s are raised to 2 s
  }
  const opts: string[] = [];
  const options = get('options');
  if (options) opts.push(options);
  const searchPath = get('search_path');
  if (searchPath) opts.push(`-c search_path=${searchPath.replace(/([\\ ])/g, '\\$1')}`);
  const spec: PgConnectionSpec = {
    driver: 'postgres',
    host,
    port,
    user,
    database,
    sslmode,
    sslmodeDefaulted: rawMode === undefined,
  };
  const rootcert = get('sslrootcert');
  if (rootcert) spec.sslrootcert = rootcert;
  const cert = get('sslcert');
  if (cert) spec.sslcert = cert;
  const key = get('sslkey');
  if (key) spec.sslkey = key;
  if (connectTimeoutMs !== undefined) spec.connectTimeoutMs = connectTimeoutMs;
  const app = get('application_name') ?? get('fallback_application_name');
  if (app) spec.applicationName = app;
  if (opts.length > 0) spec.options = opts.join(' ');
  return setPassword(spec, pairs.get('password'));
}

// ---------------------------------------------------------------- MySQL

function myError(code: DsnErrorCode, detail: string): DsnError {
  return new DsnError(code, 'mysql', detail);
}

const GO_DURATION_UNITS: Record<string, number> = {ns: 1e-6, us: 1e-3, 'µs': 1e-3, 'μs': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000};

/** Go's time.ParseDuration, in milliseconds. */
export function parseGoDuration(s: string): number | undefined {
  if (s === '0') return 0;
  const re = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/gy;
  let total = 0;
  let matched = 0;
  let sign = 1;
  let body = s;
  if (body.startsWith('-') || body.startsWith('+')) {
    if (body[0] === '-') sign = -1;
    body = body.slice(1);
  }
  if (body === '') return undefined;
  re.lastIndex = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(body)) !== null) {
    total += Number(m[1]) * GO_DURATION_UNITS[m[2]];
    matched = re.lastIndex;
  }
  if (matched !== body.length) return undefined;
  return sign * total;
}

/** Parses a go-sql-driver/mysql DSN (ParseDSN's splitting rules). */
export function parseMysqlDsn(dsn: string): MysqlConnectionSpec {
  if (/^mysql:\/\//i.test(dsn)) {
    throw myError('malformed', 'a URL (mysql://…) is not a go-sql-driver DSN; expected user:password@tcp(host:port)/dbname?params');
  }
  const slash = dsn.lastIndexOf('/');
  if (slash < 0) throw myError('malformed', 'missing the "/" that separates the database name');
  let user = '';
  let password: string | undefined;
  let net = '';
  let addr = '';
  if (slash > 0) {
    const left = dsn.slice(0, slash);
    const at = left.lastIndexOf('@');
    let netStart = 0;
    if (at >= 0) {
      const userinfo = left.slice(0, at);
      const colon = userinfo.indexOf(':');
      user = colon >= 0 ? userinfo.slice(0, colon) : userinfo;
      if (colon >= 0) password = userinfo.slice(colon + 1);
      netStart = at + 1;
    }
    const netAddr = left.slice(netStart);
    const paren = netAddr.indexOf('(');
    if (paren >= 0) {
      if (!netAddr.endsWith(')')) {
        throw myError(
          'malformed',
          netAddr.slice(paren + 1).includes(')')
            ? 'did you forget to escape a parameter value? (text after the network address)'
            : 'the network address is not terminated (missing closing parenthesis)',
        );
      }
      net = netAddr.slice(0, paren);
      addr = netAddr.slice(paren + 1, -1);
    } else {
      net = netAddr;
    }
  }
  const afterSlash = dsn.slice(slash + 1);
  const q = afterSlash.indexOf('?');
  const rawDb = q >= 0 ? afterSlash.slice(0, q) : afterSlash;
  let database: string;
  try {
    database = decodeURIComponent(rawDb);
  } catch {
    throw myError('malformed', 'invalid percent-encoding in the database name');
  }
  const params = new Map<string, string>();
  if (q >= 0) {
    for (const part of afterSlash.slice(q + 1).split('&')) {
      const eq = part.indexOf('=');
      if (eq < 0) continue; // go-sql-driver skips parameters without '='
      let value = part.slice(eq + 1);
      try {
        value = decodeURIComponent(value.replace(/\+/g, ' '));
      } catch {
        throw myError('bad-param', `invalid percent-encoding in parameter "${part.slice(0, eq).slice(0, 30)}"`);
      }
      params.set(part.slice(0, eq), value);
    }
  }

  if (user === '') throw myError('missing-user', 'no user name');
  if (database === '') throw myError('missing-database', 'no database name after "/"');

  if (net === '') net = 'tcp';
  const spec: MysqlConnectionSpec = {driver: 'mysql', net: 'tcp', user, database, tls: 'false'};
  if (net === 'tcp' || net === 'tcp4' || net === 'tcp6') {
    spec.net = 'tcp';
    const a = addr === '' ? '127.0.0.1:3306' : addr;
    let host: string;
    let port = '3306';
    if (a.startsWith('[')) {
      const close = a.indexOf(']');
      if (close < 0) throw myError('malformed', 'unterminated [IPv6] address');
      host = a.slice(1, close);
      const after = a.slice(close + 1);
      if (after.startsWith(':')) port = after.slice(1);
      else if (after !== '') throw myError('malformed', 'unexpected text after the [IPv6] address');
    } else {
      const colon = a.lastIndexOf(':');
      if (colon >= 0 && a.indexOf(':') !== colon) {
        host = a; // bare IPv6 without port
      } else {
        host = colon >= 0 ? a.slice(0, colon) : a;
        if (colon >= 0) port = a.slice(colon + 1);
      }
    }
    spec.host = host === '' ? '127.0.0.1' : host;
    spec.port = parsePort(port, 'mysql');
  } else if (net === 'unix') {
    spec.net = 'unix';
    spec.socketPath = addr === '' ? '/tmp/mysql.sock' : addr;
  } else {
    // Not echoed: without an '@' this text would be "user:password".
    throw myError('unsupported', 'the network before "(" / "/" is not tcp or unix (expected user:password@tcp(host:port)/dbname)');
  }

  const tls = params.get('tls');
  if (tls !== undefined) {
    const t = tls.toLowerCase();
    if (t === 'true' || t === '1') spec.tls = 'true';
    else if (t === 'false' || t === '0' || t === '') spec.tls = 'false';
    else if (t === 'skip-verify') spec.tls = 'skip-verify';
    else if (t === 'preferred') spec.tls = 'preferred';
    else throw myError('unsupported', `tls="${tls.slice(0, 30)}" names a TLS config registered in Go code; only true, false, skip-verify, preferred are supported`);
  }
  const durations: Array<[string, 'connectTimeoutMs' | 'readTimeoutMs' | 'writeTimeoutMs']> = [
    ['timeout', 'connectTimeoutMs'],
    ['readTimeout', 'readTimeoutMs'],
    ['writeTimeout', 'writeTimeoutMs'],
  ];
  for (const [param, field] of durations) {
    const raw = params.get(param);
    if (raw === undefined) continue;
    const ms = parseGoDuration(raw);
    if (ms === undefined || ms < 0) throw myError('bad-param', `${param} is not a Go duration (e.g. 30s)`);
    if (ms > 0) spec[field] = ms;
  }
  return setPassword(spec, password);
}

// ---------------------------------------------------------------- redaction

function bracketHost(h: string): string {
  return h.includes(':') ? `[${h}]` : h;
}

/** A loggable description of a parsed spec: the password is always `***`. */
export function describeSpec(spec: DbConnectionSpec): string {
  const pw = spec.password !== undefined ? ':***' : '';
  if (spec.driver === 'postgres') {
    const host = spec.host.startsWith('/') ? `${encodeURIComponent(spec.host)}` : bracketHost(spec.host);
    return `postgres://${encodeURIComponent(spec.user)}${pw}@${host}:${spec.port}/${encodeURIComponent(spec.database)}?sslmode=${spec.sslmode}`;
  }
  const addr = spec.net === 'unix' ? `unix(${spec.socketPath})` : `tcp(${bracketHost(spec.host ?? '')}:${spec.port})`;
  return `${spec.user}${pw}@${addr}/${spec.database}${spec.tls !== 'false' ? `?tls=${spec.tls}` : ''}`;
}

/**
 * A loggable form of a DataSource: parsed and re-rendered with the password as `***`.
 * A DSN that does not parse is not echoed at all (it may hold a password anywhere).
 */
export function redactDataSource(driverName: string | undefined, dataSource: string | undefined): string {
  try {
    return describeSpec(parseDataSource(driverName, dataSource));
  } catch {
    return `[unparseable ${String(driverName ?? '').slice(0, 20) || 'unknown-driver'} DataSource, ${(dataSource ?? '').length} chars, redacted]`;
  }
}
