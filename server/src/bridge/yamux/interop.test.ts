// Interop against real Go hashicorp/yamux (the arbiter): Debian's
// golang-github-hashicorp-yamux-dev, driven by testdata/gointerop/main.go.
// The Go packages are installed with apt-get when missing (as root, e.g. in CI).
//
// Not tested against Debian's (2019) yamux *server*: after it half-closes its own
// side, its Read returns EOF early (fixed upstream in v0.1.x), so the Go server in
// the reverse test only closes a stream after reading the whole echo.

import assert from 'node:assert/strict';
import {spawn} from 'node:child_process';
import {once} from 'node:events';
import type net from 'node:net';
import {before, describe, it, type TestContext} from 'node:test';
import {Session} from './session.ts';
import type {Stream} from './stream.ts';
import {ensureGoInterop, type GoBuild} from './testing/go-interop.ts';
import {echoServer, random, Reader, roundTrip, sleep, waitFor, watchClose, withTimeout} from './testing/helpers.ts';
import {listenUnix} from './testing/pairs.ts';
import {Sniffer} from './testing/sniffer.ts';

interface GoRun {
  exit: Promise<number | null>;
  stdout: () => string;
  stderr: () => string;
}

function startGo(binary: string, args: string[]): GoRun {
  const child = spawn(binary, args, {stdio: ['ignore', 'pipe', 'pipe']});
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exit = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return {exit, stdout: () => stdout, stderr: () => stderr};
}

function okLines(out: string, name: string): number {
  return out.split('\n').filter((l) => l.startsWith(`OK ${name} `)).length;
}

function checkGoOutput(t: TestContext, run: GoRun, code: number | null): void {
  const out = run.stdout();
  const err = run.stderr();
  t.diagnostic(`go stdout:\n${out.trim()}`);
  const warnings = err.split('\n').filter((l) => l.includes('[WARN]'));
  if (warnings.length > 0) t.diagnostic(`go yamux warnings (${warnings.length}): ${warnings.slice(0, 5).join(' | ')}`);
  assert.doesNotMatch(out, /^FAIL /m, `Go reported failures:\n${out}\n${err}`);
  assert.match(out, /^DONE pass=\d+ fail=0$/m, `Go did not finish cleanly:\n${out}\n${err}`);
  assert.equal(code, 0, `Go exit code ${code}\n${err}`);
  assert.doesNotMatch(err, /\[ERR\]/, `Go yamux logged errors:\n${err}`);
}

// The suite timeout leaves room for a first-time apt-get install in before().
describe('interop with Go hashicorp/yamux', {concurrency: true, timeout: 900_000}, () => {
  let build: GoBuild = {binary: null, note: 'not built'};
  before(() => {
    build = ensureGoInterop();
  });

  it('Go client (the Mattermost role) ↔ our server: echo, FIN/EOF, our stream, pings, keepalive, clean close', {timeout: 60_000}, async (t) => {
    if (build.binary === null) {
      t.skip(build.note);
      return;
    }
    const listener = await listenUnix();
    try {
      const connection = once(listener.server, 'connection') as Promise<[net.Socket]>;
      const go = startGo(build.binary, ['-role', 'client', '-sock', listener.path, '-duration', '10s', '-keepalive', '1s', '-write-timeout', '3s']);
      const [sock] = await withTimeout(connection, 5000, 'Go to connect');
      const sniff = Sniffer.attach(sock);
      const session = new Session(sock, 'server', {keepAliveIntervalMs: 1000, connectionWriteTimeoutMs: 3000});
      const closeWatch = watchClose(session);
      const served = echoServer(session);

      // A stream of our own (even id), echoed by Go until our FIN.
      await sleep(500);
      const own = session.open();
      assert.equal(own.id % 2, 0);
      const ownReader = new Reader(own);
      const payload = random(1024 * 1024);
      own.end(payload);
      assert.ok((await ownReader.read(payload.length, 15_000)).equals(payload), 'our stream echoed');
      await ownReader.eof();

      const rtts = [await session.ping(), await session.ping(), await session.ping()];
      t.diagnostic(`our ping RTTs (ms): ${rtts.map((r) => r.toFixed(2)).join(', ')}`);

      const code = await withTimeout(go.exit, 25_000, 'Go to exit');
      assert.equal(await closeWatch.wait(5000), undefined, 'session ends cleanly when Go closes');
      checkGoOutput(t, go, code);
      const out = go.stdout();
      assert.equal(okLines(out, 'echo'), 9);
      assert.equal(okLines(out, 'eof'), 3);
      assert.equal(okLines(out, 'ping'), 3);
      assert.equal(okLines(out, 'peer-opened-echo'), 1);
      assert.equal(okLines(out, 'streams-closed'), 1);
      assert.equal(served.length, 3);
      served.forEach((s: Stream) => assert.equal(s.id % 2, 1));

      assert.deepEqual(sniff.violations, []);
      const goPings = sniff.count('in', 'Ping/SYN');
      t.diagnostic(`Go pings answered: ${sniff.count('out', 'Ping/ACK')}/${goPings}; ours: ${sniff.count('in', 'Ping/ACK')}/${sniff.count('out', 'Ping/SYN')}`);
      assert.ok(goPings >= 6, `Go keepalive pings: ${goPings}`);
      assert.equal(sniff.count('out', 'Ping/ACK'), goPings, 'every Go ping answered');
      assert.ok(sniff.count('out', 'Ping/SYN') >= 3 + 6, 'our keepalive ran');
      assert.equal(sniff.count('in', 'Ping/ACK'), sniff.count('out', 'Ping/SYN'), 'Go answered all our pings');
      assert.equal(sniff.count('out', 'WindowUpdate/RST'), 0);
    } finally {
      listener.close();
    }
  });

  it('our client ↔ Go server: echo, FIN/EOF, Go-opened stream, pings, our close', {timeout: 60_000}, async (t) => {
    if (build.binary === null) {
      t.skip(build.note);
      return;
    }
    const listener = await listenUnix();
    try {
      const connection = once(listener.server, 'connection') as Promise<[net.Socket]>;
      const go = startGo(build.binary, ['-role', 'server', '-sock', listener.path, '-duration', '20s', '-keepalive', '1s', '-write-timeout', '3s']);
      const [sock] = await withTimeout(connection, 5000, 'Go to connect');
      const sniff = Sniffer.attach(sock);
      const session = new Session(sock, 'client', {keepAliveIntervalMs: 1000, connectionWriteTimeoutMs: 3000});
      const closeWatch = watchClose(session);
      const served = echoServer(session);

      await Promise.all(
        [0, 1, 2].map(async () => {
          const stream = session.open();
          assert.equal(stream.id % 2, 1);
          const reader = new Reader(stream);
          for (const size of [10, 300 * 1024, 5 * 1024 * 1024]) {
            const data = random(size);
            assert.ok((await roundTrip(stream, reader, data)).equals(data), `echo of ${size} bytes`);
          }
          stream.end();
          await reader.eof();
        }),
      );
      for (let i = 0; i < 3; i++) await session.ping();
      // Let Go finish its own stream and send a couple of keepalive pings (3 explicit + 2).
      await waitFor(() => served.length === 1 && served[0].readableEnded && sniff.count('in', 'Ping/SYN') >= 5, 10_000, 'Go’s stream and pings');
      await waitFor(() => session.numStreams === 0, 5000, 'all streams closed');
      session.close();
      assert.equal(await closeWatch.wait(), undefined);

      const code = await withTimeout(go.exit, 10_000, 'Go to exit');
      checkGoOutput(t, go, code);
      const out = go.stdout();
      assert.equal(okLines(out, 'own-stream-echo'), 1);
      assert.equal(okLines(out, 'peer-opened-echo'), 3);
      assert.equal(okLines(out, 'ping'), 3);
      assert.equal(okLines(out, 'peer-close'), 1);
      assert.equal(served[0].id % 2, 0);
      assert.deepEqual(sniff.violations, []);
      assert.equal(sniff.count('out', 'Ping/ACK'), sniff.count('in', 'Ping/SYN'), 'every Go ping answered');
    } finally {
      listener.close();
    }
  });
});
