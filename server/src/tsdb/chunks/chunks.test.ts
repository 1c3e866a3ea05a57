import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {test} from 'node:test';
import {CorruptionError} from '../encoding/errors.ts';
import {ChunkReader, ChunkWriter, chunkRef, chunkRefOffset, chunkRefSegment} from './chunks.ts';

test('write, cut segments, read back by ref with CRC check', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsdb-chunks-'));
  try {
    const w = new ChunkWriter(dir, {segmentSize: 1000, fsync: false});
    const refs: number[] = [];
    const datas: Uint8Array[] = [];
    for (let i = 0; i < 50; i++) {
      const d = new Uint8Array(10 + i * 3).map((_, k) => (k * i + 1) & 0xff);
      datas.push(d);
      refs.push(w.writeChunk(1, d));
    }
    w.close();
    assert.equal(chunkRefOffset(refs[0]), 8);
    assert.equal(chunkRefSegment(refs[0]), 0);
    assert.ok(chunkRefSegment(refs[49]) > 1, 'segments were cut');
    assert.equal(chunkRef(3, 77), 3 * 2 ** 32 + 77);
    const files = fs.readdirSync(dir).sort();
    assert.equal(files[0], '000001');
    for (const f of files) assert.ok(fs.statSync(path.join(dir, f)).size <= 1000);
    const r = ChunkReader.open(dir);
    refs.forEach((ref, i) => {
      const c = r.chunk(ref);
      assert.equal(c.encoding, 1);
      assert.deepEqual([...c.data], [...datas[i]]);
    });
    r.close();
    // Flip a data byte of chunk 3 → CorruptionError naming the file and the chunk's offset.
    const f1 = path.join(dir, '000001');
    const b = fs.readFileSync(f1);
    b[chunkRefOffset(refs[3]) + 4] ^= 0xff;
    fs.writeFileSync(f1, b);
    const r2 = ChunkReader.open(dir);
    assert.throws(
      () => r2.chunk(refs[3]),
      (e: CorruptionError) => e instanceof CorruptionError && e.file === f1 && e.offset === chunkRefOffset(refs[3]) && /checksum/.test(e.reason),
    );
    assert.throws(() => r2.chunk(chunkRef(9, 8)), CorruptionError);
    assert.throws(() => r2.chunk(chunkRef(0, 999999)), CorruptionError);
    r2.close();
    // Bad magic → open fails.
    b[0] = 0;
    fs.writeFileSync(f1, b);
    assert.throws(() => ChunkReader.open(dir), (e: CorruptionError) => e.offset === 0 && /magic/.test(e.reason));
  } finally {
    fs.rmSync(dir, {recursive: true, force: true});
  }
});
