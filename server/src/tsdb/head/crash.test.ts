// Crash test: a child process appends scrape-like batches to a head + WAL and is
// kill -9'ed at random moments; after each kill the store must reopen with every
// acknowledged batch present exactly (kill -9 keeps the page cache, so nothing that
// commit() returned for may be lost; the fsync interval only matters for power loss),
// at most the one in-flight batch extra, and nothing corrupt. 10 rounds per mode by
// default; TSDB_CRASH_ROUNDS=N for more.

import assert from 'node:assert/strict';
import {spawn} from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {after, describe, test} from 'node:test';
import {fileURLToPath} from 'node:url';
import {openBlock, readMetaFile, verifyBlock} from '../block/mod.ts';
import {labelValue} from '../labels/mod.ts';
import {Head} from './mod.ts';
import {SERIES, STEP, value} from './testdata/crash-child.ts';

const ROUNDS = Number(process.env.TSDB_CRASH_ROUNDS ?? 10);
const child = path.join(path.dirname(fileURLToPath(import.meta.url)), 'testdata', 'crash-child.ts');
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tsdb-crash-'));
after(() => fs.rmSync(root, {recursive: true, force: true}));

async function runAndKill(dir: string, mode: string, ms: number): Promise<number> {
  const p = spawn(process.execPath, ['--import', 'tsx', child, dir, mode], {stdio: ['ignore', 'pipe', 'pipe']});
  let out = '';
  let err = '';
  let lastAck = -1;
  let started = false;
  let startedAt = 0;
  p.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    const lines = out.split('\n');
    out = lines.pop()!;
    for (const l of lines) {
      const m = /^ack (\d+)$/.exec(l);
      if (m) lastAck = Number(m[1]);
      if (!started) {
        started = true;
        startedAt = Date.now();
      }
    }
  });
  p.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((r) => p.once('exit', (code) => r(code)));
  const deadline = Date.now() + 20_000;
  while (!(started && Date.now() - startedAt >= ms)) {
    if (p.exitCode !== null) throw new Error(`child exited ${p.exitCode}: ${err}`);
    if (Date.now() > deadline) throw new Error(`child did not start: ${err}`);
    await new Promise((r) => setTimeout(r, 2));
  }
  process.kill(p.pid!, 'SIGKILL');
  await exited;
  // Acks already written by the child before the kill may still be in the pipe.
  await new Promise((r) => setTimeout(r, 20));
  assert.ok(!/Error/.test(err), err);
  return lastAck;
}

function check(dir: string, lastAck: number, round: number): number {
  let minValid = -Infinity;
  const got = new Map<number, {t: number; v: number; stale: boolean}[]>();
  const add = (i: number, t: number, v: number, stale: boolean): void => {
    if (!got.has(i)) got.set(i, []);
    got.get(i)!.push({t, v, stale});
  };
  const blocks = fs
    .readdirSync(dir)
    .filter((n) => /^[0-9A-Z]{26}$/.test(n))
    .sort();
  for (const b of blocks) {
    const bd = path.join(dir, b);
    assert.deepEqual(verifyBlock(bd), [], `round ${round}: block ${b}`);
    minValid = Math.max(minValid, readMetaFile(bd).maxTime);
    const blk = openBlock(bd);
    for (const s of blk.series()) for (const x of blk.samples(s)) add(Number(labelValue(s.labels, 'i')), x.t, x.v, x.stale);
    blk.close();
  }
  const head = Head.open(path.join(dir, 'mm-wal'), {minValidTime: minValid});
  const rs = head.replayStats!;
  assert.equal(rs.corruptions, 0, `round ${round}: corruption`);
  for (const s of head.select([], -Infinity, Infinity)) {
    for (const x of s.samples) add(Number(labelValue(s.labels, 'i')), x.t, x.v, x.stale);
  }
  head.close();
  assert.equal(got.size, SERIES, `round ${round}: series`);
  let last = -1;
  for (const [i, xs] of got) {
    xs.sort((a, b) => a.t - b.t);
    for (let k = 0; k < xs.length; k++) {
      const want = k * STEP;
      assert.equal(xs[k].t, want, `round ${round}: series ${i} sample ${k} (lost or duplicated)`);
      if (i === 0 && k % 7 === 0) assert.ok(xs[k].stale, `round ${round}: stale marker`);
      else assert.equal(xs[k].v, value(i, k));
    }
    if (last === -1) last = xs.length - 1;
    assert.equal(xs.length - 1, last, `round ${round}: batches are atomic across series`);
  }
  assert.ok(last >= lastAck, `round ${round}: acknowledged batch ${lastAck} lost (have ${last})`);
  assert.ok(last <= lastAck + 1, `round ${round}: more than the in-flight batch (${last} vs ack ${lastAck})`);
  return last;
}

describe('crash (kill -9)', {timeout: 600_000}, () => {
  for (const mode of ['wal', 'blocks']) {
    test(`${mode}: ${ROUNDS} rounds of kill -9 at random moments`, async () => {
      const dir = path.join(root, mode);
      fs.mkdirSync(dir);
      let prev = -1;
      for (let round = 0; round < ROUNDS; round++) {
        const lastAck = await runAndKill(dir, mode, 50 + Math.floor(Math.random() * 350));
        const last = check(dir, lastAck, round);
        assert.ok(last > prev, `round ${round}: progress`);
        prev = last;
      }
      if (mode === 'blocks') assert.ok(fs.readdirSync(dir).some((n) => /^[0-9A-Z]{26}$/.test(n)), 'blocks were cut');
    });
  }
});
