import assert from 'node:assert/strict';
import {describe, it} from 'node:test';
import {FrameDecoder, type Frame} from './decoder.ts';
import {InvalidFrameError, ReceiveWindowExceededError} from './errors.ts';
import {
  decodeHeader,
  encodeHeader,
  Flag,
  FrameType,
  GoAwayCode,
  HEADER_LENGTH,
  stringifyHeader,
} from './frame.ts';
import {frameBytes, parseFrames, T_DATA, T_GO_AWAY, T_PING, T_WINDOW_UPDATE} from './testing/naive-codec.ts';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

// Golden vectors from the protocol spec §2.2 (captured from Go).
const OPEN_STREAM_1 = hex('00 01 00 01 00 00 00 01 00 00 00 00');
const ACK_STREAM_1 = hex('00 01 00 02 00 00 00 01 00 00 00 00');
const FIN_STREAM_1 = hex('00 01 00 04 00 00 00 01 00 00 00 00');
const DATA_STREAM_7_HEADER = hex('00 00 00 00 00 00 00 07 00 00 00 04');

describe('frame header codec', () => {
  it('has a 12-byte header and Go’s constants', () => {
    assert.equal(HEADER_LENGTH, 12);
    assert.deepEqual([FrameType.Data, FrameType.WindowUpdate, FrameType.Ping, FrameType.GoAway], [0, 1, 2, 3]);
    assert.deepEqual([Flag.SYN, Flag.ACK, Flag.FIN, Flag.RST], [1, 2, 4, 8]);
    assert.deepEqual([GoAwayCode.Normal, GoAwayCode.ProtocolError, GoAwayCode.InternalError], [0, 1, 2]);
  });

  it('encodes the golden vectors', () => {
    assert.deepEqual(encodeHeader({type: FrameType.WindowUpdate, flags: Flag.SYN, streamId: 1, length: 0}), OPEN_STREAM_1);
    assert.deepEqual(encodeHeader({type: FrameType.WindowUpdate, flags: Flag.ACK, streamId: 1, length: 0}), ACK_STREAM_1);
    assert.deepEqual(encodeHeader({type: FrameType.WindowUpdate, flags: Flag.FIN, streamId: 1, length: 0}), FIN_STREAM_1);
    assert.deepEqual(encodeHeader({type: FrameType.Data, flags: 0, streamId: 7, length: 4}), DATA_STREAM_7_HEADER);
  });

  it('decodes the golden vectors', () => {
    assert.deepEqual(decodeHeader(OPEN_STREAM_1), {version: 0, type: 1, flags: 1, streamId: 1, length: 0});
    assert.deepEqual(decodeHeader(ACK_STREAM_1), {version: 0, type: 1, flags: 2, streamId: 1, length: 0});
    assert.deepEqual(decodeHeader(FIN_STREAM_1), {version: 0, type: 1, flags: 4, streamId: 1, length: 0});
    assert.deepEqual(decodeHeader(DATA_STREAM_7_HEADER), {version: 0, type: 0, flags: 0, streamId: 7, length: 4});
  });

  it('round-trips 32-bit extremes without going negative, and agrees with the naive codec', () => {
    for (const [streamId, length, flags] of [
      [0xffff_ffff, 0xffff_ffff, 0xffff],
      [0x8000_0000, 0x8000_0001, 0x8000],
      [0, 0, 0],
      [0x0102_0304, 0x0a0b_0c0d, 0x000f],
    ]) {
      for (const type of [0, 1, 2, 3] as const) {
        const bytes = encodeHeader({type, flags, streamId, length});
        assert.deepEqual(bytes, frameBytes(type, flags, streamId, length));
        const h = decodeHeader(bytes);
        assert.equal(h.streamId, streamId);
        assert.equal(h.length, length);
        assert.equal(h.flags, flags);
      }
    }
  });

  it('encodes at an offset into a target buffer', () => {
    const target = Buffer.alloc(20, 0xee);
    encodeHeader({type: FrameType.Ping, flags: Flag.ACK, streamId: 0, length: 9}, target, 4);
    assert.deepEqual(target.subarray(4, 16), frameBytes(T_PING, 2, 0, 9));
    assert.equal(target[3], 0xee);
    assert.equal(target[16], 0xee);
    assert.deepEqual(decodeHeader(target, 4), {version: 0, type: 2, flags: 2, streamId: 0, length: 9});
  });

  it('rejects a bad version, an unknown type and a short header', () => {
    assert.throws(() => decodeHeader(frameBytes(0, 0, 1, 0, 1)), InvalidFrameError);
    assert.throws(() => decodeHeader(frameBytes(4, 0, 1, 0)), InvalidFrameError);
    assert.throws(() => decodeHeader(frameBytes(0xff, 0, 1, 0)), InvalidFrameError);
    assert.throws(() => decodeHeader(Buffer.alloc(11)), InvalidFrameError);
    const err = (() => {
      try {
        decodeHeader(frameBytes(9, 0, 1, 0));
      } catch (e) {
        return e as InvalidFrameError;
      }
      return undefined;
    })();
    assert.equal(err?.goAwayCode, GoAwayCode.ProtocolError);
  });

  it('stringifies for logs', () => {
    assert.equal(
      stringifyHeader(decodeHeader(frameBytes(T_WINDOW_UPDATE, 5, 3, 10))),
      '{version:0 type:WindowUpdate flags:SYN|FIN stream:3 length:10}',
    );
  });
});

// ---- incremental decoder ----------------------------------------------------

/** A byte string with every kind of frame, payload sizes 0..70000. */
function sampleStream(): Buffer {
  const parts = [
    OPEN_STREAM_1,
    Buffer.concat([DATA_STREAM_7_HEADER, Buffer.from('ping')]),
    frameBytes(T_DATA, 0, 1, Buffer.from('hello, world')),
    frameBytes(T_DATA, 0, 3, 0),
    ACK_STREAM_1,
    frameBytes(T_PING, 1, 0, 0xdead_beef),
    frameBytes(T_DATA, 0, 5, Buffer.alloc(70_000, 0x5a)),
    frameBytes(T_WINDOW_UPDATE, 0, 1, 0x2_0000),
    frameBytes(T_DATA, 4, 9, Buffer.from([1, 2, 3])),
    FIN_STREAM_1,
    frameBytes(T_GO_AWAY, 0, 0, 2),
    frameBytes(T_DATA, 0, 11, Buffer.alloc(1)),
  ];
  return Buffer.concat(parts);
}

function decodeInChunks(bytes: Buffer, cuts: number[]): Frame[] {
  const decoder = new FrameDecoder();
  const frames: Frame[] = [];
  let at = 0;
  for (const cut of [...cuts, bytes.length]) {
    for (const f of decoder.push(bytes.subarray(at, cut))) frames.push(f);
    at = cut;
  }
  assert.ok(decoder.idle, 'decoder holds no partial frame at the end');
  return frames;
}

function assertSameAsNaive(frames: Frame[], bytes: Buffer): void {
  const {frames: expected, used} = parseFrames(bytes);
  assert.equal(used, bytes.length);
  assert.equal(frames.length, expected.length);
  frames.forEach((f, i) => {
    const e = expected[i];
    assert.deepEqual(
      {type: f.header.type, flags: f.header.flags, streamId: f.header.streamId, length: f.header.length},
      {type: e.type, flags: e.flags, streamId: e.streamId, length: e.length},
      `frame ${i}`,
    );
    assert.ok(f.payload.equals(e.payload), `payload of frame ${i}`);
  });
}

/** Deterministic PRNG (mulberry32) so failures reproduce. */
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('FrameDecoder split input', () => {
  const bytes = sampleStream();

  it('decodes everything fed in one chunk', () => {
    assertSameAsNaive(decodeInChunks(bytes, []), bytes);
  });

  it('decodes the same bytes fed one byte at a time', () => {
    const cuts = Array.from({length: bytes.length - 1}, (_, i) => i + 1);
    assertSameAsNaive(decodeInChunks(bytes, cuts), bytes);
  });

  it('decodes with one cut at every offset of the first 200 bytes and around the big frame', () => {
    const bigStart = bytes.indexOf(Buffer.alloc(16, 0x5a));
    const offsets = [...Array.from({length: 200}, (_, i) => i + 1), ...Array.from({length: 40}, (_, i) => bigStart - 20 + i)];
    for (const cut of offsets) assertSameAsNaive(decodeInChunks(bytes, [cut]), bytes);
  });

  it('decodes at random cut points (200 chaotic chunkings)', () => {
    const random = rng(42);
    for (let round = 0; round < 200; round++) {
      const n = 1 + Math.floor(random() * 30);
      const cuts = Array.from({length: n}, () => 1 + Math.floor(random() * (bytes.length - 1))).sort((x, y) => x - y);
      assertSameAsNaive(decodeInChunks(bytes, [...new Set(cuts)]), bytes);
    }
  });

  it('returns payloads inside one chunk as views, without copying', () => {
    const chunk = frameBytes(T_DATA, 0, 1, Buffer.from('abcdef'));
    const [frame] = [...new FrameDecoder().push(chunk)];
    assert.equal(frame.payload.buffer, chunk.buffer);
  });

  it('yields payload pieces without joining them (pushPieces)', () => {
    const decoder = new FrameDecoder();
    const data = frameBytes(T_DATA, 0, 1, Buffer.from('abcdefgh'));
    assert.deepEqual([...decoder.pushPieces(data.subarray(0, 15))], []);
    const [frame] = [...decoder.pushPieces(data.subarray(15))];
    assert.deepEqual(frame.pieces.map((p) => p.toString()), ['abc', 'defgh']);
  });

  it('keeps a partial tail until the rest arrives', () => {
    const decoder = new FrameDecoder();
    const data = frameBytes(T_DATA, 0, 1, Buffer.alloc(100));
    assert.deepEqual([...decoder.push(data.subarray(0, 50))], []);
    assert.equal(decoder.idle, false);
    assert.equal([...decoder.push(data.subarray(50))].length, 1);
    assert.equal(decoder.idle, true);
  });

  it('throws on a bad header even when it straddles chunks', () => {
    const decoder = new FrameDecoder();
    const bad = frameBytes(7, 0, 1, 0);
    assert.deepEqual([...decoder.push(bad.subarray(0, 1))], []);
    assert.throws(() => [...decoder.push(bad.subarray(1))], InvalidFrameError);
  });

  it('refuses an over-long Data header before buffering its payload', () => {
    const decoder = new FrameDecoder({maxDataLength: 1000});
    assert.throws(() => [...decoder.push(frameBytes(T_DATA, 0, 1, 1001))], ReceiveWindowExceededError);
    const ok = new FrameDecoder({maxDataLength: 1000});
    assert.equal([...ok.push(frameBytes(T_WINDOW_UPDATE, 0, 1, 0xffff_ffff))].length, 1, 'non-data lengths are values');
  });
});
