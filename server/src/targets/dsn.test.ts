import assert from 'node:assert/strict';
import {inspect} from 'node:util';
import {test} from 'node:test';
import {DsnError, type DsnErrorCode, describeSpec, parseDataSource, parseGoDuration, redactDataSource} from './dsn.ts';

interface Case {
  name: string;
  driver: string;
  dsn: string;
  want: Record<string, unknown>;
  password?: string;
}

const ok: Case[] = [
  {
    name: 'mattermost default postgres URL',
    driver: 'postgres',
    dsn: 'postgres://mmuser:mostest@localhost/mattermost_test?sslmode=disable&connect_timeout=10&binary_parameters=yes',
    want: {host: 'localhost', port: 5432, user: 'mmuser', database: 'mattermost_test', sslmode: 'disable', connectTimeoutMs: 10_000},
    password: 'mostest',
  },
  {
    name: 'postgresql:// scheme, port, raw @ and : in password (Go splits at the last @)',
    driver: 'postgresql',
    dsn: 'postgresql://mm:p@ss:w@rd@db.example.com:6432/mm?sslmode=require',
    want: {host: 'db.example.com', port: 6432, user: 'mm', database: 'mm', sslmode: 'require', sslmodeDefaulted: false},
    password: 'p@ss:w@rd',
  },
  {
    name: 'percent-encoded / and % in password',
    driver: 'postgres',
    dsn: 'postgres://mm:a%2Fb%25c%40d@10.0.0.5:5432/mattermost?sslmode=verify-full&sslrootcert=/etc/ssl/ca.pem',
    want: {host: '10.0.0.5', user: 'mm', sslmode: 'verify-full', sslrootcert: '/etc/ssl/ca.pem'},
    password: 'a/b%c@d',
  },
  {
    name: 'IPv6 host',
    driver: 'postgres',
    dsn: 'postgres://mm:x@[::1]:5433/db',
    want: {host: '::1', port: 5433, sslmode: 'prefer', sslmodeDefaulted: true},
    password: 'x',
  },
  {
    name: 'query parameters override, unix socket dir, search_path',
    driver: 'postgres',
    dsn: 'postgres://mm@/mattermost?host=/var/run/postgresql&port=5444&search_path=mm_schema&application_name=x',
    want: {host: '/var/run/postgresql', port: 5444, options: '-c search_path=mm_schema', applicationName: 'x'},
  },
  {
    name: 'password in query parameter',
    driver: 'postgres',
    dsn: 'postgres://localhost/db?user=mm&password=s3cr%26t',
    want: {user: 'mm', database: 'db'},
    password: 's3cr&t',
  },
  {
    name: 'dbname defaults to user (libpq)',
    driver: 'postgres',
    dsn: 'postgres://mm:pw@h',
    want: {database: 'mm', host: 'h', port: 5432},
    password: 'pw',
  },
  {
    name: 'key=value form with quoted value and escapes',
    driver: 'postgres',
    dsn: "host=db.internal port=5432 user=mmuser password='it\\'s a p@ss:w/rd' dbname=mattermost sslmode=disable connect_timeout=1",
    want: {host: 'db.internal', user: 'mmuser', database: 'mattermost', sslmode: 'disable', connectTimeoutMs: 2000},
    password: "it's a p@ss:w/rd",
  },
  {
    name: 'key=value with spaces around =',
    driver: 'postgres',
    dsn: 'user = mm password = pw host = h',
    want: {user: 'mm', host: 'h', database: 'mm'},
    password: 'pw',
  },
  {
    name: 'mattermost default mysql DSN',
    driver: 'mysql',
    dsn: 'mmuser:mostest@tcp(localhost:3306)/mattermost_test?charset=utf8mb4,utf8&readTimeout=30s&writeTimeout=30s',
    want: {net: 'tcp', host: 'localhost', port: 3306, user: 'mmuser', database: 'mattermost_test', tls: 'false', readTimeoutMs: 30_000, writeTimeoutMs: 30_000},
    password: 'mostest',
  },
  {
    name: 'mysql password with @ : / (last @, first :, last /)',
    driver: 'mysql',
    dsn: 'mm:p@s:s/w@rd@tcp(db:3307)/mattermost?tls=skip-verify&timeout=1m30s',
    want: {host: 'db', port: 3307, user: 'mm', database: 'mattermost', tls: 'skip-verify', connectTimeoutMs: 90_000},
    password: 'p@s:s/w@rd',
  },
  {
    name: 'mysql password is verbatim (no percent decoding)',
    driver: 'mysql',
    dsn: 'mm:a%2Fb@tcp(db)/mm',
    want: {host: 'db', port: 3306},
    password: 'a%2Fb',
  },
  {
    name: 'mysql unix socket',
    driver: 'mysql',
    dsn: 'mm:pw@unix(/run/mysqld/mysqld.sock)/mattermost?tls=false',
    want: {net: 'unix', socketPath: '/run/mysqld/mysqld.sock', database: 'mattermost'},
    password: 'pw',
  },
  {
    name: 'mysql default address, no password',
    driver: 'mysql',
    dsn: 'mm@/mattermost',
    want: {net: 'tcp', host: '127.0.0.1', port: 3306, user: 'mm'},
  },
  {
    name: 'mysql IPv6',
    driver: 'mysql',
    dsn: 'mm:pw@tcp([fd00::1]:3306)/mm?tls=true',
    want: {host: 'fd00::1', port: 3306, tls: 'true'},
    password: 'pw',
  },
];

for (const c of ok) {
  test(`parseDataSource: ${c.name}`, () => {
    const spec = parseDataSource(c.driver, c.dsn);
    for (const [k, v] of Object.entries(c.want)) assert.deepEqual((spec as unknown as Record<string, unknown>)[k], v, k);
    assert.equal(spec.password, c.password);
    // The password never shows when the spec is serialised or inspected.
    if (c.password) {
      assert.ok(!JSON.stringify(spec).includes(c.password), 'JSON.stringify hides the password');
      assert.ok(!inspect(spec, {depth: 5}).includes(c.password), 'inspect hides the password');
      assert.ok(!describeSpec(spec).includes(c.password), 'describeSpec hides the password');
      assert.ok(describeSpec(spec).includes(':***@'));
    }
  });
}

const bad: Array<{name: string; driver: string; dsn: string; code: DsnErrorCode; secret?: string}> = [
  {name: 'unknown driver', driver: 'sqlite3', dsn: 'x', code: 'unsupported-driver'},
  {name: 'empty', driver: 'postgres', dsn: '  ', code: 'empty'},
  {name: 'pg no user', driver: 'postgres', dsn: 'postgres://db.example.com/mm', code: 'missing-user'},
  {name: 'pg bad port', driver: 'postgres', dsn: 'postgres://mm:Secr3tPw@h:99999/mm', code: 'bad-port', secret: 'Secr3tPw'},
  {name: 'pg non-numeric port', driver: 'postgres', dsn: 'postgres://mm:Secr3tPw@h:abc/mm', code: 'bad-port', secret: 'Secr3tPw'},
  {name: 'pg bad percent escape', driver: 'postgres', dsn: 'postgres://mm:Secr3t%zzPw@h/mm', code: 'malformed', secret: 'Secr3t'},
  {name: 'pg unknown sslmode', driver: 'postgres', dsn: 'postgres://mm:Secr3tPw@h/mm?sslmode=bogus', code: 'unsupported', secret: 'Secr3tPw'},
  {name: 'pg multi-host', driver: 'postgres', dsn: 'postgres://mm:Secr3tPw@h1,h2/mm', code: 'unsupported', secret: 'Secr3tPw'},
  {name: 'pg kv unterminated quote', driver: 'postgres', dsn: "user=mm password='Secr3tPw", code: 'malformed', secret: 'Secr3tPw'},
  {name: 'pg kv garbage', driver: 'postgres', dsn: 'just-a-word', code: 'malformed'},
  {name: 'pg bad connect_timeout', driver: 'postgres', dsn: 'postgres://mm:Secr3tPw@h/mm?connect_timeout=ten', code: 'bad-param', secret: 'Secr3tPw'},
  {name: 'mysql no slash', driver: 'mysql', dsn: 'mm:Secr3tPw@tcp(h:3306)', code: 'malformed', secret: 'Secr3tPw'},
  {name: 'mysql unterminated address', driver: 'mysql', dsn: 'mm:Secr3tPw@tcp(h:3306/mm', code: 'malformed', secret: 'Secr3tPw'},
  {name: 'mysql unescaped param after address', driver: 'mysql', dsn: 'mm:Secr3tPw@tcp(h:3306)x/mm', code: 'malformed', secret: 'Secr3tPw'},
  {name: 'mysql no database', driver: 'mysql', dsn: 'mm:Secr3tPw@tcp(h:3306)/', code: 'missing-database', secret: 'Secr3tPw'},
  {name: 'mysql no user', driver: 'mysql', dsn: 'tcp(h:3306)/mm', code: 'missing-user'},
  {name: 'mysql URL form', driver: 'mysql', dsn: 'mysql://mm:Secr3tPw@h/mm', code: 'malformed', secret: 'Secr3tPw'},
  {name: 'mysql unsupported net', driver: 'mysql', dsn: 'mm:Secr3tPw@cloudsql(p:r:i)/mm', code: 'unsupported', secret: 'Secr3tPw'},
  {name: 'mysql missing @ (user:password taken as network)', driver: 'mysql', dsn: 'mm:Secr3tPw/mm', code: 'missing-user', secret: 'Secr3tPw'},
  {name: 'pg kv password without key', driver: 'postgres', dsn: 'user=mm Secr3tPw', code: 'malformed', secret: 'Secr3tPw'},
  {name: 'mysql custom tls config', driver: 'mysql', dsn: 'mm:Secr3tPw@tcp(h)/mm?tls=custom', code: 'unsupported', secret: 'Secr3tPw'},
  {name: 'mysql bad timeout', driver: 'mysql', dsn: 'mm:Secr3tPw@tcp(h)/mm?readTimeout=30', code: 'bad-param', secret: 'Secr3tPw'},
  {name: 'mysql bad port', driver: 'mysql', dsn: 'mm:Secr3tPw@tcp(h:0)/mm', code: 'bad-port', secret: 'Secr3tPw'},
];

for (const c of bad) {
  test(`parseDataSource rejects: ${c.name}`, () => {
    assert.throws(
      () => parseDataSource(c.driver, c.dsn),
      (err: unknown) => {
        assert.ok(err instanceof DsnError, `DsnError, got ${String(err)}`);
        assert.equal(err.code, c.code, err.message);
        if (c.secret) {
          assert.ok(!err.message.includes(c.secret), `message leaks the password: ${err.message}`);
          assert.ok(!err.message.includes(c.dsn), 'message contains the DSN');
        }
        return true;
      },
    );
  });
}

test('redactDataSource: parsed DSNs are re-rendered with ***; unparseable ones are not echoed', () => {
  assert.equal(
    redactDataSource('postgres', 'postgres://mmuser:mostest@db:5432/mattermost?sslmode=disable&connect_timeout=10'),
    'postgres://mmuser:***@db:5432/mattermost?sslmode=disable',
  );
  assert.equal(redactDataSource('postgres', "host=db user=mm password='x y' dbname=m"), 'postgres://mm:***@db:5432/m?sslmode=prefer');
  assert.equal(redactDataSource('postgres', 'postgres://mm@db/m'), 'postgres://mm@db:5432/m?sslmode=prefer');
  assert.equal(
    redactDataSource('mysql', 'mmuser:p@s:s/w@rd@tcp(db:3306)/mattermost?charset=utf8mb4,utf8&readTimeout=30s'),
    'mmuser:***@tcp(db:3306)/mattermost',
  );
  assert.equal(redactDataSource('mysql', 'mm:pw@unix(/s.sock)/m?tls=preferred'), 'mm:***@unix(/s.sock)/m?tls=preferred');
  const r = redactDataSource('mysql', 'mm:TopSecret@tcp(h:3306');
  assert.ok(!r.includes('TopSecret'), r);
  assert.match(r, /redacted/);
});

test('parseGoDuration', () => {
  assert.equal(parseGoDuration('30s'), 30_000);
  assert.equal(parseGoDuration('1m30s'), 90_000);
  assert.equal(parseGoDuration('1.5h'), 5_400_000);
  assert.equal(parseGoDuration('250ms'), 250);
  assert.equal(parseGoDuration('0'), 0);
  assert.equal(parseGoDuration('30'), undefined);
  assert.equal(parseGoDuration('s'), undefined);
  assert.equal(parseGoDuration('10x'), undefined);
});
