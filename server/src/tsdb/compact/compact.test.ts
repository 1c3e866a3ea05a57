// compact(): overlapping blocks, level-up, crash at every step, corrupt inputs.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {after, before, describe, test} from 'node:test';
import {type Block, type SeriesInput, openBlock, readMetaFile, verifyBlock, writeBlock} from '../block/mod.ts';
import {blockSource, mergeSources} from '../querier/mod.ts';
import {listDataDir, removeLeftovers} from '../retention/mod.ts';
import {type CompactStep, compact} from './compact.ts';
import {DAY0, type Expected, H, addExpected, blockDirs, dirNames, dumpExpected, dumpSource, genSeries} from './testfixtures.ts';

let root = '';
before(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'tsdb-compact-'));
});
after(() => {
  if (root) fs.rmSync(root, {recursive: true, force: true});
});

const FAST = {fsync: false};

function write(dataDir: string, series: SeriesInput[], fromH: number, toH: number, exp: Expected): string {
  addExpected(exp, series);
  return writeBlock(dataDir, series, {fsync: false, minTime: DAY0 + fromH * H, maxTime: DAY0 + toH * H}).ulid;
}

/** Reads every readable block of the data dir through the querier. */
function readAll(dataDir: string): Map<string, [number, number, number][]> {
  const blocks: Block[] = listDataDir(dataDir).blocks.map((b) => openBlock(b.dir));
  try {
    return dumpSource(mergeSources(blocks.map(blockSource)));
  } finally {
    for (const b of blocks) b.close();
  }
}

function spans(dataDir: string): [number, number, number][] {
  return listDataDir(dataDir).blocks.map((b) => [(b.meta.minTime - DAY0) / H, (b.meta.maxTime - DAY0) / H, b.meta.compaction.level]);
}

/** Data dir with two scrapers + a re-synced copy in [0,2), and a day of 2h blocks after. */
function fixture(dataDir: string, n = 40): Expected {
  const exp: Expected = new Map();
  const a = genSeries(n, DAY0, DAY0 + 2 * H);
  write(dataDir, a, 0, 2, exp);
  // Re-synced copy: identical samples, except a few conflicting values.
  write(dataDir, genSeries(n, DAY0, DAY0 + 2 * H, {bump: (i) => (i % 50 === 7 ? 0.25 : 0)}), 0, 2, exp);
  // Second scraper: the same series 20 s later (interleaves), over a shifted range.
  write(dataDir, genSeries(n, DAY0 + H, DAY0 + 3 * H, {offset: 20_000}), 1, 3, exp);
  for (let i = 2; i < 13; i++) write(dataDir, genSeries(n, DAY0 + 2 * i * H, DAY0 + (2 * i + 2) * H), 2 * i, 2 * i + 2, exp);
  return exp;
}

describe('compact', () => {
  let clean = '';
  let exp: Expected = new Map();

  test('overlapping blocks merge, then level up to 24h; every block verifies', () => {
    clean = path.join(root, 'clean');
    exp = fixture(clean);
    const before = listDataDir(clean).blocks;
    assert.deepEqual(readAll(clean), dumpExpected(exp), 'querier over the inputs');
    const res = compact(clean, FAST);
    assert.deepEqual(res.errors, []);
    assert.equal(res.created[0].kind, 'overlap');
    assert.equal(res.created[0].parents.length, 3);
    assert.deepEqual(spans(clean), [
      [0, 24, 4],
      [24, 26, 1],
    ]);
    for (const d of blockDirs(clean)) assert.deepEqual(verifyBlock(d), [], d);
    assert.deepEqual(readAll(clean), dumpExpected(exp), 'deduplicated samples, nothing lost');
    const day = listDataDir(clean).blocks[0].meta;
    assert.deepEqual(day.compaction.sources, before.filter((b) => b.meta.maxTime <= DAY0 + 24 * H).map((b) => b.ulid).sort());
    assert.ok(day.compaction.parents!.length >= 2);
    let total = 0;
    for (const m of exp.values()) total += m.size;
    assert.equal(day.stats!.numSamples! + listDataDir(clean).blocks[1].meta.stats!.numSamples!, total);
    // Idempotent: a second run does nothing.
    assert.deepEqual(compact(clean, FAST), {created: [], deleted: [], errors: []});
  });

  test('a crash at any step, then a re-run: same blocks, same samples, no leftovers', () => {
    const base = path.join(root, 'crash-base');
    fixture(base, 8);
    // Count the steps of a clean run.
    const events: [CompactStep, string][] = [];
    const probe = path.join(root, 'probe');
    fs.cpSync(base, probe, {recursive: true});
    compact(probe, {...FAST, onStep: (s, u) => events.push([s, u])});
    assert.ok(events.length > 20, `${events.length} steps`);
    const want = dumpExpected(fixture(path.join(root, 'crash-ref'), 8));
    for (let k = 0; k < events.length; k++) {
      const dir = path.join(root, `crash-${k}`);
      fs.cpSync(base, dir, {recursive: true});
      let n = 0;
      assert.throws(
        () =>
          compact(dir, {
            ...FAST,
            onStep: () => {
              if (n++ === k) throw new Error('simulated crash');
            },
          }),
        /simulated crash/,
      );
      // At the crash point, the blocks on disk already return exactly the expected samples.
      assert.deepEqual(readAll(dir), want, `after a crash at step ${k} (${events[k][0]})`);
      const res = compact(dir, FAST);
      assert.deepEqual(res.errors, [], `rerun after step ${k}`);
      removeLeftovers(dir);
      assert.deepEqual(spans(dir), spans(clean), `blocks after a crash at step ${k} (${events[k][0]})`);
      assert.equal(dirNames(dir).length, 2, dirNames(dir).join(' '));
      assert.deepEqual(readAll(dir), want);
      for (const d of blockDirs(dir)) assert.deepEqual(verifyBlock(d), [], d);
      fs.rmSync(dir, {recursive: true});
    }
  });

  test('a crash while writing (partial .tmp-for-creation) is a harmless leftover', () => {
    const dir = path.join(root, 'partial');
    const e: Expected = new Map();
    write(dir, genSeries(5, DAY0, DAY0 + 2 * H), 0, 2, e);
    write(dir, genSeries(5, DAY0, DAY0 + 2 * H), 0, 2, e);
    const tmp = path.join(dir, '01JQ0000000000000000000000.tmp-for-creation');
    fs.mkdirSync(path.join(tmp, 'chunks'), {recursive: true});
    fs.writeFileSync(path.join(tmp, 'chunks', '000001'), Buffer.from([0x85, 0xbd]));
    const res = compact(dir, FAST);
    assert.equal(res.created.length, 1);
    assert.deepEqual(removeLeftovers(dir), [tmp]);
    assert.equal(dirNames(dir).length, 1);
    assert.deepEqual(readAll(dir), dumpExpected(e));
  });

  test('a corrupt block among the inputs is skipped with a clear error and never deleted', () => {
    const dir = path.join(root, 'corrupt');
    const e: Expected = new Map();
    const good1 = write(dir, genSeries(10, DAY0, DAY0 + 2 * H), 0, 2, e);
    const bad = write(dir, genSeries(10, DAY0, DAY0 + 2 * H, {offset: 30_000}), 0, 2, new Map());
    const good2 = write(dir, genSeries(10, DAY0 + H, DAY0 + 3 * H, {offset: 10_000}), 1, 3, e);
    const unreadable = path.join(dir, '01JQ1111111111111111111111');
    fs.mkdirSync(unreadable);
    fs.writeFileSync(path.join(unreadable, 'meta.json'), '{not json');
    // Flip a byte inside the first chunk's data: its CRC no longer matches.
    const seg = path.join(dir, bad, 'chunks', '000001');
    const bytes = fs.readFileSync(seg);
    bytes[20] ^= 0xff;
    fs.writeFileSync(seg, bytes);
    const before = fs.readFileSync(seg);
    const res = compact(dir, FAST);
    const badErr = res.errors.find((x) => x.dir === path.join(dir, bad));
    assert.ok(badErr, JSON.stringify(res.errors));
    assert.match(badErr.message, /checksum|crc/i);
    assert.ok(res.errors.some((x) => x.dir === unreadable && /unreadable block/.test(x.message)));
    assert.ok(fs.readFileSync(seg).equals(before), 'corrupt block untouched');
    assert.ok(fs.existsSync(path.join(unreadable, 'meta.json')));
    // The good overlapping blocks were still compacted together.
    assert.equal(res.created.length, 1);
    assert.deepEqual(res.created[0].parents.sort(), [good1, good2].sort());
    const created = path.join(dir, res.created[0].ulid);
    assert.deepEqual(verifyBlock(created), []);
    assert.equal(readMetaFile(created).compaction.level, 2);
    const b = openBlock(created);
    try {
      assert.deepEqual(dumpSource(blockSource(b)), dumpExpected(e));
    } finally {
      b.close();
    }
  });
});
