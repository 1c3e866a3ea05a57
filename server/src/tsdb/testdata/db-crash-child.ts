// Crash-test child (db.crash.test.ts): opens a whole DB (head + WAL + blocks) on argv[2]
// with a WorkerPool runner and settings scaled down so that block cuts, compactions and
// retention happen many times a second, then appends scrape-like batches with synthetic
// timestamps from batch argv[3] on while maintain() runs in a loop (and now and then
// flush(), as a dump does). It reports on stdout, one line each (stdout is a pipe,
// written synchronously on Linux: a line written before the kill reaches the parent):
//
//   opening                       before DB.open (WAL replay, leftover removal)
//   ready <k>                     DB open, first batch to append is k
//   ack <k>                       batch k committed (commit() returned)
//   phase cut <mint> <maxt>       the worker is about to write a head block
//   phase checkpoint              the block is written; head + WAL truncation follow
//   phase compact                 a compaction (or superseded-block recovery) is planned
//   phase retention               retention will delete at least one block
//   phase idle                    the step above finished
//   upkeep done                   one maintain() (or flush()) finished
//
// Warnings and errors of the DB go to stderr ("log <level> …"); the parent fails on them.
// The parent kill -9s this process at random moments, biased towards the phases.

import path from 'node:path';
import {WorkerPool} from '../../worker/mod.ts';
import {findSuperseded, plan} from '../compact/mod.ts';
import {DB, type DBLogger, type TaskRunner} from '../db.ts';
import {listDataDir, planRetention} from '../retention/mod.ts';

const MIN = 60_000;
export const T0 = Date.UTC(2026, 0, 1);
/** Sample time between batches. */
export const STEP = 5_000;
/** Head block range: a cut every 60 batches (once the head spans 90). */
export const BLOCK_RANGE = 5 * MIN;
export const RANGES = [5 * MIN, 15 * MIN, 60 * MIN];
export const RETENTION = 60 * MIN;
/** Series present in every batch. */
export const SERIES = 400;
/** Churning series: CHURN of them live for CHURN_EVERY batches, then a new generation. */
export const CHURN = 25;
export const CHURN_EVERY = 50;
/** The child calls flush() instead of maintain() about every this many batches. */
export const FLUSH_EVERY = 170;

export const ts = (k: number): number => T0 + k * STEP;
export const batchOf = (t: number): number => (t - T0) / STEP;

export interface ExpectedSample {
  key: string;
  labels: Record<string, string>;
  v: number;
  stale: boolean;
}

/** The series of batch k and their values (deterministic). */
export function batch(k: number): ExpectedSample[] {
  const out: ExpectedSample[] = [];
  const add = (key: string, labels: Record<string, string>): void => {
    const e = expected(key, k)!;
    out.push({key, labels, v: e.v, stale: e.stale});
  };
  for (let i = 0; i < SERIES; i++) add(`crash_db/${i}`, {__name__: 'crash_db', i: String(i), job: 'crash'});
  const g = Math.floor(k / CHURN_EVERY);
  for (let c = 0; c < CHURN; c++) add(`crash_db_churn/${g}/${c}`, {__name__: 'crash_db_churn', c: String(c), g: String(g), job: 'crash'});
  return out;
}

/** What batch(k) holds for the series `key` (see seriesKey), or null if it is not in batch k. */
export function expected(key: string, k: number): {v: number; stale: boolean} | null {
  const [name, a, b] = key.split('/');
  if (name === 'crash_db') {
    const i = Number(a);
    return {v: i * 1e6 + k + 0.5, stale: i === 0 && k % 7 === 0};
  }
  if (Number(a) !== Math.floor(k / CHURN_EVERY)) return null;
  return {v: -(Number(b) * 1e6 + k) - 0.25, stale: false};
}

/** The key batch() gives the series with these labels. */
export function seriesKey(labels: readonly {name: string; value: string}[]): string {
  const get = (n: string): string => labels.find((l) => l.name === n)?.value ?? '';
  return get('__name__') === 'crash_db_churn' ? `crash_db_churn/${get('g')}/${get('c')}` : `${get('__name__')}/${get('i')}`;
}

function main(): void {
  const dir = process.argv[2];
  let k = Number(process.argv[3]);
  const say = (line: string): void => {
    process.stdout.write(`${line}\n`);
  };
  const logger: DBLogger = {
    info() {},
    warn: (m, f) => process.stderr.write(`log warn ${m} ${JSON.stringify(f ?? {})}\n`),
    error: (m, f) => process.stderr.write(`log error ${m} ${JSON.stringify(f ?? {})}\n`),
  };
  const pool = new WorkerPool(1);
  const metas = () => listDataDir(dir).blocks.map((b) => b.meta);
  let current = 'idle';
  const phase = (p: string): void => {
    if (p === current) return;
    current = p;
    say(`phase ${p}`);
  };
  const runner: TaskRunner = {
    async writeHeadBlock(input, transfer) {
      phase(`cut ${input.mint} ${input.maxt}`);
      const res = await pool.run('tsdbWriteHeadBlock', input, transfer);
      // DB.cut goes on with reloadBlocks and head + WAL truncation (checkpoint); it ends
      // before the next upkeep step, which reports the next phase.
      phase('checkpoint');
      return res;
    },
    async compact(input) {
      const ms = metas();
      phase(findSuperseded(ms).length > 0 || plan(ms, {ranges: input.ranges}) !== null ? 'compact' : 'idle');
      try {
        return await pool.run('tsdbCompact', input);
      } finally {
        phase('idle');
      }
    },
    async retention(input) {
      const blocks = metas().map((m) => ({ulid: m.ulid, minTime: m.minTime, maxTime: m.maxTime, bytes: 0}));
      phase(planRetention(blocks, {retentionMs: input.retentionMs}).length > 0 ? 'retention' : 'idle');
      try {
        return await pool.run('tsdbRetention', input);
      } finally {
        phase('idle');
      }
    },
  };
  say('opening');
  const db = DB.open({dir, blockRangeMs: BLOCK_RANGE, compactionRanges: RANGES, retentionMs: RETENTION, runner, logger});
  say(`ready ${k}`);

  const refs = new Map<string, number>();
  const tick = (): void => {
    const app = db.appender();
    const want = batch(k);
    for (const s of want) {
      const ref = app.append(refs.get(s.key) ?? s.labels, ts(k), s.v, s.stale);
      refs.set(s.key, ref);
    }
    const res = app.commit();
    if (res.appended !== want.length) throw new Error(`batch ${k}: ${JSON.stringify(res)}`);
    say(`ack ${k}`);
    k++;
    // Refs of a finished churn generation are garbage-collected by the head: forget them.
    if (k % CHURN_EVERY === 0) for (const key of [...refs.keys()]) if (key.startsWith('crash_db_churn/')) refs.delete(key);
    setTimeout(tick, 1);
  };
  // Now and then a flush, as a dump does: the partial block it cuts overlaps the next
  // regular cut, so compaction also merges overlapping blocks.
  let flushedAt = k;
  const upkeep = (): void => {
    const flush = k - flushedAt >= FLUSH_EVERY;
    if (flush) flushedAt = k;
    (flush ? db.flush() : db.maintain()).then(
      () => {
        say('upkeep done');
        setTimeout(upkeep, 2);
      },
      (e: unknown) => {
        process.stderr.write(`log error maintain failed ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
        process.exit(1);
      },
    );
  };
  tick();
  upkeep();
}

if (process.argv[1] && import.meta.url.endsWith(path.basename(process.argv[1]))) main();
