// Crash test of the whole store: a child process (testdata/db-crash-child.ts) runs a DB
// with a worker-thread runner and scaled-down ranges (5 min blocks, 15 min / 60 min
// compaction, 60 min retention, 5 s of sample time per batch: a block cut about every
// 100 ms of wall time, compactions and retention several times a second, a flush() now
// and then) while appending scrape-like batches of ~425 series, and is kill -9'ed: at a
// random moment, or aimed at a phase the child announces — a block write in the worker, the
// head/WAL truncation after it, a compaction (also the instant its new block is renamed
// into place, before the parents are deleted), retention, DB.open itself. After each kill
// the parent reopens the data dir with DB.open (inline runner) and checks:
//  - open succeeds and logs no warning or error (but a WAL torn tail: a kill inside a
//    WAL write), no block is unreadable, the WAL replay found no corruption, no *.tmp*
//    dir is left in the data dir or the WAL dir;
//  - verifyBlock is clean for every block;
//  - no sample appears twice across head and blocks (blocks a finished compaction
//    supersedes — kept until the next compaction's recovery step — are excluded, and
//    must hold nothing their superseding block lacks); the merged querier agrees;
//  - every acknowledged batch is present exactly, except batches retention may have
//    deleted (sample time < newest block maxTime − retention, oldest first); at most the
//    one in-flight batch is extra, and batches are all-or-nothing across series.
// kill -9 keeps the page cache, so an acknowledged batch (commit() returned after
// write()) may not be lost at all: stricter than "loss ≤ one fsync interval", which is
// about power loss, not simulated here. The child then restarts on the same dir,
// continuing after the newest batch found (its own DB.open is checked by it reaching
// "ready"). 6 rounds by default (~10 s); TSDB_CRASH_ROUNDS=N for more.

import assert from 'node:assert/strict';
import {spawn} from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {after, test} from 'node:test';
import {fileURLToPath} from 'node:url';
import {type ReadSample, openBlock, verifyBlock} from './block/mod.ts';
import {findSuperseded} from './compact/mod.ts';
import {DB, WAL_DIR} from './db.ts';
import {listDataDir} from './retention/mod.ts';
import {BLOCK_RANGE, CHURN, RANGES, RETENTION, SERIES, STEP, T0, batch, batchOf, expected, seriesKey, ts} from './testdata/db-crash-child.ts';

const ROUNDS = Number(process.env.TSDB_CRASH_ROUNDS ?? 6);
const child = path.join(path.dirname(fileURLToPath(import.meta.url)), 'testdata', 'db-crash-child.ts');
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tsdb-db-crash-'));
// TSDB_CRASH_KEEP=1 keeps the data dir for a post-mortem.
after(() => {
  if (process.env.TSDB_CRASH_KEEP) process.stderr.write(`kept ${root}\n`);
  else fs.rmSync(root, {recursive: true, force: true});
});

const rand = (lo: number, hi: number): number => lo + Math.floor(Math.random() * (hi - lo + 1));

/**
 * Where a round's kill is aimed: a random moment, or a phase the child announces (within
 * a few ms of its line), or an instant seen through fs.watch on the data dir: 'written',
 * a compacted block renamed into place (before its verification and the deletion of its
 * parents); 'deleting', a block renamed to .tmp-for-deletion by retention.
 */
type Aim = 'random' | 'cut' | 'written' | 'checkpoint' | 'deleting' | 'open' | 'compact' | 'retention';
const AIMS: Aim[] = ['random', 'cut', 'written', 'checkpoint', 'deleting', 'open', 'compact', 'retention'];
type Phase = 'cut' | 'compact' | 'checkpoint' | 'retention' | 'open';
/** The phase each aim waits for, and the max delay (ms) after its line before the kill (0 = at once, -1 = on the fs event). */
const AIM_PHASE: Record<Exclude<Aim, 'random'>, [Phase, number]> = {
  cut: ['cut', 4],
  written: ['compact', -1],
  checkpoint: ['checkpoint', 3],
  deleting: ['retention', -1],
  open: ['open', 40],
  compact: ['compact', 40],
  retention: ['retention', 1],
};
const ULID_RE = /^[0-9A-Z]{26}$/;
const BATCH_SIZE = SERIES + CHURN;

interface RoundResult {
  lastAck: number;
  /** The phase the child had announced last when it was killed. */
  phaseAtKill: string;
  /** The aimed phase never came within the deadline; killed anyway. */
  fallback: boolean;
  acks: number;
  /** Phase starts seen, by phase. */
  seen: Map<string, number>;
}

async function runAndKill(dir: string, next: number, aim: Aim): Promise<RoundResult> {
  const p = spawn(process.execPath, ['--import', 'tsx', child, dir, String(next)], {stdio: ['ignore', 'pipe', 'pipe']});
  const res: RoundResult = {lastAck: next - 1, phaseAtKill: 'starting', fallback: false, acks: 0, seen: new Map()};
  let phase = 'starting';
  let out = '';
  let err = '';
  let killed = false;
  let armed = false;
  let arming = false;
  let readyAt = 0;
  const kill = (at = phase): void => {
    if (killed) return;
    killed = true;
    res.phaseAtKill = at;
    p.kill('SIGKILL');
  };
  const fire = (maxDelay: number): void => {
    armed = false;
    const d = rand(0, maxDelay);
    if (d === 0) kill();
    else setTimeout(() => kill(), d);
  };
  const [target, maxDelay] = aim === 'random' ? ['', 0] : AIM_PHASE[aim];
  // 'written' / 'deleting': kill when a new block dir / a .tmp-for-deletion dir appears
  // while the child is in the target phase.
  let watcher: fs.FSWatcher | null = null;
  const known = new Set<string>();
  const watchDataDir = (): void => {
    const pattern = aim === 'written' ? ULID_RE : /\.tmp-for-deletion$/;
    for (const n of fs.readdirSync(dir)) if (pattern.test(n)) known.add(n);
    watcher = fs.watch(dir, (_event, name) => {
      if (killed || typeof name !== 'string' || !pattern.test(name)) return;
      if (!fs.existsSync(path.join(dir, name))) known.delete(name);
      else if (!known.has(name)) {
        known.add(name);
        if (armed && phase === target) kill(aim === 'written' ? 'compact (block renamed)' : 'retention (block renamed for deletion)');
      }
    });
  };
  p.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    const lines = out.split('\n');
    out = lines.pop()!;
    for (const l of lines) {
      const ack = /^ack (\d+)$/.exec(l);
      if (ack) {
        const k = Number(ack[1]);
        assert.equal(k, res.lastAck + 1, 'acks in order');
        res.lastAck = k;
        res.acks++;
        continue;
      }
      if (killed) continue;
      if (l === 'opening') {
        phase = 'open';
        if (target === 'open') fire(maxDelay);
      } else if (l.startsWith('ready ')) {
        phase = 'idle';
        readyAt = Date.now();
        if (aim === 'random') setTimeout(() => kill(), rand(5, 1500));
      } else if (l === 'upkeep done') {
        // Aimed kills wait for one whole upkeep after the start (recovery, compaction of
        // what the previous round left, retention): otherwise rounds that kill early keep
        // piling up uncompacted blocks that no round gets to compact or delete.
        if (aim !== 'random' && target !== 'open' && !arming) {
          arming = true;
          setTimeout(() => {
            if (maxDelay < 0) watchDataDir();
            armed = true;
          }, rand(0, 400));
        }
      } else if (l.startsWith('phase ')) {
        phase = l.split(' ')[1];
        res.seen.set(phase, (res.seen.get(phase) ?? 0) + 1);
        if (armed && phase === target && maxDelay >= 0) fire(maxDelay);
      }
    }
  });
  p.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const closed = new Promise<void>((r) => p.once('close', () => r()));
  const started = Date.now();
  while (!killed) {
    if (p.exitCode !== null) throw new Error(`child exited ${p.exitCode}: ${err}`);
    if (Date.now() - started > 30_000) throw new Error(`child did not start: ${err}`);
    if (readyAt > 0 && Date.now() - readyAt > 5_000) {
      res.fallback = true;
      kill();
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  // 'close': the child is gone and its stdout fully read (acks written before the kill).
  await closed;
  (watcher as fs.FSWatcher | null)?.close();
  assert.equal(err, '', `child stderr:\n${err}`);
  return res;
}

interface State {
  /** Oldest and newest batch present; -1 when nothing is. */
  first: number;
  last: number;
  blocks: number;
  superseded: number;
  /** Unfinished dirs found before the reopen (kind: .tmp-for-creation, …, wal checkpoint.tmp). */
  leftovers: string[];
  tornTails: string[];
}

async function check(dir: string, lastAck: number, prev: State, round: number): Promise<State> {
  const where = `round ${round}`;
  const complaints: string[] = [];
  const tornTails: string[] = [];
  const leftovers = [
    ...fs.readdirSync(dir).filter((n) => n.includes('.tmp')).map((n) => n.replace(/^[0-9A-Z]{26}/, '')),
    ...(fs.existsSync(path.join(dir, WAL_DIR)) ? fs.readdirSync(path.join(dir, WAL_DIR)) : []).filter((n) => n.includes('.tmp')).map(() => 'wal checkpoint.tmp'),
  ];
  const db = DB.open({
    dir,
    fsync: false,
    blockRangeMs: BLOCK_RANGE,
    compactionRanges: RANGES,
    retentionMs: RETENTION,
    logger: {
      info: () => {},
      warn: (m, f) => {
        // A kill inside a WAL write (a segment created but its header not yet written, a
        // commit's writev cut short) leaves a torn tail; replay drops it. Expected after
        // kill -9, and what it drops can only be the unacknowledged batch (checked below).
        if (m === 'wal: torn tail truncated at the last good record') tornTails.push(`${path.basename(String(f?.file))} dropped ${String(f?.droppedBytes)} B`);
        else complaints.push(`warn ${m} ${JSON.stringify(f)}`);
      },
      error: (m, f) => complaints.push(`error ${m} ${JSON.stringify(f)}`),
    },
  });
  try {
    assert.deepEqual(complaints, [], `${where}: open logged problems`);
    assert.deepEqual(db.stats().unreadable, [], `${where}: unreadable blocks`);
    assert.equal(db.head.replayStats!.corruptions, 0, `${where}: WAL corruption`);
    assert.deepEqual(fs.readdirSync(dir).filter((n) => n.includes('.tmp')), [], `${where}: tmp dirs left in the data dir`);
    assert.deepEqual(fs.readdirSync(path.join(dir, WAL_DIR)).filter((n) => n.includes('.tmp')), [], `${where}: tmp dirs left in the WAL dir`);

    const listing = listDataDir(dir);
    assert.deepEqual(listing.unreadable, [], `${where}: unreadable block dirs`);
    for (const b of listing.blocks) assert.deepEqual(verifyBlock(b.dir), [], `${where}: block ${b.ulid}`);
    const superseded = new Set(findSuperseded(listing.blocks.map((b) => b.meta)).map((s) => s.ulid));

    // Every sample of the live blocks and the head: exactly once, and what batch(k) holds.
    // Presence is kept as one number per sample (series id, batch) to stay small.
    const ids = new Map<string, number>();
    const present = new Set<number>();
    const code = (key: string, k: number): number => {
      let id = ids.get(key);
      if (id === undefined) ids.set(key, (id = ids.size));
      return id * 2 ** 24 + k;
    };
    let first = Infinity;
    let last = -Infinity;
    const sampleOk = (key: string, x: ReadSample, from: string): number => {
      const k = batchOf(x.t);
      assert.ok(Number.isInteger(k) && k >= 0 && k < 2 ** 24, `${where}: stray timestamp ${key}@${x.t} (${from})`);
      const e = expected(key, k);
      assert.ok(e, `${where}: ${key} has a sample in batch ${k}, which it is not part of (${from})`);
      if (e.stale) assert.ok(x.stale, `${where}: stale marker ${key}@${k} (${from})`);
      else assert.equal(x.v, e.v, `${where}: value ${key}@${k} (${from})`);
      return k;
    };
    const add = (key: string, x: ReadSample, from: string): void => {
      const k = sampleOk(key, x, from);
      const c = code(key, k);
      assert.ok(!present.has(c), `${where}: duplicate sample ${key}@${k} (${from})`);
      present.add(c);
      if (k < first) first = k;
      if (k > last) last = k;
    };
    for (const b of listing.blocks) {
      if (superseded.has(b.ulid)) continue;
      const blk = openBlock(b.dir);
      try {
        for (const s of blk.series()) {
          const key = seriesKey(s.labels);
          for (const x of blk.samples(s)) add(key, x, `block ${b.ulid}`);
        }
      } finally {
        blk.close();
      }
    }
    for (const s of db.head.select([], -Infinity, Infinity)) {
      const key = seriesKey(s.labels);
      for (const x of s.samples) add(key, x, 'head');
    }
    const total = present.size;
    // A superseded block (a compaction crashed before deleting its parents) adds nothing.
    for (const b of listing.blocks) {
      if (!superseded.has(b.ulid)) continue;
      const blk = openBlock(b.dir);
      try {
        for (const s of blk.series()) {
          const key = seriesKey(s.labels);
          for (const x of blk.samples(s)) {
            const k = sampleOk(key, x, `superseded block ${b.ulid}`);
            assert.ok(present.has(code(key, k)), `${where}: superseded block ${b.ulid} alone holds ${key}@${k}`);
          }
        }
      } finally {
        blk.close();
      }
    }
    let merged = 0;
    for (const s of db.querier().select([], -Infinity, Infinity)) {
      let lastT = -Infinity;
      for (const x of s.samples) {
        assert.ok(x.t > lastT, `${where}: querier order/duplicates`);
        lastT = x.t;
        merged++;
      }
    }
    assert.equal(merged, total, `${where}: merged querier vs raw samples`);

    // Which batches are there: a contiguous run first..last, each batch complete (every
    // sample is valid and unique, so the count settles it).
    if (total === 0) {
      assert.equal(lastAck, -1, `${where}: everything lost`);
      return {first: -1, last: -1, blocks: 0, superseded: 0, leftovers, tornTails};
    }
    assert.ok(last >= lastAck, `${where}: acknowledged batch ${lastAck} lost (newest present ${last})`);
    assert.ok(last <= lastAck + 1, `${where}: batches beyond the in-flight one (newest ${last}, acknowledged ${lastAck})`);
    if (total !== (last - first + 1) * BATCH_SIZE) {
      for (let k = first; k <= last; k++) {
        for (const e of batch(k)) assert.ok(present.has(code(e.key, k)), `${where}: batch ${k} (acknowledged ${lastAck}) lacks ${e.key}`);
      }
    }
    assert.equal(total, (last - first + 1) * BATCH_SIZE, `${where}: samples of batches ${first}..${last}`);

    // Retention deletes whole blocks with maxTime ≤ newest maxTime − retention, oldest
    // first: whatever is missing at the start must be older than that.
    const newest = Math.max(...listing.blocks.map((b) => b.meta.maxTime));
    if (first > 0) {
      assert.ok(ts(first - 1) < newest - RETENTION, `${where}: batches ${Math.max(prev.first, 0)}..${first - 1} lost; retention allows up to ${(newest - RETENTION - T0) / STEP}`);
    }
    assert.ok(first >= prev.first, `${where}: old batches came back`);
    return {first, last, blocks: listing.blocks.length, superseded: superseded.size, leftovers, tornTails};
  } finally {
    await db.close();
  }
}

void test(`DB: ${ROUNDS} rounds of kill -9 during appends, cuts, compaction and retention`, {timeout: Math.max(120_000, ROUNDS * 15_000)}, async (t) => {
  const dir = path.join(root, 'data');
  fs.mkdirSync(dir);
  let state: State = {first: -1, last: -1, blocks: 0, superseded: 0, leftovers: [], tornTails: []};
  const atKill = new Map<string, number>();
  const seen = new Map<string, number>();
  let fallbacks = 0;
  let acks = 0;
  let superseded = 0;
  const leftovers = new Map<string, number>();
  let extra = 0;
  let tornTails = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const aim = AIMS[round % AIMS.length];
    const t0 = Date.now();
    const r = await runAndKill(dir, state.last + 1, aim);
    const next = await check(dir, r.lastAck, state, round);
    atKill.set(r.phaseAtKill, (atKill.get(r.phaseAtKill) ?? 0) + 1);
    if (r.fallback) fallbacks++;
    for (const [p, n] of r.seen) seen.set(p, (seen.get(p) ?? 0) + n);
    acks += r.acks;
    superseded += next.superseded > 0 ? 1 : 0;
    for (const l of next.leftovers) leftovers.set(l, (leftovers.get(l) ?? 0) + 1);
    if (next.tornTails.length > 0) tornTails++;
    if (next.last > r.lastAck) extra++;
    t.diagnostic(
      `round ${round} (${Date.now() - t0} ms): aim ${aim}${r.fallback ? ' (fallback)' : ''}, killed in ${r.phaseAtKill}; acks ${r.acks}, batches ${next.first}..${next.last}` +
        `${next.last > r.lastAck ? ' (in-flight batch kept)' : ''}; blocks ${next.blocks}, superseded ${next.superseded}, leftovers [${next.leftovers.join(', ')}]${next.tornTails.length ? `, WAL torn tail: ${next.tornTails.join(', ')}` : ''}`,
    );
    state = next;
  }
  t.diagnostic(
    `phases run: ${JSON.stringify(Object.fromEntries(seen))}; kills by phase: ${JSON.stringify(Object.fromEntries(atKill))}; fallbacks ${fallbacks}; acks ${acks}; rounds with superseded blocks ${superseded}; leftovers found ${JSON.stringify(Object.fromEntries(leftovers))}; in-flight batch kept ${extra}; WAL torn tails ${tornTails}`,
  );
  if (ROUNDS >= AIMS.length) {
    for (const p of ['cut', 'compact', 'retention']) assert.ok((seen.get(p) ?? 0) > 0, `no ${p} ran`);
  }
  assert.ok(listDataDir(dir).blocks.length > 0, 'blocks were cut');
});
