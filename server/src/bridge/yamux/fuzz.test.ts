// Fuzz: mutated frame sequences (bit flips, truncations, splices, random bytes, …)
// fed in random chunks to a Session over an in-memory duplex, followed by EOF.
// Every case must settle (session 'close' exactly once, every stream closed) within
// a time bound, with only YamuxError-s (or a clean close) and no uncaught exception.
//
// YAMUX_FUZZ_CASES sets the number of cases (default 100000), YAMUX_FUZZ_SEED the
// seed (default: fixed, so runs are repeatable; a failure prints its case number,
// and each case draws from its own generator, so it reproduces alone).

import assert from 'node:assert/strict';
import {Duplex} from 'node:stream';
import {describe, it} from 'node:test';
import {SessionClosedError, YamuxError} from './errors.ts';
import {Session, type Role} from './session.ts';
import type {Stream} from './stream.ts';
import {F_ACK, F_FIN, F_RST, F_SYN, frameBytes, T_DATA, T_GO_AWAY, T_PING, T_WINDOW_UPDATE} from './testing/naive-codec.ts';

const CASES = Number(process.env.YAMUX_FUZZ_CASES ?? 100_000);
const SEED = Number(process.env.YAMUX_FUZZ_SEED ?? 0x5eed);
const BATCH = 250;
const CASE_TIMEOUT_MS = 5000;

/** mulberry32 */
function makeRandom(seed: number): {next: () => number; int: (n: number) => number; pick: <T>(xs: readonly T[]) => T} {
  let s = seed >>> 0;
  const next = (): number => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number): number => Math.floor(next() * n);
  return {next, int, pick: (xs) => xs[int(xs.length)]};
}
type Rand = ReturnType<typeof makeRandom>;

/** A plausible frame sequence from the peer (odd ids when we are the server). */
function validSequence(r: Rand, role: Role): Buffer {
  const peerIds = role === 'server' ? [1, 3, 5, 7] : [2, 4, 6, 8];
  const ourIds = role === 'server' ? [2, 4] : [1, 3];
  const parts: Buffer[] = [];
  const n = 1 + r.int(12);
  for (let i = 0; i < n; i++) {
    const id = r.next() < 0.8 ? r.pick(peerIds) : r.pick(ourIds);
    const payload = (): Buffer => Buffer.alloc(r.next() < 0.05 ? r.int(70_000) : r.int(300), r.int(256));
    switch (r.int(10)) {
      case 0:
      case 1:
        parts.push(frameBytes(T_WINDOW_UPDATE, F_SYN, id, r.next() < 0.2 ? r.int(1 << 20) : 0));
        break;
      case 2:
      case 3:
        parts.push(frameBytes(T_DATA, r.pick([0, 0, F_SYN, F_FIN, F_ACK]), id, payload()));
        break;
      case 4:
        parts.push(frameBytes(T_WINDOW_UPDATE, r.pick([0, F_ACK, F_FIN, F_RST]), id, r.int(300_000)));
        break;
      case 5:
        parts.push(frameBytes(r.pick([T_DATA, T_WINDOW_UPDATE]), r.pick([F_FIN, F_RST, F_SYN | F_FIN]), id, 0));
        break;
      case 6:
        parts.push(frameBytes(T_PING, r.pick([F_SYN, F_ACK]), 0, r.int(2 ** 32)));
        break;
      case 7:
        parts.push(frameBytes(T_GO_AWAY, 0, 0, r.next() < 0.8 ? 0 : r.int(4)));
        break;
      default:
        parts.push(frameBytes(T_DATA, 0, id, payload()));
    }
  }
  return Buffer.concat(parts);
}

function mutate(r: Rand, input: Buffer, role: Role): Buffer {
  let b = Buffer.from(input);
  const rounds = 1 + r.int(3);
  for (let i = 0; i < rounds; i++) {
    switch (r.int(9)) {
      case 0: // bit flips
        for (let k = 0, n = 1 + r.int(4); k < n && b.length > 0; k++) b[r.int(b.length)] ^= 1 << r.int(8);
        break;
      case 1: // random byte values
        for (let k = 0, n = 1 + r.int(4); k < n && b.length > 0; k++) b[r.int(b.length)] = r.int(256);
        break;
      case 2: // truncation
        b = b.subarray(0, r.int(b.length + 1));
        break;
      case 3: {
        // splice with another valid sequence
        const other = validSequence(r, role);
        b = Buffer.concat([b.subarray(0, r.int(b.length + 1)), other.subarray(r.int(other.length + 1))]);
        break;
      }
      case 4: {
        // insert random bytes
        const at = r.int(b.length + 1);
        const junk = Buffer.alloc(1 + r.int(16));
        for (let k = 0; k < junk.length; k++) junk[k] = r.int(256);
        b = Buffer.concat([b.subarray(0, at), junk, b.subarray(at)]);
        break;
      }
      case 5: {
        // delete a range
        const from = r.int(b.length + 1);
        b = Buffer.concat([b.subarray(0, from), b.subarray(from + r.int(24))]);
        break;
      }
      case 6: {
        // duplicate a range (duplicate SYNs, repeated FINs)
        const from = r.int(b.length + 1);
        const to = Math.min(b.length, from + r.int(64));
        b = Buffer.concat([b.subarray(0, to), b.subarray(from, to), b.subarray(to)]);
        break;
      }
      case 7: {
        // an extreme value in a header-sized field
        if (b.length >= 12) {
          const at = 12 * r.int(Math.floor(b.length / 12));
          b.writeUInt32BE(r.pick([0, 1, 0x7fff_ffff, 0x8000_0000, 0xffff_ffff]), at + r.pick([4, 8]));
        }
        break;
      }
      default: {
        // random bytes altogether
        b = Buffer.alloc(r.int(64));
        for (let k = 0; k < b.length; k++) b[k] = r.int(256);
      }
    }
  }
  return b;
}

interface Outcome {
  problems: string[];
  /** How the session ended: 'clean' or the error's name. */
  reason: string;
  /** Streams the case saw accepted or opened. */
  streams: number;
}

function isAllowed(err: unknown): boolean {
  return err instanceof YamuxError;
}

/** Runs one case; resolves when everything settled (or with a problem after a timeout). */
function runCase(caseNo: number): Promise<Outcome> {
  const r = makeRandom(Math.imul(SEED, 0x9e37_79b1) ^ caseNo);
  const role: Role = r.next() < 0.5 ? 'server' : 'client';
  const input = r.next() < 0.1 ? validSequence(r, role) : mutate(r, validSequence(r, role), role);
  const problems: string[] = [];
  const note = (what: string): void => {
    problems.push(`case ${caseNo} (${role}, input ${input.toString('hex').slice(0, 160)}): ${what}`);
  };

  const conn = new Duplex({
    read() {},
    write(_chunk, _encoding, callback) {
      callback();
    },
  });
  const session = new Session(conn, role, {
    enableKeepAlive: r.next() < 0.1,
    keepAliveIntervalMs: 5,
    connectionWriteTimeoutMs: 50,
    streamOpenTimeoutMs: r.next() < 0.5 ? 20 : 0,
    streamCloseTimeoutMs: 20,
    acceptBacklog: r.next() < 0.3 ? 2 : 256,
  });
  /** Streams whose data is consumed: each must end up destroyed. */
  const streams: Stream[] = [];
  const watchStream = (stream: Stream, mode: number): void => {
    if (mode !== 3) streams.push(stream);
    stream.on('error', (err: unknown) => {
      if (!isAllowed(err)) note(`stream ${stream.id} error ${String(err)}`);
    });
    if (mode === 0) stream.resume();
    else if (mode === 1) stream.pipe(stream);
    else if (mode === 2) stream.end('bye').resume();
    // mode 3: never read (window pressure); a stream closed both ways at the protocol
    // level then legitimately stays undestroyed with its data unread.
  };
  const acceptNext = (): void => {
    session.accept().then(
      (stream) => {
        watchStream(stream, r.int(4));
        acceptNext();
      },
      (err: unknown) => {
        if (!(err instanceof SessionClosedError)) note(`accept rejected with ${String(err)}`);
      },
    );
  };
  acceptNext();
  if (r.next() < 0.3) {
    try {
      const stream = session.open();
      stream.write(Buffer.alloc(r.int(2000)));
      watchStream(stream, r.int(4));
    } catch (err) {
      if (!isAllowed(err)) note(`open threw ${String(err)}`);
    }
  }
  if (r.next() < 0.1) {
    session.ping().catch((err: unknown) => {
      if (!isAllowed(err)) note(`ping rejected with ${String(err)}`);
    });
  }
  if (r.next() < 0.05) session.goAway();

  let closes = 0;
  let closeError: unknown;
  const settled = new Promise<void>((resolve) => {
    session.on('close', (err?: Error) => {
      closes++;
      closeError = err;
      // Streams are destroyed synchronously in close(); their 'close' events follow.
      setImmediate(resolve);
    });
  });

  // Feed the input in random chunks, then EOF.
  try {
    let at = 0;
    while (at < input.length) {
      const n = r.next() < 0.3 ? input.length - at : 1 + r.int(Math.min(64, input.length - at));
      conn.push(input.subarray(at, at + n));
      at += n;
    }
    conn.push(null);
  } catch (err) {
    note(`uncaught while feeding: ${err instanceof Error ? err.stack : String(err)}`);
    session.close();
  }

  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      note('did not settle (hang)');
      session.close();
      resolve();
    }, CASE_TIMEOUT_MS);
  });
  return Promise.race([settled, timeout]).then(() => {
    clearTimeout(timer);
    if (closeError !== undefined && !isAllowed(closeError)) note(`session closed with ${String(closeError)}`);
    if (closes !== 1) note(`'close' fired ${closes} times`);
    if (!session.isClosed) note('session not closed');
    if (session.numStreams !== 0) note(`${session.numStreams} streams left`);
    for (const s of streams) if (!s.destroyed) note(`stream ${s.id} not destroyed`);
    if (!conn.destroyed) conn.destroy();
    const reason = closeError === undefined ? 'clean' : closeError instanceof Error ? closeError.name : String(closeError);
    return {problems, reason, streams: streams.length};
  });
}

describe('Session fuzz', () => {
  it(`survives ${CASES} mutated inputs with typed errors only and no hang`, {timeout: 600_000}, async (t) => {
    const uncaught: unknown[] = [];
    const onUncaught = (err: unknown): void => {
      uncaught.push(err);
    };
    process.on('uncaughtException', onUncaught);
    try {
      const problems: string[] = [];
      const reasons = new Map<string, number>();
      let streamCount = 0;
      const started = Date.now();
      for (let base = 0; base < CASES && problems.length < 20; base += BATCH) {
        const batch: Array<Promise<Outcome>> = [];
        for (let i = base; i < Math.min(CASES, base + BATCH); i++) batch.push(runCase(i));
        for (const outcome of await Promise.all(batch)) {
          problems.push(...outcome.problems);
          reasons.set(outcome.reason, (reasons.get(outcome.reason) ?? 0) + 1);
          streamCount += outcome.streams;
        }
      }
      t.diagnostic(`${CASES} cases in ${Date.now() - started} ms (seed ${SEED}); ${streamCount} streams used`);
      t.diagnostic(`session endings: ${[...reasons].sort((x, y) => y[1] - x[1]).map(([k, v]) => `${k} ${v}`).join(', ')}`);
      assert.deepEqual(problems.slice(0, 20), []);
      assert.deepEqual(uncaught.map(String), []);
    } finally {
      process.off('uncaughtException', onUncaught);
    }
  });
});
