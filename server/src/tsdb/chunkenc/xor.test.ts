import assert from 'node:assert/strict';
import {spawnSync} from 'node:child_process';
import fs from 'node:fs';
import {test} from 'node:test';
import {STALE_NAN_HI, STALE_NAN_LO, floatHi, floatLo, wordsToFloat} from './chunk.ts';
import {XORAppender, XORColumns, XORIterator, XOR_HI, XOR_LO, decodeXORInto} from './xor.ts';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

test('spec §9.1 chunks (2.x form, with trailing byte) and §9.4 stale marker (3.x form)', () => {
  const a = new XORAppender({form: 'v2'});
  a.append(1704067200000, 1);
  a.append(1704067215000, 1);
  a.append(1704067230500, 0);
  assert.equal(hex(a.bytes()), '000380d08fa598633ff0000000000000987540fa622bff');
  const b = new XORAppender({form: 'v2'});
  b.append(1704067200000, 2.5);
  assert.equal(hex(b.bytes()), '000180d08fa59863400400000000000000');
  const b3 = new XORAppender({form: 'v3'});
  b3.append(1704067200000, 2.5);
  assert.equal(hex(b3.bytes()), '000180d08fa598634004000000000000');
  const c = new XORAppender({form: 'v3'});
  c.append(1000, 1);
  c.appendStale(2000);
  assert.equal(hex(c.bytes()), '0002d00f3ff0000000000000e807c3f40000000000000020');
  const it = new XORIterator(c.bytes());
  assert.ok(it.next() && it.next());
  assert.ok(it.isStale());
  assert.equal(it.hi, STALE_NAN_HI);
  assert.equal(it.lo, STALE_NAN_LO);
});

function rnd(seed: number): () => number {
  return () => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed / 2 ** 32;
  };
}

function randomSamples(seed: number, n: number): {t: number; hi: number; lo: number}[] {
  const r = rnd(seed);
  const out: {t: number; hi: number; lo: number}[] = [];
  let t = Math.floor(r() * 2e12) - 1e12;
  let v = r() * 100;
  for (let i = 0; i < n; i++) {
    const k = r();
    t += k < 0.5 ? 15000 : k < 0.7 ? 1 + Math.floor(r() * 20000) : k < 0.8 ? 1 + Math.floor(r() * 2e6) : k < 0.9 ? 1 + Math.floor(r() * 1e12) : 15000 + Math.floor(r() * 11) - 5;
    const m = r();
    let hi: number;
    let lo: number;
    if (m < 0.3) {
      /* repeat */ hi = floatHi(v);
      lo = floatLo(v);
    } else if (m < 0.35) {
      hi = STALE_NAN_HI;
      lo = STALE_NAN_LO;
    } else if (m < 0.4) {
      hi = [0x7ff00000, 0xfff00000, 0x80000000, 0x7ff80000][Math.floor(r() * 4)];
      lo = hi === 0x7ff80000 ? 1 : 0;
    } else if (m < 0.45) {
      hi = (r() * 2 ** 32) >>> 0;
      lo = (r() * 2 ** 32) >>> 0;
    } else {
      v = m < 0.7 ? Math.round(v + r() * 10) : v + (r() - 0.5);
      hi = floatHi(v);
      lo = floatLo(v);
    }
    out.push({t, hi, lo});
  }
  return out;
}

test('random round-trip, bit-exact values incl. stale/NaN/Inf/-0, large time deltas', () => {
  for (let seed = 1; seed <= 200; seed++) {
    const s = randomSamples(seed, 1 + (seed % 250));
    for (const form of ['v2', 'v3'] as const) {
      const a = new XORAppender({form});
      for (const x of s) a.appendBits(x.t, x.hi, x.lo);
      const it = new XORIterator(a.bytes());
      for (const x of s) {
        assert.ok(it.next(), `seed ${seed}: ${it.err}`);
        assert.deepEqual([it.t, it.hi, it.lo], [x.t, x.hi, x.lo]);
      }
      assert.equal(it.next(), false);
      assert.equal(it.err, null);
    }
  }
});

test('appending to an existing chunk equals encoding in one go (both forms)', () => {
  for (let seed = 1; seed <= 100; seed++) {
    const s = randomSamples(seed * 7, 2 + (seed % 120));
    const cut = seed % s.length;
    for (const form of ['v2', 'v3'] as const) {
      const one = new XORAppender({form});
      for (const x of s) one.appendBits(x.t, x.hi, x.lo);
      const first = new XORAppender({form});
      for (const x of s.slice(0, cut)) first.appendBits(x.t, x.hi, x.lo);
      const again = XORAppender.fromChunk(first.bytes().slice(), {form});
      assert.equal(hex(again.bytes()), hex(first.bytes()));
      for (const x of s.slice(cut)) again.appendBits(x.t, x.hi, x.lo);
      assert.equal(hex(again.bytes()), hex(one.bytes()), `seed ${seed} form ${form}`);
    }
  }
});

test('rejects out-of-order timestamps; truncated data is an error, not a crash', () => {
  const a = new XORAppender();
  a.append(10, 1);
  assert.throws(() => a.append(10, 2));
  a.append(20, 2);
  a.append(35, 3);
  const b = a.bytes();
  for (let n = 0; n < b.length - 1; n++) {
    const it = new XORIterator(b.subarray(0, n));
    while (it.next()) {
      /* drain */
    }
    assert.notEqual(it.err, null, `truncated to ${n}`);
  }
});

/** What XORIterator yields for `data`: [t, hi, lo] per sample, then its err. */
function iterated(data: Uint8Array): {samples: number[][]; err: string | null} {
  const it = new XORIterator(data);
  const samples: number[][] = [];
  while (it.next()) samples.push([it.t, it.hi, it.lo]);
  return {samples, err: it.err};
}

function bulk(data: Uint8Array, cols: XORColumns): {samples: number[][]; err: string | null} {
  const n = decodeXORInto(data, cols);
  const samples: number[][] = [];
  for (let i = 0; i < n; i++) samples.push([cols.t[i], cols.words[2 * i + XOR_HI], cols.words[2 * i + XOR_LO]]);
  for (let i = 0; i < n; i++) assert.ok(Object.is(cols.v[i], wordsToFloat(cols.words[2 * i + XOR_HI], cols.words[2 * i + XOR_LO])) || Number.isNaN(cols.v[i]));
  return {samples, err: cols.err};
}

test('decodeXORInto yields exactly what XORIterator yields, on valid, truncated and corrupted chunks', () => {
  const cols = new XORColumns();
  let corrupted = 0;
  for (let seed = 1; seed <= 300; seed++) {
    const s = randomSamples(seed * 13, 1 + (seed % 200));
    const a = new XORAppender({form: seed % 2 === 0 ? 'v2' : 'v3'});
    for (const x of s) a.appendBits(x.t, x.hi, x.lo);
    const good = a.bytes().slice();
    assert.deepEqual(bulk(good, cols), iterated(good), `seed ${seed}`);
    const r = rnd(seed + 7);
    for (let k = 0; k < 20; k++) {
      const bad = good.slice(0, k % 4 === 0 ? Math.floor(r() * good.length) : good.length);
      const flips = 1 + Math.floor(r() * 4);
      for (let f = 0; f < flips && bad.length > 0; f++) bad[Math.floor(r() * bad.length)] ^= 1 << Math.floor(r() * 8);
      if (r() < 0.2 && bad.length > 2) bad[Math.floor(r() * bad.length)] = 0xff; // varint runs, 64-bit dods, wide windows
      const want = iterated(bad);
      if (want.err !== null) corrupted++;
      assert.deepEqual(bulk(bad, cols), want, `seed ${seed} mutation ${k}`);
    }
  }
  assert.ok(corrupted > 1000, `only ${corrupted} mutations were errors`);
  for (const data of [new Uint8Array(0), new Uint8Array([0]), new Uint8Array([0, 0]), new Uint8Array([0, 1]), new Uint8Array([0, 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])]) {
    assert.deepEqual(bulk(data, cols), iterated(data));
  }
});

// Cross-check with the independent Python reference (spec/tsdb-verify/tsdbcheck.py) when present.
const PY = '/work/shared/spec/tsdb-verify/tsdbcheck.py';
test('byte-identical to the Python reference encoder', {skip: !fs.existsSync(PY) && 'reference scripts not present'}, () => {
  const cases = [];
  for (let seed = 1; seed <= 60; seed++) cases.push(randomSamples(seed * 13, 1 + ((seed * 37) % 240)));
  const js = cases.map((s) => s.map((x) => [x.t, (BigInt(x.hi) << 32n) | BigInt(x.lo)]));
  const script = `
import sys, json; sys.path.insert(0, '/work/shared/spec/tsdb-verify')
from tsdbcheck import xor_encode
cases = json.loads(sys.stdin.read())
print(json.dumps([[xor_encode([(t, int(v)) for t, v in c], legacy=True).hex(), xor_encode([(t, int(v)) for t, v in c]).hex()] for c in cases]))`;
  const r = spawnSync('python3', ['-c', script], {input: JSON.stringify(js, (_, v) => (typeof v === 'bigint' ? v.toString() : v)), encoding: 'utf8'});
  if (r.status !== 0) assert.fail(r.stderr);
  const want = JSON.parse(r.stdout) as [string, string][];
  cases.forEach((s, i) => {
    for (const [k, form] of [[0, 'v2'], [1, 'v3']] as const) {
      const a = new XORAppender({form});
      for (const x of s) a.appendBits(x.t, x.hi, x.lo);
      assert.equal(hex(a.bytes()), want[i][k], `case ${i} ${form}`);
    }
  });
});
