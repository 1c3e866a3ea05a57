// Executing compactions on a data dir:
//
//   compact(dataDir):
//     0. recovery: blocks superseded by another block (findSuperseded) are deleted once
//        that block passes verifyBlock — this finishes a run that crashed after writing
//        its block but before deleting all parents;
//     1. plan() the next group over the readable blocks;
//     2. merge the parents into a new block: series stream in label order out of a k-way
//        merge (querier/mergeSources, duplicate samples collapsed), written by
//        writeSortedBlock into <ULID>.tmp-for-creation, renamed to <ULID> when complete;
//     3. verifyBlock(new) — on problems the new block is deleted and the parents kept;
//     4. delete each parent (rename to .tmp-for-deletion, then remove);
//     repeat from 1 until nothing is planned.
//
// Crash safety. Before the rename in 2 only a tmp dir exists (a leftover, removed by
// retention's removeLeftovers). From the rename until the last parent is deleted, the new
// block and (some) parents are both complete: the next run's step 0 deletes the parents
// (meta.json lists them in compaction.parents). Until then, a querier over all blocks
// returns the same samples, because mergeSources' dedupe is order-independent (see
// querier/merge.ts). A parent renamed to .tmp-for-deletion is a leftover, never a block.
//
// Bad input: a block that cannot be opened or read during the merge is reported in
// `errors`, left on disk untouched and excluded from the rest of the run (the group is
// replanned without it). Synchronous and free of global state (runs in a worker thread).

import path from 'node:path';
import {
  type Block,
  type WriteBlockOptions,
  type WriteBlockResult,
  newULID,
  openBlock,
  verifyBlock,
  writeSortedBlock,
} from '../block/mod.ts';
import {CorruptionError} from '../encoding/mod.ts';
import {blockSource, mergeSources} from '../querier/mod.ts';
import {type Logger, deleteBlockDir, listDataDir} from '../retention/mod.ts';
import {type CompactionKind, type PlanOptions, compactedMeta, findSuperseded, plan} from './plan.ts';

/** Points where onStep is called; throwing there simulates a crash at that point. */
export type CompactStep =
  | 'planned' // group chosen, nothing written
  | 'written' // new block renamed into place, not verified
  | 'verified' // new block verified, no parent deleted
  | 'parent-renamed' // one parent renamed to .tmp-for-deletion, not removed
  | 'parent-deleted' // one parent removed
  | 'superseded-deleted'; // recovery removed one superseded block

export type BlockWriteOptions = Pick<WriteBlockOptions, 'chunkRange' | 'samplesPerChunk' | 'cutting' | 'xorForm' | 'indexLayout' | 'segmentSize'>;

export interface CompactOptions extends PlanOptions {
  logger?: Logger;
  /** Default true. Tests may turn it off for speed. */
  fsync?: boolean;
  /** Passed to the block writer (chunk cutting, formats). */
  write?: BlockWriteOptions;
  /** Stop after this many compactions (default: until nothing is planned). */
  maxCompactions?: number;
  /** New block ULIDs (default newULID()). */
  newULID?: () => string;
  /** Test hook, see CompactStep. */
  onStep?: (step: CompactStep, ulid: string) => void;
}

export interface CompactedBlock {
  ulid: string;
  kind: CompactionKind;
  parents: string[];
  level: number;
  minTime: number;
  maxTime: number;
  numSamples: number;
  numSeries: number;
}

export interface CompactError {
  /** The block dir (or the data dir) the error is about. */
  dir: string;
  message: string;
}

export interface CompactResult {
  created: CompactedBlock[];
  /** Parents deleted after their compaction, and superseded blocks deleted at recovery. */
  deleted: {ulid: string; reason: 'compacted' | 'superseded'; by: string}[];
  errors: CompactError[];
}

/**
 * Merges open blocks into one new block in `dataDir` (does not verify it or delete the
 * parents; compact() does). Streams: one series at a time is held, samples are decoded
 * chunk by chunk. meta.json gets level max+1, the union of sources and the parents.
 * Throws CorruptionError when a parent cannot be read (nothing is left behind).
 */
export function mergeBlocks(dataDir: string, blocks: readonly Block[], opts: {ulid?: string; fsync?: boolean; write?: BlockWriteOptions} = {}): WriteBlockResult {
  const ulid = opts.ulid ?? newULID();
  const meta = compactedMeta(
    ulid,
    [...blocks].map((b) => b.meta).sort((a, b) => a.minTime - b.minTime),
  );
  const symbols = new Set<string>();
  for (const b of blocks) for (const s of b.index.symbols()) symbols.add(s);
  const merged = mergeSources(blocks.map(blockSource));
  return writeSortedBlock(dataDir, symbols, merged.select([], meta.minTime, meta.maxTime - 1), {
    ...opts.write,
    ulid,
    fsync: opts.fsync,
    minTime: meta.minTime,
    maxTime: meta.maxTime,
    compaction: meta.compaction,
  });
}

/** Plans and runs compactions in `dataDir` until nothing is left to do. See the file comment. */
export function compact(dataDir: string, opts: CompactOptions = {}): CompactResult {
  const res: CompactResult = {created: [], deleted: [], errors: []};
  const log = opts.logger;
  const step = (s: CompactStep, ulid: string): void => opts.onStep?.(s, ulid);
  const fsync = opts.fsync ?? true;
  /** ULIDs that failed this run: never planned again, never deleted. */
  const failed = new Set<string>();
  const fail = (dir: string, message: string, ulid?: string): void => {
    if (ulid) failed.add(ulid);
    res.errors.push({dir, message});
    log?.warn('tsdb compaction: block skipped', {dir, error: message});
  };

  recover(dataDir, res, fail, fsync, step, log);

  for (const u of listDataDir(dataDir).unreadable) fail(u.dir, `unreadable block: ${u.error}`);
  const max = opts.maxCompactions ?? Infinity;
  while (res.created.length < max) {
    const listing = listDataDir(dataDir);
    const byUlid = new Map(listing.blocks.map((b) => [b.ulid, b]));
    const group = plan(
      listing.blocks.filter((b) => !failed.has(b.ulid)).map((b) => b.meta),
      opts,
    );
    if (group === null) break;
    const parents = group.blocks.map((m) => byUlid.get(m.ulid)!);
    const ulid = opts.newULID?.() ?? newULID();
    step('planned', ulid);

    // Open every parent; one that does not open is skipped and the group replanned.
    const open: Block[] = [];
    let ok = true;
    for (const p of parents) {
      try {
        open.push(openBlock(p.dir));
      } catch (e) {
        fail(p.dir, `open: ${(e as Error).message}`, p.ulid);
        ok = false;
      }
    }
    let written: WriteBlockResult | null = null;
    try {
      if (ok) written = mergeBlocks(dataDir, open, {ulid, fsync, write: opts.write});
    } catch (e) {
      const culprit = e instanceof CorruptionError ? parents.find((p) => isInside(e.file, p.dir)) : undefined;
      if (culprit) fail(culprit.dir, `read: ${(e as Error).message}`, culprit.ulid);
      else {
        // Not attributable to one parent: keep them all and stop planning them.
        for (const p of parents) failed.add(p.ulid);
        fail(dataDir, `compact ${parents.map((p) => p.ulid).join(',')}: ${(e as Error).message}`);
      }
    } finally {
      for (const b of open) b.close();
    }
    if (written === null) continue;
    step('written', ulid);

    const problems = verifyBlock(written.dir, {maxProblems: 5});
    if (problems.length > 0) {
      deleteBlockDir(dataDir, ulid, {fsync});
      for (const p of parents) failed.add(p.ulid);
      fail(written.dir, `new block failed verification, deleted; parents kept: ${problems.map((p) => `${p.file}@${p.offset}: ${p.message}`).join('; ')}`);
      continue;
    }
    step('verified', ulid);

    const m = written.meta;
    res.created.push({
      ulid,
      kind: group.kind,
      parents: parents.map((p) => p.ulid),
      level: m.compaction.level,
      minTime: m.minTime,
      maxTime: m.maxTime,
      numSamples: m.stats?.numSamples ?? 0,
      numSeries: m.stats?.numSeries ?? 0,
    });
    log?.info('tsdb compaction: block created', {ulid, kind: group.kind, level: m.compaction.level, parents: parents.length});
    for (const p of parents) {
      deleteBlockDir(dataDir, p.ulid, {fsync, afterRename: () => step('parent-renamed', p.ulid)});
      res.deleted.push({ulid: p.ulid, reason: 'compacted', by: ulid});
      step('parent-deleted', p.ulid);
    }
  }
  return res;
}

/** Step 0: delete blocks another (verified) block supersedes. */
function recover(
  dataDir: string,
  res: CompactResult,
  fail: (dir: string, message: string, ulid?: string) => void,
  fsync: boolean,
  step: (s: CompactStep, ulid: string) => void,
  log: Logger | undefined,
): void {
  const listing = listDataDir(dataDir);
  const superseded = findSuperseded(listing.blocks.map((b) => b.meta));
  if (superseded.length === 0) return;
  const dirOf = new Map(listing.blocks.map((b) => [b.ulid, b.dir]));
  const verified = new Map<string, boolean>();
  for (const s of superseded) {
    let good = verified.get(s.by);
    if (good === undefined) {
      const problems = verifyBlock(dirOf.get(s.by)!, {maxProblems: 1});
      good = problems.length === 0;
      verified.set(s.by, good);
      if (!good) fail(dirOf.get(s.by)!, `superseding block does not verify (${problems[0].message}); blocks it supersedes are kept`, s.by);
    }
    if (!good) continue;
    deleteBlockDir(dataDir, s.ulid, {fsync});
    res.deleted.push({ulid: s.ulid, reason: 'superseded', by: s.by});
    log?.info('tsdb compaction: deleted superseded block', {ulid: s.ulid, by: s.by});
    step('superseded-deleted', s.ulid);
  }
}

function isInside(file: string, dir: string): boolean {
  const rel = path.relative(path.resolve(dir), path.resolve(file));
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
}

