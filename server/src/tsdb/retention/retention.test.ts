import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {after, before, describe, test} from 'node:test';
import {writeBlock} from '../block/mod.ts';
import {deleteBlockDir, dirBytes, listDataDir, removeLeftovers} from './dirs.ts';
import {applyRetention, dataDirStats, planRetention} from './retention.ts';

const H = 3_600_000;
const T0 = Date.UTC(2025, 0, 1);

let root = '';
before(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'tsdb-retention-'));
});
after(() => {
  if (root) fs.rmSync(root, {recursive: true, force: true});
});

/** Data dir with `n` 2h blocks, plus things that must never be deleted. */
function dataDir(name: string, n: number): {dir: string; ulids: string[]} {
  const dir = path.join(root, name);
  const ulids: string[] = [];
  for (let i = 0; i < n; i++) {
    const series = Array.from({length: 5}, (_, s) => ({
      labels: {__name__: 'm', s: String(s)},
      samples: Array.from({length: 120}, (_, k) => ({t: T0 + i * 2 * H + k * 60_000, v: k * s})),
    }));
    ulids.push(writeBlock(dir, series, {fsync: false, minTime: T0 + i * 2 * H, maxTime: T0 + (i + 1) * 2 * H}).ulid);
  }
  fs.mkdirSync(path.join(dir, 'wal'));
  fs.writeFileSync(path.join(dir, 'wal', '00000000'), 'x');
  fs.mkdirSync(path.join(dir, 'chunks_head'));
  fs.writeFileSync(path.join(dir, 'lock'), '');
  fs.mkdirSync(path.join(dir, 'not-a-block.tmp')); // not ULID-named: not ours
  fs.writeFileSync(path.join(dir, '01JQ2222222222222222222222.tmp'), 'a file, not a dir');
  return {dir, ulids};
}

const KEEP = ['wal', 'chunks_head', 'lock', 'not-a-block.tmp', '01JQ2222222222222222222222.tmp'];

describe('planRetention (pure)', () => {
  const b = (ulid: string, fromH: number, toH: number, bytes = 100) => ({ulid, minTime: fromH * H, maxTime: toH * H, bytes});
  test('time: newest.maxTime − maxTime ≥ retention goes; the newest never goes by time', () => {
    const blocks = [b('A', 0, 2), b('B', 2, 4), b('C', 4, 6), b('D', 6, 8)];
    assert.deepEqual(planRetention(blocks, {retentionMs: 4 * H}).map((d) => [d.ulid, d.reason]), [
      ['A', 'time'],
      ['B', 'time'],
    ]);
    assert.deepEqual(planRetention(blocks, {retentionMs: 4 * H + 1}).map((d) => d.ulid), ['A']);
    assert.deepEqual(planRetention([b('A', 0, 2)], {retentionMs: 1}), []);
    assert.deepEqual(planRetention(blocks, {}), []);
  });
  test('keep: the time limit spares blocks not in the file store yet; the size limit does not', () => {
    const blocks = [b('A', 0, 2), b('B', 2, 4), b('C', 4, 6), b('D', 6, 8)];
    assert.deepEqual(planRetention(blocks, {retentionMs: 4 * H, keep: ['A']}).map((d) => [d.ulid, d.reason]), [['B', 'time']]);
    assert.deepEqual(planRetention(blocks, {retentionMs: 4 * H, keep: ['A', 'B']}), []);
    assert.deepEqual(planRetention(blocks, {retentionMs: 4 * H, maxBytes: 250, keep: ['A', 'B']}).map((d) => [d.ulid, d.reason]), [
      ['A', 'size'],
      ['B', 'size'],
    ]);
  });
  test('size: oldest go until blocks + head ≤ limit; head counted', () => {
    const blocks = [b('A', 0, 2, 100), b('B', 2, 4, 100), b('C', 4, 6, 100)];
    assert.deepEqual(planRetention(blocks, {maxBytes: 300}), []);
    assert.deepEqual(planRetention(blocks, {maxBytes: 299}).map((d) => [d.ulid, d.reason]), [['A', 'size']]);
    assert.deepEqual(planRetention(blocks, {maxBytes: 300, headBytes: 150}).map((d) => d.ulid), ['A', 'B']);
    assert.deepEqual(planRetention(blocks, {maxBytes: 99, headBytes: 0}).map((d) => d.ulid), ['A', 'B', 'C']);
    // Both apply: time is reported for the blocks it covers.
    assert.deepEqual(planRetention(blocks, {maxBytes: 150, retentionMs: 4 * H}).map((d) => [d.ulid, d.reason]), [
      ['A', 'time'],
      ['B', 'size'],
    ]);
  });
});

describe('applyRetention', () => {
  test('by time, with leftovers; never touches non-block entries', () => {
    const {dir, ulids} = dataDir('time', 6);
    const creating = path.join(dir, `${ulids[0].slice(0, 20)}ZZZZZZ.tmp-for-creation`);
    const deleting = path.join(dir, `${ulids[1].slice(0, 20)}YYYYYY.tmp-for-deletion`);
    const legacy = path.join(dir, `${ulids[2].slice(0, 20)}XXXXXX.tmp`);
    for (const d of [creating, deleting, legacy]) fs.mkdirSync(path.join(d, 'chunks'), {recursive: true});
    const res = applyRetention(dir, {retentionMs: 6 * H, fsync: false});
    assert.deepEqual(res.deleted.map((d) => d.ulid).sort(), ulids.slice(0, 3).sort());
    assert.ok(res.deleted.every((d) => d.reason === 'time' && d.bytes > 0));
    assert.deepEqual(res.leftoversRemoved.sort(), [creating, deleting, legacy].sort());
    assert.deepEqual(fs.readdirSync(dir).sort(), [...ulids.slice(3), ...KEEP].sort());
    assert.equal(res.stats.blocks, 3);
    assert.equal(res.stats.minTime, T0 + 6 * H);
    assert.equal(res.stats.maxTime, T0 + 12 * H);
  });

  test('by size, counting the head', () => {
    const {dir, ulids} = dataDir('size', 5);
    const per = dirBytes(path.join(dir, ulids[0]));
    const stats = dataDirStats(dir);
    assert.equal(stats.blocks, 5);
    assert.ok(Math.abs(stats.bytes - 5 * per) < 5 * 64, `${stats.bytes} vs 5 × ${per}`);
    const res = applyRetention(dir, {maxBytes: stats.bytes, headBytes: 2 * per + 100, fsync: false});
    assert.deepEqual(res.deleted.map((d) => [d.ulid, d.reason]), [
      [ulids[0], 'size'],
      [ulids[1], 'size'],
      [ulids[2], 'size'],
    ]);
    assert.ok(res.stats.bytes + 2 * per + 100 <= stats.bytes);
    for (const k of KEEP) assert.ok(fs.existsSync(path.join(dir, k)), k);
  });

  test('a crash between rename and removal leaves a leftover, never a half block', () => {
    const {dir, ulids} = dataDir('crash', 3);
    assert.throws(
      () =>
        applyRetention(dir, {
          retentionMs: 2 * H,
          fsync: false,
          afterRename: () => {
            throw new Error('simulated crash');
          },
        }),
      /simulated crash/,
    );
    const l = listDataDir(dir);
    assert.deepEqual(l.blocks.map((b) => b.ulid), ulids.slice(1));
    assert.deepEqual(l.leftovers, [path.join(dir, `${ulids[0]}.tmp-for-deletion`)]);
    const res = applyRetention(dir, {retentionMs: 2 * H, fsync: false});
    assert.deepEqual(res.leftoversRemoved, l.leftovers);
    assert.deepEqual(res.deleted.map((d) => d.ulid), [ulids[1]]);
    assert.deepEqual(listDataDir(dir).blocks.map((b) => b.ulid), [ulids[2]]);
  });

  test('unreadable block dirs are reported, not counted, not deleted', () => {
    const {dir, ulids} = dataDir('unreadable', 3);
    const bad = path.join(dir, '01JQ3333333333333333333333');
    fs.mkdirSync(bad);
    fs.writeFileSync(path.join(bad, 'meta.json'), '{}');
    const res = applyRetention(dir, {retentionMs: 1, maxBytes: 1, fsync: false});
    assert.equal(res.deleted.length, 3);
    assert.equal(res.unreadable.length, 1);
    assert.ok(fs.existsSync(path.join(bad, 'meta.json')));
    assert.ok(!ulids.some((u) => fs.existsSync(path.join(dir, u))));
    assert.throws(() => deleteBlockDir(dir, 'wal'), /not a block ULID/);
    assert.deepEqual(removeLeftovers(dir), []);
  });
});
