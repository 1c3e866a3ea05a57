// Golden: the spec's §9 worked example (promtool 2.42 output) reproduced byte for byte.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {test} from 'node:test';
import {
  EMPTY_TOMBSTONES,
  TINY_CHUNKS_V2,
  TINY_CHUNKS_V3,
  TINY_INDEX_V2,
  TINY_INDEX_V3,
  TINY_META,
  TINY_SERIES,
  TINY_ULID,
} from '../testing/golden.ts';
import {openBlock} from './reader.ts';
import {verifyBlock} from './verify.ts';
import {writeBlock} from './writer.ts';

function tmpdir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'tsdb-golden-'));
}

test('§9 worked example, 2.x layout (promtool 2.42 bytes)', () => {
  const root = tmpdir();
  try {
    const r = writeBlock(root, TINY_SERIES, {ulid: TINY_ULID, indexLayout: 'v2', xorForm: 'v2', fsync: false});
    assert.equal(r.dir, path.join(root, TINY_ULID));
    assert.deepEqual(fs.readFileSync(path.join(r.dir, 'chunks', '000001')), TINY_CHUNKS_V2);
    assert.deepEqual(fs.readFileSync(path.join(r.dir, 'index')), TINY_INDEX_V2);
    assert.deepEqual(fs.readFileSync(path.join(r.dir, 'tombstones')), EMPTY_TOMBSTONES);
    assert.equal(fs.readFileSync(path.join(r.dir, 'meta.json'), 'utf8'), TINY_META);
    assert.deepEqual(fs.readdirSync(root), [TINY_ULID]);
    assert.deepEqual(verifyBlock(r.dir), []);
  } finally {
    fs.rmSync(root, {recursive: true, force: true});
  }
});

test('§9 worked example, 3.7+ index layout and 3.x chunk form', () => {
  const root = tmpdir();
  try {
    const r = writeBlock(root, TINY_SERIES, {ulid: TINY_ULID, indexLayout: 'v3', xorForm: 'v3', fsync: false});
    assert.deepEqual(fs.readFileSync(path.join(r.dir, 'chunks', '000001')), TINY_CHUNKS_V3);
    assert.deepEqual(fs.readFileSync(path.join(r.dir, 'index')), TINY_INDEX_V3);
    assert.deepEqual(verifyBlock(r.dir), []);
  } finally {
    fs.rmSync(root, {recursive: true, force: true});
  }
});

test('default options: 3.7+ index layout with 2.x chunk form', () => {
  const root = tmpdir();
  try {
    const r = writeBlock(root, TINY_SERIES, {ulid: TINY_ULID, fsync: false});
    assert.deepEqual(fs.readFileSync(path.join(r.dir, 'chunks', '000001')), TINY_CHUNKS_V2);
    assert.equal(fs.readFileSync(path.join(r.dir, 'index')).length, TINY_INDEX_V3.length);
    const b = openBlock(r.dir);
    try {
      assert.deepEqual(b.labelNames(), ['__name__', 'job']);
      assert.deepEqual(b.labelValues('job'), ['a', 'b']);
      const s = b.series([{type: '=', name: 'job', value: 'a'}]);
      assert.equal(s.length, 1);
      assert.deepEqual(
        [...b.samples(s[0])].map((x) => [x.t, x.v]),
        [
          [1704067200000, 1],
          [1704067215000, 1],
          [1704067230500, 0],
        ],
      );
    } finally {
      b.close();
    }
  } finally {
    fs.rmSync(root, {recursive: true, force: true});
  }
});
