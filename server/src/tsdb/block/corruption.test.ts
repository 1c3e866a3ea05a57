// Bad input: flipped bytes, truncation, missing files → typed errors naming file and
// offset from openBlock / verifyBlock; never a crash.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {after, before, test} from 'node:test';
import {CorruptionError} from '../encoding/errors.ts';
import {openBlock} from './reader.ts';
import {verifyBlock} from './verify.ts';
import {type Sample, writeBlock} from './writer.ts';

let root = '';
let good = '';
before(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'tsdb-corrupt-'));
  const series = [];
  for (let s = 0; s < 5; s++) {
    const samples: Sample[] = [];
    for (let i = 0; i < 300; i++) samples.push({t: 1704067200000 + i * 15000 + s, v: (i * (s + 1)) % 17, stale: i === 299});
    series.push({labels: {__name__: 'm', s: String(s)}, samples});
  }
  good = writeBlock(path.join(root, 'good'), series, {fsync: false}).dir;
});
after(() => fs.rmSync(root, {recursive: true, force: true}));

function copy(name: string): string {
  const d = path.join(root, name, path.basename(good));
  fs.cpSync(good, d, {recursive: true});
  return d;
}

function mutate(file: string, f: (b: Buffer) => Buffer): void {
  fs.writeFileSync(file, f(fs.readFileSync(file)));
}

/** Full read through the public reader API; returns the error thrown, if any. */
function readAll(dir: string): unknown {
  try {
    const b = openBlock(dir);
    try {
      for (const s of b.series()) for (const _ of b.samples(s)) void _;
    } finally {
      b.close();
    }
    return null;
  } catch (e) {
    return e;
  }
}

test('the pristine block verifies', () => {
  assert.deepEqual(verifyBlock(good), []);
  assert.equal(readAll(good), null);
});

test('every flipped byte of chunks/000001 (but header padding) is reported with file and offset', () => {
  const d = copy('chunks-flip');
  const f = path.join(d, 'chunks', '000001');
  const orig = fs.readFileSync(f);
  for (let i = 0; i < orig.length; i += 7) {
    if (i >= 5 && i < 8) continue; // segment header padding: not checked by Prometheus either
    const b = Buffer.from(orig);
    b[i] ^= 0x10;
    fs.writeFileSync(f, b);
    const p = verifyBlock(d);
    assert.ok(p.length > 0, `flip at ${i} undetected`);
    assert.equal(p[0].file, f);
    assert.ok(p[0].offset >= 0 && p[0].offset <= i, `offset ${p[0].offset} for flip at ${i}`);
    const e = readAll(d);
    assert.ok(e instanceof CorruptionError && e.file === f, `reader error for flip at ${i}: ${String(e)}`);
  }
});

test('flipped index bytes: typed errors, only zero padding can go unnoticed', () => {
  const d = copy('index-flip');
  const f = path.join(d, 'index');
  const orig = fs.readFileSync(f);
  for (let i = 0; i < orig.length; i += 3) {
    const b = Buffer.from(orig);
    b[i] ^= 0x01;
    fs.writeFileSync(f, b);
    const p = verifyBlock(d);
    if (p.length === 0) {
      assert.equal(orig[i], 0, `non-padding flip at ${i} undetected`);
      continue;
    }
    assert.ok(p.some((x) => x.file === f && x.offset >= 0), `flip at ${i}: ${JSON.stringify(p)}`);
    const e = readAll(d);
    assert.ok(e === null || e instanceof CorruptionError, `flip at ${i}: ${String(e)}`);
  }
});

test('truncated files', () => {
  for (const rel of ['index', 'chunks/000001', 'tombstones', 'meta.json']) {
    for (const keep of [0, 3, 9, 60, -1, -5]) {
      const d = copy(`trunc-${rel.replace('/', '_')}-${keep}`);
      const f = path.join(d, rel);
      mutate(f, (b) => b.subarray(0, keep < 0 ? b.length + keep : Math.min(keep, b.length - 1)));
      const p = verifyBlock(d);
      assert.ok(p.length > 0, `${rel} truncated to ${keep}`);
      assert.equal(p[0].file, f, `${rel} truncated to ${keep}: ${JSON.stringify(p[0])}`);
      assert.ok(readAll(d) instanceof CorruptionError);
    }
  }
});

test('meta.json: flipped byte, bad version, missing file', () => {
  const d = copy('meta');
  const f = path.join(d, 'meta.json');
  const orig = fs.readFileSync(f);
  mutate(f, (b) => ((b[0] = 0x5b), b)); // '[' → invalid JSON
  let p = verifyBlock(d);
  assert.equal(p[0].file, f);
  assert.match(p[0].message, /JSON/);
  assert.ok(p[0].offset >= 0);
  fs.writeFileSync(f, orig.toString().replace('"version": 1', '"version": 2'));
  p = verifyBlock(d);
  assert.match(p[0].message, /version/);
  assert.throws(() => openBlock(d), (e: CorruptionError) => e instanceof CorruptionError && e.file === f);
  fs.writeFileSync(f, orig.toString().replace(/"numSamples": \d+/, '"numSamples": 7'));
  assert.match(verifyBlock(d)[0].message, /numSamples/);
  fs.rmSync(f);
  p = verifyBlock(d);
  assert.equal(p[0].file, f);
  assert.equal(p[0].offset, -1);
  assert.throws(() => openBlock(d), (e: CorruptionError) => e instanceof CorruptionError && e.file === f && /ENOENT/.test(e.reason));
});

test('missing chunks directory and missing block', () => {
  const d = copy('nochunks');
  fs.rmSync(path.join(d, 'chunks'), {recursive: true});
  assert.ok(verifyBlock(d).length > 0);
  assert.ok(verifyBlock(path.join(root, 'does-not-exist')).length > 0);
});
