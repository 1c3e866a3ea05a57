// The disk fills up under a running store, then frees up again. On a tmpfs of its own
// (mounted here; skipped where mount is not allowed) a DB appends scrape-like batches and
// cuts blocks while a ballast file takes every free byte:
//  - commits fail as a whole with a clear error (nothing half-applied), block cuts fail and
//    leave no temp dir and no open descriptor of a deleted file (which would keep the
//    space taken until the process exits);
//  - once the ballast is gone, commits and block cuts work again without a restart;
//  - reopened, the store holds every acknowledged batch exactly once and none of the
//    failed ones; the WAL replays without corruption and every block verifies.
import assert from 'node:assert/strict';
import {spawnSync} from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {after, test} from 'node:test';

import {verifyBlock} from './block/mod.ts';
import {DB, type DBLogger} from './db.ts';
import {listDataDir} from './retention/mod.ts';
import {BLOCK_RANGE, RANGES, RETENTION, batch, batchOf, expected, seriesKey, ts} from './testdata/db-crash-child.ts';

const mountPoint = fs.mkdtempSync(path.join(os.tmpdir(), 'tsdb-diskfull-'));
const mount = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=16m', 'tmpfs', mountPoint], {encoding: 'utf8'});
const mounted = mount.status === 0;
const skip = mounted ? false : `cannot mount a tmpfs here (${(mount.stderr || mount.error?.message || '').trim()})`;

after(() => {
  // Lazy: a failed test may leave the store open.
  if (mounted) spawnSync('umount', ['-l', mountPoint]);
  fs.rmSync(mountPoint, {recursive: true, force: true});
});

/** Fills the file system: writes until ENOSPC. */
function fillUp(file: string): void {
  const fd = fs.openSync(file, 'w');
  const chunk = Buffer.alloc(64 * 1024, 1);
  try {
    for (;;) fs.writeSync(fd, chunk);
  } catch (e) {
    assert.equal((e as NodeJS.ErrnoException).code, 'ENOSPC');
  } finally {
    fs.closeSync(fd);
  }
}

/** Files this process holds open that are deleted or half-made block files. */
function strayDescriptors(): string[] {
  const out: string[] = [];
  for (const fd of fs.readdirSync('/proc/self/fd')) {
    let target = '';
    try {
      target = fs.readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      continue;
    }
    if (target.startsWith(mountPoint) && (target.endsWith('(deleted)') || target.includes('.tmp-for-creation'))) out.push(target);
  }
  return out;
}

void test('a full disk fails commits and block cuts cleanly; freed, the store goes on and loses nothing acknowledged', {skip, timeout: 120_000}, async (t) => {
  const dir = path.join(mountPoint, 'data');
  const problems: string[] = [];
  const logger: DBLogger = {info() {}, warn: (m, f) => problems.push(`warn ${m} ${JSON.stringify(f)}`), error: (m, f) => problems.push(`error ${m} ${JSON.stringify(f)}`)};
  let db = DB.open({dir, fsync: false, blockRangeMs: BLOCK_RANGE, compactionRanges: RANGES, retentionMs: RETENTION, logger});
  const acked: number[] = [];
  const failed: number[] = [];
  const errors = new Set<string>();
  let k = 0;
  const step = async (n: number, maintain = true): Promise<void> => {
    for (const end = k + n; k < end; k++) {
      const app = db.appender();
      for (const s of batch(k)) app.append(s.labels, ts(k), s.v, s.stale);
      try {
        app.commit();
        acked.push(k);
      } catch (e) {
        failed.push(k);
        errors.add((e as Error).message.replace(/\d+/g, 'N'));
      }
      if (maintain && k % 10 === 0) await db.maintain().catch((e: Error) => errors.add(`maintain: ${e.message.replace(/\d+/g, 'N')}`));
    }
  };

  await step(200); // blocks cut as the head grows
  assert.equal(failed.length, 0);
  await step(120, false); // a block cut is due
  const ballast = path.join(mountPoint, 'ballast');
  fillUp(ballast);
  await assert.rejects(db.maintain(), /ENOSPC|no space/i, 'the due block cut fails and says why');
  await step(200);
  assert.ok(failed.length > 0, 'commits fail on a full disk');
  assert.ok([...errors].some((m) => /ENOSPC|no space/i.test(m)), `the errors say why: ${[...errors].join(' | ')}`);
  assert.deepEqual(fs.readdirSync(dir).filter((n) => n.includes('.tmp')), [], 'no temp dir left by a failed block cut');
  // WAL segments retired by a truncation are closed by the next background fsync (1 s).
  await new Promise((r) => setTimeout(r, 1_500));
  assert.deepEqual(strayDescriptors(), [], 'no descriptor of a deleted or half-made file');

  fs.rmSync(ballast);
  const failedBefore = failed.length;
  await step(200);
  assert.equal(failed.length, failedBefore, `commits work again once there is space: ${[...errors].join(' | ')}`);
  await db.maintain();
  assert.ok(db.blocks().length > 0);
  t.diagnostic(`${acked.length} batches acknowledged, ${failed.length} failed while the disk was full; errors: ${[...errors].join(' | ')}`);
  await db.close();

  problems.length = 0;
  db = DB.open({dir, fsync: false, blockRangeMs: BLOCK_RANGE, compactionRanges: RANGES, retentionMs: RETENTION, logger});
  try {
    assert.deepEqual(problems, [], 'the reopen logged no problem');
    assert.equal(db.head.replayStats!.corruptions, 0, 'the WAL replays without corruption');
    for (const b of listDataDir(dir).blocks) assert.deepEqual(verifyBlock(b.dir), [], `block ${b.ulid}`);
    // Every acknowledged batch exactly once, no failed batch at all.
    const got = new Map<number, number>();
    for (const s of db.querier().select([{type: '=', name: 'job', value: 'crash'}], -Infinity, Infinity)) {
      const key = seriesKey(s.labels);
      for (const x of s.samples) {
        const bk = batchOf(x.t);
        const e = expected(key, bk);
        assert.ok(e, `${key} has a sample in batch ${bk}`);
        if (!e.stale) assert.equal(x.v, e.v, `${key}@${bk}`);
        got.set(bk, (got.get(bk) ?? 0) + 1);
      }
    }
    for (const bk of acked) assert.equal(got.get(bk), batch(bk).length, `acknowledged batch ${bk} complete`);
    for (const bk of failed) assert.equal(got.get(bk), undefined, `failed batch ${bk} absent`);
  } finally {
    await db.close();
  }
});
