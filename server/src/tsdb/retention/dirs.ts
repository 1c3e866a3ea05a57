// The data directory's block dirs and their life cycle on disk (shared by compaction):
//
//   <ULID>                      a block (readable meta.json whose ulid is the dir name)
//   <ULID>.tmp-for-creation     being written (block/writer.ts), renamed when complete
//   <ULID>.tmp-for-deletion     being deleted: renamed first, then removed
//   <ULID>.tmp                  Prometheus < 2.21's name for tmp-for-creation
//
// Deleting by rename-then-remove means a crash never leaves a half-deleted dir under a
// block's name: either the complete block is there, or only a leftover that
// removeLeftovers() clears. Nothing else in the data dir (wal/, chunks_head/, lock
// files, user files) is ever touched.

import fs from 'node:fs';
import path from 'node:path';
import {type BlockMeta, isULID, readMetaFile} from '../block/mod.ts';

export const TMP_FOR_CREATION = '.tmp-for-creation';
export const TMP_FOR_DELETION = '.tmp-for-deletion';
export const TMP_LEGACY = '.tmp';

const LEFTOVER_RE = /^([0-9A-Za-z]{26})\.(tmp|tmp-for-creation|tmp-for-deletion)$/;

export interface BlockDir {
  ulid: string;
  dir: string;
  meta: BlockMeta;
}

export interface UnreadableDir {
  dir: string;
  error: string;
}

export interface DataDirListing {
  /** Readable blocks, sorted by minTime then ULID. */
  blocks: BlockDir[];
  /** ULID-named dirs whose meta.json is missing, corrupt or names another ULID. Never deleted. */
  unreadable: UnreadableDir[];
  /** Leftover temporary block dirs (full paths). */
  leftovers: string[];
}

/** Lists block dirs, unreadable block dirs and leftovers of `dataDir` (missing dir = empty). */
export function listDataDir(dataDir: string): DataDirListing {
  const out: DataDirListing = {blocks: [], unreadable: [], leftovers: []};
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dataDir, {withFileTypes: true});
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return out;
    throw e;
  }
  for (const e of entries) {
    if (!e.isDirectory()) continue;
    const dir = path.join(dataDir, e.name);
    if (LEFTOVER_RE.test(e.name) && isULID(e.name.slice(0, 26))) {
      out.leftovers.push(dir);
      continue;
    }
    if (!isULID(e.name)) continue;
    try {
      const meta = readMetaFile(dir);
      if (meta.ulid.toUpperCase() !== e.name.toUpperCase()) throw new Error(`meta.json names block ${meta.ulid}`);
      out.blocks.push({ulid: e.name, dir, meta});
    } catch (err) {
      out.unreadable.push({dir, error: (err as Error).message});
    }
  }
  out.blocks.sort((a, b) => a.meta.minTime - b.meta.minTime || (a.ulid < b.ulid ? -1 : a.ulid > b.ulid ? 1 : 0));
  out.leftovers.sort();
  return out;
}

export interface DeleteHooks {
  /** Called after the rename, before the removal (tests inject crashes here). */
  afterRename?: () => void;
  fsync?: boolean;
}

/**
 * Deletes block `ulid` from `dataDir` crash-safely: rename to `<ULID>.tmp-for-deletion`,
 * fsync the data dir, remove. Refuses names that are not ULIDs.
 */
export function deleteBlockDir(dataDir: string, ulid: string, hooks: DeleteHooks = {}): void {
  if (!isULID(ulid)) throw new Error(`refusing to delete ${JSON.stringify(ulid)}: not a block ULID`);
  const dir = path.join(dataDir, ulid);
  const tmp = dir + TMP_FOR_DELETION;
  fs.rmSync(tmp, {recursive: true, force: true}); // an earlier, interrupted deletion of the same block
  fs.renameSync(dir, tmp);
  if (hooks.fsync ?? true) fsyncDir(dataDir);
  hooks.afterRename?.();
  fs.rmSync(tmp, {recursive: true, force: true});
}

/**
 * Removes leftover `<ULID>.tmp`, `.tmp-for-creation` and `.tmp-for-deletion` dirs.
 * Only call when no block is being written into `dataDir` (startup, or from the same
 * worker that compacts and cuts blocks): a block under creation is such a dir.
 */
export function removeLeftovers(dataDir: string): string[] {
  const {leftovers} = listDataDir(dataDir);
  for (const d of leftovers) fs.rmSync(d, {recursive: true, force: true});
  return leftovers;
}

/** Bytes of all regular files under `dir` (what Prometheus' Block.Size() counts). */
export function dirBytes(dir: string): number {
  let total = 0;
  for (const e of fs.readdirSync(dir, {withFileTypes: true})) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) total += dirBytes(p);
    else if (e.isFile()) total += fs.statSync(p).size;
  }
  return total;
}

export function fsyncDir(d: string): void {
  const fd = fs.openSync(d, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}
