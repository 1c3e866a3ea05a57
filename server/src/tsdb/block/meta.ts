// meta.json (Prometheus tsdb/block.go BlockMeta). We write exactly promtool's shape:
// tab-indented, no trailing newline, keys in Go struct order, version 1.

import fs from 'node:fs';
import path from 'node:path';
import {CorruptionError} from '../encoding/errors.ts';
import {writeFileSynced} from '../tombstones/tombstones.ts';
import {isULID} from './ulid.ts';

export const META_FILENAME = 'meta.json';
export const META_VERSION_1 = 1;

export interface BlockStats {
  numSamples?: number;
  numFloatSamples?: number;
  numHistogramSamples?: number;
  numSeries?: number;
  numChunks?: number;
  numTombstones?: number;
}

export interface BlockDesc {
  ulid: string;
  minTime: number;
  maxTime: number;
}

export interface BlockMetaCompaction {
  level: number;
  sources?: string[];
  /** Only on compacted blocks: every listed parent is deleted by Prometheus at reload. */
  parents?: BlockDesc[];
  deletable?: boolean;
  failed?: boolean;
  hints?: string[];
}

export interface BlockMeta {
  ulid: string;
  /** Inclusive, ms. */
  minTime: number;
  /** Exclusive, ms. */
  maxTime: number;
  stats?: BlockStats;
  compaction: BlockMetaCompaction;
  version: number;
}

/** Serialises like Go's json.MarshalIndent(meta, "", "\t") with omitempty fields dropped. */
export function encodeMeta(m: BlockMeta): string {
  const stats: BlockStats = {};
  const s = m.stats ?? {};
  for (const k of ['numSamples', 'numFloatSamples', 'numHistogramSamples', 'numSeries', 'numChunks', 'numTombstones'] as const) {
    if (s[k]) stats[k] = s[k];
  }
  const c = m.compaction;
  const compaction: BlockMetaCompaction = {level: c.level};
  if (c.sources?.length) compaction.sources = c.sources;
  if (c.deletable) compaction.deletable = true;
  if (c.parents?.length) compaction.parents = c.parents.map((p) => ({ulid: p.ulid, minTime: p.minTime, maxTime: p.maxTime}));
  if (c.failed) compaction.failed = true;
  if (c.hints?.length) compaction.hints = c.hints;
  const out: Record<string, unknown> = {ulid: m.ulid, minTime: m.minTime, maxTime: m.maxTime};
  out.stats = stats; // Go's omitempty does not drop structs
  out.compaction = compaction;
  out.version = m.version;
  return JSON.stringify(out, null, '\t');
}

function isInt(x: unknown): x is number {
  return typeof x === 'number' && Number.isSafeInteger(x);
}

/** Parses and validates meta.json content; throws CorruptionError (offset -1 or 0). */
export function decodeMeta(text: string, file = META_FILENAME): BlockMeta {
  let j: unknown;
  try {
    j = JSON.parse(text);
  } catch (e) {
    const m = /position (\d+)/.exec((e as Error).message);
    throw new CorruptionError(file, m ? Number(m[1]) : 0, `invalid JSON: ${(e as Error).message}`, {cause: e});
  }
  const bad = (msg: string): never => {
    throw new CorruptionError(file, 0, msg);
  };
  if (typeof j !== 'object' || j === null || Array.isArray(j)) return bad('meta.json is not an object');
  const o = j as Record<string, unknown>;
  if (o.version !== META_VERSION_1) bad(`unexpected meta file version ${JSON.stringify(o.version)}`);
  if (typeof o.ulid !== 'string' || !isULID(o.ulid)) bad(`invalid ulid ${JSON.stringify(o.ulid)}`);
  if (!isInt(o.minTime) || !isInt(o.maxTime)) bad('minTime/maxTime must be integers');
  const stats: BlockStats = {};
  if (o.stats !== undefined) {
    if (typeof o.stats !== 'object' || o.stats === null) bad('stats must be an object');
    for (const [k, v] of Object.entries(o.stats as Record<string, unknown>)) {
      if (!isInt(v) || v < 0) bad(`stats.${k} must be a non-negative integer`);
      (stats as Record<string, number>)[k] = v as number;
    }
  }
  const c = o.compaction as Record<string, unknown> | undefined;
  if (c !== undefined && (typeof c !== 'object' || c === null)) bad('compaction must be an object');
  const compaction: BlockMetaCompaction = {level: 0};
  if (c) {
    if (c.level !== undefined && !isInt(c.level)) bad('compaction.level must be an integer');
    compaction.level = (c.level as number | undefined) ?? 0;
    if (c.sources !== undefined) {
      if (!Array.isArray(c.sources) || !c.sources.every((s) => typeof s === 'string')) bad('compaction.sources must be strings');
      compaction.sources = c.sources as string[];
    }
    if (c.parents !== undefined) {
      if (!Array.isArray(c.parents)) bad('compaction.parents must be an array');
      compaction.parents = (c.parents as Record<string, unknown>[]).map((p) => {
        if (typeof p?.ulid !== 'string' || !isInt(p.minTime) || !isInt(p.maxTime)) bad('invalid compaction.parents entry');
        return {ulid: p.ulid as string, minTime: p.minTime as number, maxTime: p.maxTime as number};
      });
    }
    if (c.deletable === true) compaction.deletable = true;
    if (c.failed === true) compaction.failed = true;
    if (Array.isArray(c.hints)) compaction.hints = c.hints.filter((h): h is string => typeof h === 'string');
  }
  return {
    ulid: o.ulid as string,
    minTime: o.minTime as number,
    maxTime: o.maxTime as number,
    stats,
    compaction,
    version: META_VERSION_1,
  };
}

export function readMetaFile(dir: string): BlockMeta {
  const file = path.join(dir, META_FILENAME);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new CorruptionError(file, -1, `read meta: ${(e as Error).message}`, {cause: e});
  }
  return decodeMeta(text, file);
}

export function writeMetaFile(dir: string, m: BlockMeta, fsync = true): void {
  writeFileSynced(path.join(dir, META_FILENAME), encodeMeta(m), fsync);
}
