// Session against a hand-driven peer: exact bytes on the wire, flags, protocol
// errors, flow control and every timeout.

import assert from 'node:assert/strict';
import {spawnSync} from 'node:child_process';
import path from 'node:path';
import {duplexPair} from 'node:stream';
import {describe, it} from 'node:test';
import type {YamuxConfig} from './config.ts';
import {
  ConnectionError,
  DuplicateStreamError,
  GoAwayError,
  InvalidFrameError,
  InvalidStreamIdError,
  KeepAliveTimeoutError,
  ReceiveWindowExceededError,
  StreamOpenTimeoutError,
  StreamResetError,
  StreamsExhaustedError,
  UnexpectedFlagError,
  WriteTimeoutError,
} from './errors.ts';
import {Session, type Role} from './session.ts';
import {quiet, random, Reader, sleep, waitFor, watchClose, withTimeout, type CloseWatch} from './testing/helpers.ts';
import {yamuxDir} from './testing/go-interop.ts';
import {F_ACK, F_FIN, F_RST, F_SYN, frameBytes, T_DATA, T_GO_AWAY, T_PING, T_WINDOW_UPDATE} from './testing/naive-codec.ts';
import {RawPeer} from './testing/raw-peer.ts';

const WINDOW = 256 * 1024;
const NO_KEEPALIVE: Partial<YamuxConfig> = {enableKeepAlive: false};

interface Raw {
  peer: RawPeer;
  session: Session;
  closeWatch: CloseWatch;
}

/** A Session (server role unless told) facing a RawPeer over an in-memory pair. */
async function withRaw(body: (raw: Raw) => Promise<void>, config: Partial<YamuxConfig> = {}, role: Role = 'server'): Promise<void> {
  const [a, b] = duplexPair();
  const peer = new RawPeer(a);
  const session = new Session(b, role, {...NO_KEEPALIVE, ...config});
  const closeWatch = watchClose(session);
  try {
    await body({peer, session, closeWatch});
  } finally {
    session.close();
    a.destroy();
    b.destroy();
  }
}

const isGoAway = (code: number) => (f: {type: number; length: number}) => f.type === T_GO_AWAY && f.length === code;

async function expectProtocolClose(raw: Raw, errorClass: new (...args: never[]) => Error): Promise<void> {
  const err = await raw.closeWatch.wait();
  assert.ok(err instanceof errorClass, `expected ${errorClass.name}, got ${String(err)}`);
  await raw.peer.waitFor(isGoAway(1));
  await raw.peer.waitEnded();
}

describe('Session wire behaviour', () => {
  it('open() sends WindowUpdate SYN at once (golden bytes) and odd ids as client', async () => {
    await withRaw(
      async ({peer, session}) => {
        const s = quiet(session.open());
        assert.equal(s.id, 1);
        await peer.waitFor((f) => f.streamId === 1);
        assert.deepEqual(peer.frames[0], {version: 0, type: 1, flags: F_SYN, streamId: 1, length: 0, payload: Buffer.alloc(0)});
        assert.equal(quiet(session.open()).id, 3);
      },
      {},
      'client',
    );
  });

  it('accept() answers WindowUpdate ACK (golden bytes), in arrival order', async () => {
    await withRaw(async ({peer, session}) => {
      peer.frame(T_WINDOW_UPDATE, F_SYN, 1);
      peer.frame(T_WINDOW_UPDATE, F_SYN, 3);
      const first = quiet(await session.accept());
      const second = quiet(await session.accept());
      assert.deepEqual([first.id, second.id], [1, 3]);
      const ack = await peer.waitFor((f) => f.streamId === 1);
      assert.deepEqual(frameBytes(ack.type, ack.flags, ack.streamId, ack.length), Buffer.from('000100020000000100000000', 'hex'));
    });
  });

  it('does not ACK before accept() and buffers early data', async () => {
    await withRaw(async ({peer, session}) => {
      peer.frame(T_WINDOW_UPDATE, F_SYN, 1);
      peer.frame(T_DATA, 0, 1, Buffer.from('early'));
      await sleep(30);
      assert.equal(peer.frames.length, 0);
      const s = quiet(await session.accept());
      assert.equal((await new Reader(s).read(5)).toString(), 'early');
      await peer.waitFor((f) => f.flags & F_ACK ? true : false);
    });
  });

  it('honours flags on Data frames with bit-and: SYN|FIN plus payload, unknown extra bits', async () => {
    await withRaw(async ({peer, session}) => {
      peer.frame(T_DATA, F_SYN | F_FIN | 0x100, 1, Buffer.from('all in one'));
      const s = await session.accept();
      const reader = new Reader(s);
      assert.equal((await reader.read(10)).toString(), 'all in one');
      await reader.eof();
      // Our side can still answer after the peer's FIN.
      s.end('bye');
      await peer.waitFor((f) => f.streamId === 1 && (f.flags & F_FIN) !== 0);
      assert.equal(peer.dataOn(1).toString(), 'bye');
      await waitFor(() => session.numStreams === 0, 1000, 'stream to close');
    });
  });

  it('reassembles frames fed one byte per write', async () => {
    await withRaw(async ({peer, session}) => {
      const bytes = Buffer.concat([
        frameBytes(T_WINDOW_UPDATE, F_SYN, 1),
        frameBytes(T_DATA, 0, 1, Buffer.from('straddling')),
        frameBytes(T_PING, F_SYN, 0, 77),
        frameBytes(T_DATA, F_FIN, 1, Buffer.from('!')),
      ]);
      for (const byte of bytes) peer.send(Buffer.from([byte]));
      const s = await session.accept();
      const reader = new Reader(s);
      assert.equal((await reader.read(11)).toString(), 'straddling!');
      await reader.eof();
      await peer.waitFor((f) => f.type === T_PING && f.flags === F_ACK && f.length === 77);
    });
  });

  it('answers Ping SYN with Ping ACK and the same opaque value', async () => {
    await withRaw(async ({peer}) => {
      peer.frame(T_PING, F_SYN, 0, 0xffff_ffff);
      peer.frame(T_PING, F_SYN, 0, 0);
      await peer.waitFor((f) => f.type === T_PING && f.flags === F_ACK && f.length === 0xffff_ffff);
      await peer.waitFor((f) => f.type === T_PING && f.flags === F_ACK && f.length === 0);
    });
  });

  it('fails a stream reset by the peer with StreamResetError', async () => {
    await withRaw(async ({peer, session}) => {
      peer.frame(T_WINDOW_UPDATE, F_SYN, 1);
      const s = await session.accept();
      const err = new Promise<Error>((resolve) => s.on('error', resolve));
      peer.frame(T_WINDOW_UPDATE, F_RST, 1);
      assert.ok((await err) instanceof StreamResetError);
      assert.equal(session.numStreams, 0);
    });
  });

  it('drops a stream reset before accept() without surfacing it', async () => {
    await withRaw(async ({peer, session}) => {
      peer.frame(T_WINDOW_UPDATE, F_SYN, 1);
      peer.frame(T_DATA, F_RST, 1, Buffer.from('x'));
      peer.frame(T_WINDOW_UPDATE, F_SYN, 3);
      await waitFor(() => session.numStreams === 1, 1000, 'frames to arrive');
      const s = quiet(await session.accept());
      assert.equal(s.id, 3);
    });
  });

  it('discards Data and WindowUpdate for unknown streams', async () => {
    await withRaw(async ({peer, session}) => {
      peer.frame(T_DATA, 0, 99, Buffer.alloc(1000));
      peer.frame(T_WINDOW_UPDATE, 0, 97, 5000);
      peer.frame(T_WINDOW_UPDATE, F_FIN, 95);
      peer.frame(T_PING, F_SYN, 0, 5);
      await peer.waitFor((f) => f.type === T_PING && f.length === 5);
      assert.equal(session.isClosed, false);
    });
  });

  it('rejects streams beyond the accept backlog with RST', async () => {
    await withRaw(
      async ({peer, session}) => {
        for (const id of [1, 3, 5]) peer.frame(T_WINDOW_UPDATE, F_SYN, id);
        await peer.waitFor((f) => f.streamId === 5 && f.flags === F_RST);
        assert.deepEqual([quiet(await session.accept()).id, quiet(await session.accept()).id], [1, 3]);
        assert.equal(session.numStreams, 2);
      },
      {acceptBacklog: 2},
    );
  });

  it('after goAway() answers new SYNs with RST', async () => {
    await withRaw(async ({peer, session}) => {
      session.goAway();
      await peer.waitFor(isGoAway(0));
      peer.frame(T_WINDOW_UPDATE, F_SYN, 1);
      await peer.waitFor((f) => f.streamId === 1 && f.flags === F_RST);
      assert.equal(session.isClosed, false);
    });
  });

  it('GoAway(normal) from the peer stops open() but not the session; error codes close it', async () => {
    await withRaw(async (raw) => {
      raw.peer.frame(T_GO_AWAY, 0, 0, 0);
      await waitFor(() => {
        try {
          quiet(raw.session.open()).destroy();
          return false;
        } catch {
          return true;
        }
      });
      assert.equal(raw.session.isClosed, false);
      raw.peer.frame(T_GO_AWAY, 0, 0, 2);
      const err = await raw.closeWatch.wait();
      assert.ok(err instanceof GoAwayError && err.code === 2, String(err));
      await raw.peer.waitEnded();
      assert.equal(raw.peer.frames.filter((f) => f.type === T_GO_AWAY).length, 0, 'no GoAway in reply');
    });
  });

  describe('protocol errors send GoAway(1) and close', () => {
    it('bad version', () => withRaw(async (raw) => {
      raw.peer.send(frameBytes(T_WINDOW_UPDATE, F_SYN, 1, 0, 1));
      await expectProtocolClose(raw, InvalidFrameError);
    }));
    it('unknown frame type', () => withRaw(async (raw) => {
      raw.peer.send(frameBytes(4, 0, 0, 0));
      await expectProtocolClose(raw, InvalidFrameError);
    }));
    it('SYN for an existing stream', () => withRaw(async (raw) => {
      raw.peer.frame(T_WINDOW_UPDATE, F_SYN, 1);
      raw.peer.frame(T_DATA, F_SYN, 1, Buffer.from('again'));
      await expectProtocolClose(raw, DuplicateStreamError);
    }));
    it('SYN with an id of the wrong parity, or 0', async () => {
      await withRaw(async (raw) => {
        raw.peer.frame(T_WINDOW_UPDATE, F_SYN, 2);
        await expectProtocolClose(raw, InvalidStreamIdError);
      });
      await withRaw(async (raw) => {
        raw.peer.frame(T_WINDOW_UPDATE, F_SYN, 0);
        await expectProtocolClose(raw, InvalidStreamIdError);
      });
    });
    it('a second FIN', () => withRaw(async (raw) => {
      raw.peer.frame(T_WINDOW_UPDATE, F_SYN | F_FIN, 1);
      raw.peer.frame(T_WINDOW_UPDATE, F_FIN, 1);
      await expectProtocolClose(raw, UnexpectedFlagError);
    }));
    it('more Data than the receive window, over two frames', () => withRaw(async (raw) => {
      raw.peer.frame(T_WINDOW_UPDATE, F_SYN, 1);
      raw.peer.frame(T_DATA, 0, 1, random(200 * 1024));
      raw.peer.frame(T_DATA, 0, 1, random(56 * 1024 + 1));
      await expectProtocolClose(raw, ReceiveWindowExceededError);
    }));
    it('one Data frame larger than any window', () => withRaw(async (raw) => {
      raw.peer.frame(T_WINDOW_UPDATE, F_SYN, 1);
      raw.peer.send(frameBytes(T_DATA, 0, 1, WINDOW + 1));
      await expectProtocolClose(raw, ReceiveWindowExceededError);
    }));
  });

  it('never sends more than the send window; a WindowUpdate resumes the write (no polling)', async () => {
    await withRaw(
      async ({peer, session}) => {
        const s = quiet(session.open());
        const payload = random(300 * 1024);
        let written = false;
        s.write(payload, () => (written = true));
        await waitFor(() => peer.dataOn(1).length === WINDOW, 2000, 'one window of data');
        await sleep(50);
        assert.equal(peer.dataOn(1).length, WINDOW, 'stalls at the window');
        assert.equal(written, false, 'write callback waits for the last byte');
        peer.frame(T_WINDOW_UPDATE, F_ACK, 1, 10_000);
        await waitFor(() => peer.dataOn(1).length === WINDOW + 10_000, 2000, '10000 more bytes');
        await sleep(30);
        assert.equal(peer.dataOn(1).length, WINDOW + 10_000);
        peer.frame(T_WINDOW_UPDATE, 0, 1, WINDOW);
        await waitFor(() => written, 2000, 'write callback');
        assert.ok(peer.dataOn(1).equals(payload));
        assert.ok(peer.frames.every((f) => f.type !== T_DATA || f.length <= 64 * 1024), 'frames ≤ 64 KiB');
      },
      {},
      'client',
    );
  });

  it('sends window updates as the application consumes, never while it does not read', async () => {
    await withRaw(async ({peer, session}) => {
      peer.frame(T_WINDOW_UPDATE, F_SYN, 1);
      const s = await session.accept();
      s.pause();
      peer.frame(T_DATA, 0, 1, random(WINDOW));
      await sleep(50);
      const updates = () => peer.frames.filter((f) => f.type === T_WINDOW_UPDATE && f.streamId === 1 && f.length > 0);
      assert.equal(updates().length, 0, 'no update while paused');
      assert.ok(s.readableLength <= WINDOW);
      // Consume half: still below Go's threshold (half the window) until it is reached.
      let consumed = 0;
      while (consumed < WINDOW) {
        const chunk = s.read() as Buffer | null;
        if (chunk === null) {
          await sleep(5);
          continue;
        }
        consumed += chunk.length;
      }
      await waitFor(() => updates().reduce((n, f) => n + f.length, 0) === WINDOW, 2000, 'a full window granted back');
      assert.ok(updates().every((f) => f.length >= WINDOW / 2), 'updates of at least half a window');
    });
  });

  it('keepalive: closes with KeepAliveTimeoutError when pings go unanswered', async () => {
    await withRaw(
      async ({peer, closeWatch}) => {
        const err = await closeWatch.wait(2000);
        assert.ok(err instanceof KeepAliveTimeoutError, String(err));
        assert.ok(peer.frames.some((f) => f.type === T_PING && f.flags === F_SYN));
      },
      {enableKeepAlive: true, keepAliveIntervalMs: 30, connectionWriteTimeoutMs: 60},
    );
  });

  it('stream open timeout: an unacknowledged stream closes the session', async () => {
    await withRaw(
      async ({session, closeWatch}) => {
        quiet(session.open());
        const err = await closeWatch.wait(2000);
        assert.ok(err instanceof StreamOpenTimeoutError, String(err));
      },
      {streamOpenTimeoutMs: 80},
      'client',
    );
  });

  it('stream open timeout does not fire once the ACK came', async () => {
    await withRaw(
      async ({peer, session}) => {
        quiet(session.open());
        peer.frame(T_WINDOW_UPDATE, F_ACK, 1);
        await sleep(150);
        assert.equal(session.isClosed, false);
      },
      {streamOpenTimeoutMs: 60},
      'client',
    );
  });

  it('stream close timeout: half-closed too long → RST and forgotten, reads end', async () => {
    await withRaw(
      async ({peer, session}) => {
        peer.frame(T_WINDOW_UPDATE, F_SYN, 1);
        const s = await session.accept();
        const reader = new Reader(s);
        s.end();
        await peer.waitFor((f) => f.streamId === 1 && (f.flags & F_FIN) !== 0);
        await peer.waitFor((f) => f.streamId === 1 && f.flags === F_RST, 2000);
        assert.equal(session.numStreams, 0);
        await reader.eof();
      },
      {streamCloseTimeoutMs: 80},
    );
  });

  it('write timeout: a connection that takes nothing closes the session', async () => {
    const [a, b] = duplexPair(); // `a` is never read
    const session = new Session(b, 'client', {enableKeepAlive: false, connectionWriteTimeoutMs: 150});
    const closeWatch = watchClose(session);
    try {
      for (let i = 0; i < 8; i++) quiet(session.open()).write(random(WINDOW));
      const err = await closeWatch.wait(3000);
      assert.ok(err instanceof WriteTimeoutError, String(err));
    } finally {
      a.destroy();
      b.destroy();
    }
  });

  it('EOF closes cleanly; EOF inside a frame is a ConnectionError', async () => {
    await withRaw(async ({peer, closeWatch}) => {
      peer.conn.end();
      assert.equal(await closeWatch.wait(), undefined);
    });
    await withRaw(async ({peer, closeWatch}) => {
      peer.send(frameBytes(T_WINDOW_UPDATE, F_SYN, 1).subarray(0, 5));
      peer.conn.end();
      assert.ok((await closeWatch.wait()) instanceof ConnectionError);
    });
  });

  it('throws StreamsExhaustedError when ids run out', async () => {
    await withRaw(async ({session}) => {
      (session as unknown as {nextStreamId: number}).nextStreamId = 0xffff_fffe;
      assert.throws(() => session.open(), StreamsExhaustedError);
    });
  });

  it('rejects bad config up front', () => {
    const [a] = duplexPair();
    assert.throws(() => new Session(a, 'client', {maxStreamWindowSize: 1000}));
    assert.throws(() => new Session(a, 'client', {acceptBacklog: 0}));
    assert.throws(() => new Session(a, 'client', {keepAliveIntervalMs: 0}));
    assert.throws(() => new Session(a, 'client', {streamOpenTimeoutMs: -1}));
    assert.throws(() => new Session(a, 'bogus' as Role));
    a.destroy();
  });

  it('a closed session lets the process exit (timers unref’d or cleared)', async () => {
    const fixture = path.join(yamuxDir(), 'testing/exit-fixture.ts');
    const started = Date.now();
    const r = await withTimeout(
      new Promise<ReturnType<typeof spawnSync>>((resolve) =>
        resolve(spawnSync(process.execPath, ['--import', 'tsx', fixture], {encoding: 'utf8', timeout: 20_000})),
      ),
      25_000,
      'fixture',
    );
    assert.equal(r.status, 0, `fixture failed: ${String(r.stderr)}`);
    assert.match(String(r.stdout), /closed/);
    assert.ok(Date.now() - started < 15_000);
  });
});
