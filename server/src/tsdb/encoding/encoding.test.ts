import assert from 'node:assert/strict';
import {test} from 'node:test';
import {crc32c, crc32cUpdate} from './crc32c.ts';
import {Decbuf, Encbuf, newDecbufAt, newDecbufUvarintAt, uvarintSize} from './encoding.ts';
import {CorruptionError} from './errors.ts';

test('crc32c check values', () => {
  assert.equal(crc32c(new TextEncoder().encode('123456789')), 0xe3069283);
  assert.equal(crc32c(new Uint8Array(0)), 0);
  const b = new Uint8Array(1000).map((_, i) => (i * 7) & 0xff);
  assert.equal(crc32cUpdate(crc32c(b, 0, 333), b, 333), crc32c(b));
  // slicing-by-8 equals the bytewise definition
  let c = 0xffffffff;
  for (const x of b) {
    c ^= x;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  }
  assert.equal(crc32c(b), (c ^ 0xffffffff) >>> 0);
});

test('uvarint/varint match Go encodings and round-trip', () => {
  const e = new Encbuf();
  e.putUvarint(300);
  assert.deepEqual([...e.get()], [0xac, 0x02]);
  e.reset();
  e.putVarint(1704067200000);
  assert.deepEqual(Buffer.from(e.get()).toString('hex'), '80d08fa59863');
  e.reset();
  e.putVarint(-1);
  assert.deepEqual([...e.get()], [1]);
  const vals = [0, 1, 127, 128, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 40 + 5, Number.MAX_SAFE_INTEGER];
  e.reset();
  for (const v of vals) e.putUvarint(v);
  for (const v of vals) e.putVarint(-Math.floor(v / 4) || 0);
  e.putUvarint64(2n ** 64n - 1n);
  e.putUvarintStr('héllo');
  e.putBE64(2 ** 50 + 3);
  const d = new Decbuf(e.get());
  for (const v of vals) assert.equal(d.uvarint(), v);
  for (const v of vals) assert.equal(d.varint(), -Math.floor(v / 4) || 0);
  assert.equal(d.uvarint64(), 2n ** 64n - 1n);
  assert.equal(d.uvarintStr(), 'héllo');
  assert.equal(d.be64(), 2 ** 50 + 3);
  assert.equal(d.err, null);
  assert.equal(d.len(), 0);
  assert.equal(uvarintSize(2 ** 32), 5);
});

test('Decbuf errors are sticky and carry file/offset', () => {
  const d = new Decbuf(new Uint8Array([0x80, 0x80]), 'f', 100);
  assert.equal(d.uvarint(), 0);
  assert.ok(d.err instanceof CorruptionError);
  assert.equal(d.err.file, 'f');
  assert.equal(d.err.offset, 100);
  assert.equal(d.be32(), 0);
  assert.equal(d.err.offset, 100);
});

test('newDecbufAt checks length and CRC', () => {
  const e = new Encbuf();
  e.putZeros(3);
  e.putBE32(4);
  e.putBE32(0xdeadbeef);
  e.putCRC32CSince(7);
  const b = e.get().slice();
  assert.equal(newDecbufAt(b, 3, 'x', 'sec').be32(), 0xdeadbeef);
  b[8] ^= 1;
  assert.throws(() => newDecbufAt(b, 3, 'x', 'sec'), (err: CorruptionError) => err.offset === 3 && /checksum/.test(err.message));
  assert.throws(() => newDecbufAt(b.subarray(0, 10), 3, 'x', 'sec'), CorruptionError);
  const u = new Encbuf();
  u.putUvarint(2);
  u.putBE16(7);
  u.putCRC32CSince(1);
  assert.equal(newDecbufUvarintAt(u.get(), 0, 'x', 's').be16(), 7);
});
