// TS↔TS loopback: one body per behaviour, run over a unix socket, TCP loopback and
// an in-memory duplex pair. The client end is tapped by a frame sniffer that checks
// flow control in both directions.

import assert from 'node:assert/strict';
import {describe, it} from 'node:test';
import type {YamuxConfig} from './config.ts';
import {RemoteGoAwayError, SessionClosedError, StreamResetError} from './errors.ts';
import {Session} from './session.ts';
import {echoServer, quiet, random, Reader, roundTrip, sleep, waitFor, watchClose, type CloseWatch} from './testing/helpers.ts';
import {makePair, PAIR_KINDS, type PairKind} from './testing/pairs.ts';
import {Sniffer} from './testing/sniffer.ts';

interface Ctx {
  client: Session;
  server: Session;
  sniff: Sniffer;
  clientClose: CloseWatch;
  serverClose: CloseWatch;
}

async function withSessions(kind: PairKind, body: (ctx: Ctx) => Promise<void>, config?: Partial<YamuxConfig>): Promise<void> {
  const pair = await makePair(kind);
  const sniff = Sniffer.attach(pair.a);
  const client = new Session(pair.a, 'client', config);
  const server = new Session(pair.b, 'server', config);
  const ctx = {client, server, sniff, clientClose: watchClose(client), serverClose: watchClose(server)};
  try {
    await body(ctx);
    assert.deepEqual(sniff.violations, [], 'flow control respected');
  } finally {
    client.close();
    server.close();
    await pair.cleanup();
  }
}

for (const kind of PAIR_KINDS) {
  describe(`Session loopback over ${kind}`, () => {
    it('opens and accepts in both roles with the right id parity', async () => {
      await withSessions(kind, async ({client, server, sniff}) => {
        const c1 = quiet(client.open());
        const c3 = quiet(client.open());
        const s2 = quiet(server.open());
        assert.deepEqual([c1.id, c3.id, s2.id], [1, 3, 2]);
        c1.write('from client');
        const a1 = quiet(await server.accept());
        const a3 = quiet(await server.accept());
        assert.deepEqual([a1.id, a3.id], [1, 3]);
        assert.equal((await new Reader(a1).read(11)).toString(), 'from client');
        s2.write('from server');
        const b2 = quiet(await client.accept());
        assert.equal(b2.id, 2);
        assert.equal((await new Reader(b2).read(11)).toString(), 'from server');
        assert.equal(quiet(server.open()).id, 4);
        await waitFor(() => sniff.count('in', 'WindowUpdate/ACK') >= 2, 2000, 'ACKs');
        assert.equal(sniff.count('out', 'WindowUpdate/SYN'), 2);
        assert.equal(sniff.count('out', 'WindowUpdate/ACK'), 1);
      });
    });

    it('echoes 10 B, 300 KiB and 5 MiB on 3 concurrent streams, then FIN → EOF', async () => {
      await withSessions(kind, async ({client, server, sniff}) => {
        const served = echoServer(server);
        await Promise.all(
          [0, 1, 2].map(async () => {
            const stream = client.open();
            const reader = new Reader(stream);
            for (const size of [10, 300 * 1024, 5 * 1024 * 1024]) {
              const payload = random(size);
              assert.ok((await roundTrip(stream, reader, payload)).equals(payload), `echo of ${size} bytes`);
            }
            stream.end();
            await reader.eof();
          }),
        );
        await waitFor(() => client.numStreams === 0 && server.numStreams === 0, 2000, 'streams to close');
        assert.equal(served.length, 3);
        assert.ok(sniff.largestDataFrame.out <= 256 * 1024 && sniff.largestDataFrame.in <= 256 * 1024);
        assert.equal(sniff.count('out', 'WindowUpdate/FIN'), 3);
        assert.equal(sniff.count('in', 'WindowUpdate/FIN'), 3);
        assert.equal(sniff.count('out', 'WindowUpdate/RST') + sniff.count('in', 'WindowUpdate/RST'), 0);
      });
    });

    it('half-closes: the other side keeps writing after our FIN', async () => {
      await withSessions(kind, async ({client, server}) => {
        const c = quiet(client.open());
        c.end('request');
        const s = quiet(await server.accept());
        const sReader = new Reader(s);
        assert.equal((await sReader.read(7)).toString(), 'request');
        await sReader.eof();
        const cReader = new Reader(c);
        const reply = random(700 * 1024);
        s.end(reply);
        assert.ok((await cReader.read(reply.length)).equals(reply));
        await cReader.eof();
        await waitFor(() => client.numStreams === 0 && server.numStreams === 0, 2000, 'streams to close');
      });
    });

    it('resets: destroy() sends RST and the peer stream fails with StreamResetError', async () => {
      await withSessions(kind, async ({client, server, sniff}) => {
        const c = client.open();
        c.write('x');
        const s = await server.accept();
        const failed = new Promise<Error>((resolve) => s.on('error', resolve));
        c.destroy();
        const err = await failed;
        assert.ok(err instanceof StreamResetError, String(err));
        assert.equal(sniff.count('out', 'WindowUpdate/RST'), 1);
        await waitFor(() => client.numStreams === 0 && server.numStreams === 0, 2000, 'streams to close');
        // The session is unharmed.
        assert.equal(typeof (await client.ping()), 'number');
      });
    });

    it('applies backpressure: a paused reader holds at most one window, the writer waits', async () => {
      await withSessions(kind, async ({client, server, sniff}) => {
        const c = quiet(client.open());
        const payload = random(5 * 1024 * 1024);
        let writeDone = false;
        c.end(payload, () => (writeDone = true));
        const s = quiet(await server.accept());
        s.pause();
        await waitFor(() => sniff.dataBytes.out >= 256 * 1024, 3000, 'one window sent');
        await sleep(100);
        assert.equal(sniff.dataBytes.out, 256 * 1024, 'sender stops at the window');
        assert.ok(s.readableLength <= 256 * 1024, `buffered ${s.readableLength}`);
        assert.equal(writeDone, false);
        const reader = new Reader(s);
        s.resume();
        assert.ok((await reader.read(payload.length)).equals(payload));
        await reader.eof();
        await waitFor(() => writeDone, 2000, 'write callback');
      });
    });

    it('answers pings promptly during a bulk transfer', async () => {
      await withSessions(kind, async ({client, server}) => {
        echoServer(server);
        let busy = true;
        const started = performance.now();
        const transfers = Promise.all(
          [0, 1, 2].map(async () => {
            const stream = client.open();
            const reader = new Reader(stream);
            const payload = random(8 * 1024 * 1024);
            assert.ok((await roundTrip(stream, reader, payload)).equals(payload));
            stream.end();
          }),
        ).finally(() => (busy = false));
        const rtts: number[] = [];
        while (busy) {
          rtts.push(await server.ping());
          await sleep(5);
        }
        await transfers;
        const transferMs = performance.now() - started;
        assert.ok(rtts.length > 0);
        // A ping queued behind the data would wait about as long as the transfer; on a busy
        // machine both stretch, so the bound scales with the transfer (never below 250 ms).
        const worst = Math.max(...rtts);
        assert.ok(worst < Math.max(250, transferMs / 4), `ping RTTs under load: max ${worst.toFixed(1)} ms, transfer ${transferMs.toFixed(0)} ms`);
      });
    });

    it('works with a larger maxStreamWindowSize (announced with SYN and ACK)', async () => {
      await withSessions(
        kind,
        async ({client, server, sniff}) => {
          echoServer(server);
          const stream = client.open();
          const reader = new Reader(stream);
          const payload = random(6 * 1024 * 1024);
          assert.ok((await roundTrip(stream, reader, payload)).equals(payload));
          stream.end();
          await reader.eof();
          assert.ok(sniff.largestDataFrame.out <= 64 * 1024);
        },
        {maxStreamWindowSize: 1024 * 1024},
      );
    });

    it('pings both ways', async () => {
      await withSessions(kind, async ({client, server, sniff}) => {
        const rtts = [await client.ping(), await server.ping(), await client.ping()];
        for (const rtt of rtts) assert.ok(rtt >= 0 && rtt < 1000, `rtt ${rtt}`);
        assert.equal(sniff.count('out', 'Ping/SYN'), 2);
        assert.equal(sniff.count('in', 'Ping/ACK'), 2);
        assert.equal(sniff.count('in', 'Ping/SYN'), 1);
        assert.equal(sniff.count('out', 'Ping/ACK'), 1);
      });
    });

    it('keeps alive with short intervals and stays up', async () => {
      await withSessions(
        kind,
        async ({client, server, sniff}) => {
          await sleep(300);
          assert.ok(!client.isClosed && !server.isClosed);
          assert.ok(sniff.count('out', 'Ping/SYN') >= 3, `client pings: ${sniff.count('out', 'Ping/SYN')}`);
          assert.ok(sniff.count('in', 'Ping/SYN') >= 3, `server pings: ${sniff.count('in', 'Ping/SYN')}`);
        },
        {keepAliveIntervalMs: 40, connectionWriteTimeoutMs: 500},
      );
    });

    it('propagates close: peer session closes, streams fail, accept() rejects', async () => {
      await withSessions(kind, async ({client, server, clientClose, serverClose}) => {
        const c = client.open();
        c.write('hello');
        const s = await server.accept();
        const sErr = new Promise<Error>((resolve) => s.on('error', resolve));
        const cErr = new Promise<Error>((resolve) => c.on('error', resolve));
        const pendingAccept = server.accept();
        client.close();
        assert.equal(client.isClosed, true);
        assert.equal(await clientClose.wait(), undefined);
        assert.equal(await serverClose.wait(), undefined, 'EOF is a clean close');
        await assert.rejects(pendingAccept, SessionClosedError);
        assert.ok((await sErr) instanceof SessionClosedError);
        assert.ok((await cErr) instanceof SessionClosedError);
        assert.throws(() => client.open(), SessionClosedError);
        await assert.rejects(client.ping(), SessionClosedError);
        client.close();
        await sleep(20);
        assert.equal(clientClose.count, 1);
        assert.equal(serverClose.count, 1);
      });
    });

    it('honours GoAway(normal): no new streams from the peer, existing ones keep working', async () => {
      await withSessions(kind, async ({client, server}) => {
        const before = quiet(client.open());
        before.write('a');
        const s = quiet(await server.accept());
        server.goAway();
        await waitFor(() => {
          try {
            client.open().destroy();
            return false;
          } catch (err) {
            return err instanceof RemoteGoAwayError;
          }
        }, 2000, 'RemoteGoAwayError');
        const reader = new Reader(before);
        s.write('still here');
        assert.equal((await reader.read(10)).toString(), 'still here');
        assert.ok(!client.isClosed && !server.isClosed);
      });
    });
  });
}
