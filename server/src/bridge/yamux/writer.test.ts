// FrameWriter alone, over a connection whose writes the test releases by hand:
// control frames first, one writev per tick, round robin, backpressure, timeout.

import assert from 'node:assert/strict';
import {Duplex} from 'node:stream';
import {describe, it} from 'node:test';
import {Flag, FrameType} from './frame.ts';
import {parseFrames, T_DATA, T_PING} from './testing/naive-codec.ts';
import {sleep} from './testing/helpers.ts';
import {FrameWriter, type DataSource} from './writer.ts';

/** A connection that records each _writev batch and holds its callback until released. */
class HeldConn extends Duplex {
  batches: Buffer[][] = [];
  private held: Array<() => void> = [];
  constructor(readonly autoRelease: boolean) {
    super({writableHighWaterMark: 16 * 1024});
  }
  override _read(): void {}
  override _writev(chunks: Array<{chunk: Buffer}>, callback: () => void): void {
    this.batches.push(chunks.map((c) => c.chunk));
    if (this.autoRelease) callback();
    else this.held.push(callback);
  }
  override _write(chunk: Buffer, _enc: BufferEncoding, callback: () => void): void {
    this._writev([{chunk}], callback);
  }
  release(): void {
    const held = this.held;
    this.held = [];
    for (const cb of held) cb();
  }
  bytes(): Buffer {
    return Buffer.concat(this.batches.flat());
  }
}

class FakeSource implements DataSource {
  written = 0;
  constructor(
    readonly id: number,
    public pending: number,
    public window = Infinity,
  ) {}
  sendableBytes(): number {
    return Math.min(this.pending, this.window);
  }
  takeData(maxBytes: number, out: Buffer[]): number {
    const n = Math.min(maxBytes, this.sendableBytes());
    if (n > 0) out.push(Buffer.alloc(n, this.id));
    this.pending -= n;
    this.window -= n;
    return n;
  }
  readonly frameFlushed = (): void => {
    this.written++;
  };
}

const options = {writeTimeoutMs: 10_000, onWriteTimeout: () => {}};

describe('FrameWriter', () => {
  it('writes control frames before data queued earlier, all in one writev', async () => {
    const conn = new HeldConn(true);
    const writer = new FrameWriter(conn, options);
    writer.dataReady(new FakeSource(1, 100_000));
    writer.sendControl(FrameType.Ping, Flag.ACK, 0, 42);
    writer.sendControl(FrameType.WindowUpdate, Flag.ACK, 3, 0);
    await sleep(5);
    assert.equal(conn.batches.length, 1, 'one writev for the whole tick');
    const {frames} = parseFrames(conn.bytes());
    assert.equal(frames[0].type, T_PING);
    assert.equal(frames[0].length, 42);
    assert.equal(frames[1].streamId, 3);
    assert.deepEqual(
      frames.slice(2).map((f) => f.length),
      [65536, 34464],
      'data cut into frames of at most 64 KiB',
    );
  });

  it('takes frames from ready streams in turn', async () => {
    const conn = new HeldConn(true);
    const writer = new FrameWriter(conn, options);
    writer.dataReady(new FakeSource(1, 150_000));
    writer.dataReady(new FakeSource(3, 150_000));
    await sleep(5);
    const ids = parseFrames(conn.bytes()).frames.filter((f) => f.type === T_DATA).map((f) => f.streamId);
    assert.deepEqual(ids, [1, 3, 1, 3, 1, 3]);
  });

  it('never cuts more than the send window', async () => {
    const conn = new HeldConn(true);
    const writer = new FrameWriter(conn, options);
    const source = new FakeSource(5, 500_000, 70_000);
    writer.dataReady(source);
    await sleep(5);
    const frames = parseFrames(conn.bytes()).frames;
    assert.equal(frames.reduce((n, f) => n + f.length, 0), 70_000);
    source.window += 10;
    writer.dataReady(source);
    await sleep(5);
    assert.equal(parseFrames(conn.bytes()).frames.reduce((n, f) => n + f.length, 0), 70_010);
  });

  it('stops cutting data while the connection is backed up, still sends control, resumes on drain', async () => {
    const conn = new HeldConn(false);
    const writer = new FrameWriter(conn, options);
    const source = new FakeSource(1, 4 * 1024 * 1024);
    writer.dataReady(source);
    await sleep(5);
    const firstBatch = conn.bytes().length;
    assert.ok(firstBatch >= 256 * 1024 && firstBatch < 400 * 1024, `bounded: ${firstBatch}`);
    const pendingBefore = source.pending;
    writer.sendControl(FrameType.Ping, Flag.ACK, 0, 7);
    await sleep(5);
    assert.equal(source.pending, pendingBefore, 'no more data cut while backed up');
    // The reply is queued on the connection behind the batch in flight, and is all
    // the next batch holds.
    conn.release();
    assert.deepEqual(
      conn.batches[1].map((b) => b.length),
      [12],
    );
    assert.equal(conn.batches[1][0].readUInt32BE(8), 7, 'ping reply');
    for (let i = 0; i < 40 && source.pending > 0; i++) {
      conn.release();
      await sleep(2);
    }
    conn.release();
    assert.equal(source.pending, 0, 'drained completely');
  });

  it('reports a write timeout when the connection takes nothing', async () => {
    const conn = new HeldConn(false);
    let timedOut = false;
    const writer = new FrameWriter(conn, {writeTimeoutMs: 50, onWriteTimeout: () => (timedOut = true)});
    writer.dataReady(new FakeSource(1, 1024 * 1024));
    await sleep(120);
    assert.equal(timedOut, true);
    writer.close();
  });

  it('flushes queued control frames on close and drops data', async () => {
    const conn = new HeldConn(true);
    const writer = new FrameWriter(conn, options);
    writer.dataReady(new FakeSource(1, 1000));
    writer.sendControl(FrameType.GoAway, 0, 0, 1);
    writer.close();
    await sleep(5);
    const {frames} = parseFrames(conn.bytes());
    assert.deepEqual(frames.map((f) => [f.type, f.length]), [[FrameType.GoAway, 1]]);
  });
});
