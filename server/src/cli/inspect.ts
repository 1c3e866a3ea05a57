// mm-metrics inspect <data-dir | dump.tar.gz>: lists blocks with their ranges and
// counts and verifies every CRC and structure. Exit status 1 on any problem.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import * as tar from 'tar';

import {REMOTE_CACHE_DIR} from '../remote/mod.ts';
import {isULID, verifyBlockDetailed, type BlockMeta} from '../tsdb/block/mod.ts';
import {readMetaFile} from '../tsdb/block/meta.ts';
import {PROMETHEUS_WAL_DIR, hasPrometheusWal, readPrometheusWal} from '../tsdb/promwal/mod.ts';
import type {CliIO} from './io.ts';

export interface BlockReport {
  dir: string;
  ulid: string;
  minTime?: number;
  maxTime?: number;
  level?: number;
  series: number;
  samples: number;
  chunks: number;
  bytes: number;
  problems: string[];
}

export interface InspectReport {
  source: string;
  blocks: BlockReport[];
  /** Directories that look like half-written or deleted blocks, and other notes. */
  notes: string[];
  ok: boolean;
}

/** Extracts a .tar.gz into a fresh temp dir, refusing links and paths that escape it. */
export async function extractArchive(file: string): Promise<{dir: string; refused: string[]; cleanup: () => void}> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mm-metrics-'));
  const cleanup = (): void => fs.rmSync(dir, {recursive: true, force: true});
  const refused: string[] = [];
  try {
    await tar.x({
      file,
      cwd: dir,
      strict: true,
      preservePaths: false,
      filter: (p, entry) => {
        const type = (entry as {type?: string}).type;
        if (type !== 'File' && type !== 'Directory') {
          refused.push(p);
          return false;
        }
        return true;
      },
    });
  } catch (err) {
    cleanup();
    throw new Error(`${file}: not a readable .tar.gz: ${(err as Error).message}`);
  }
  return {dir, refused, cleanup};
}

function dirBytes(dir: string): number {
  let total = 0;
  for (const entry of fs.readdirSync(dir, {withFileTypes: true})) {
    const p = path.join(dir, entry.name);
    total += entry.isDirectory() ? dirBytes(p) : fs.statSync(p).size;
  }
  return total;
}

/** Every directory under root whose name is a ULID (a block), plus leftovers worth mentioning. */
function findBlocks(root: string, notes: string[]): string[] {
  const found: string[] = [];
  const walk = (dir: string, depth: number): void => {
    for (const entry of fs.readdirSync(dir, {withFileTypes: true})) {
      if (!entry.isDirectory()) continue;
      const p = path.join(dir, entry.name);
      const base = entry.name.split('.')[0];
      if (isULID(base) && entry.name !== base) {
        notes.push(`${path.relative(root, p)}: unfinished or deleted block directory (ignored by Prometheus)`);
      } else if (isULID(entry.name)) {
        found.push(p);
      } else if (entry.name === REMOTE_CACHE_DIR) {
        notes.push(`${path.relative(root, p)}: the plugin's copies of file-store blocks for queries (not part of this store)`);
      } else if (entry.name === PROMETHEUS_WAL_DIR && hasPrometheusWal(p)) {
        notes.push(describePrometheusWal(root, p));
      } else if (depth < 4) {
        walk(p, depth + 1);
      }
    }
  };
  walk(root, 0);
  return found.sort();
}

/** A Prometheus WAL next to the blocks: the Go plugin's head, in no block yet. */
function describePrometheusWal(root: string, walDir: string): string {
  const refs = new Set<number>();
  let samples = 0;
  let min = Infinity;
  let max = -Infinity;
  const stats = readPrometheusWal(walDir, {
    series: (ref) => refs.add(ref),
    sample: (_ref, t) => {
      samples++;
      if (t < min) min = t;
      if (t > max) max = t;
    },
    other: () => {},
  });
  const range = samples > 0 ? ` from ${iso(min)} to ${iso(max)}` : '';
  const problems = stats.problems.length > 0 ? `; ${stats.problems.length} unreadable part(s), first: ${stats.problems[0].file} @${stats.problems[0].offset}: ${stats.problems[0].message}` : '';
  return `${path.relative(root, walDir)}: a Prometheus WAL (the Go plugin's newest samples, in no block): ${refs.size} series, ${samples} samples${range}; the plugin turns it into blocks when it starts${problems}`;
}

export function inspectDir(root: string, source = root): InspectReport {
  const notes: string[] = [];
  const blocks = findBlocks(root, notes).map((dir): BlockReport => {
    let meta: BlockMeta | undefined;
    const problems: string[] = [];
    try {
      meta = readMetaFile(dir);
    } catch (err) {
      problems.push(`meta.json: ${(err as Error).message}`);
    }
    const result = verifyBlockDetailed(dir);
    for (const p of result.problems) {
      const where = `${path.relative(dir, p.file) || p.file}${p.offset >= 0 ? ` @${p.offset}` : ''}`;
      const line = `${where}: ${p.message}`;
      if (!problems.includes(line)) problems.push(line);
    }
    return {
      dir: path.relative(root, dir),
      ulid: path.basename(dir),
      minTime: meta?.minTime,
      maxTime: meta?.maxTime,
      level: meta?.compaction.level,
      series: result.series,
      samples: result.samples,
      chunks: result.chunks,
      bytes: dirBytes(dir),
      problems,
    };
  });
  if (blocks.length === 0) notes.push('no blocks found');
  return {source, blocks, notes, ok: blocks.length > 0 && blocks.every((b) => b.problems.length === 0)};
}

export async function inspect(target: string): Promise<InspectReport> {
  const stat = fs.statSync(target);
  if (stat.isDirectory()) return inspectDir(target);
  const {dir, refused, cleanup} = await extractArchive(target);
  try {
    const report = inspectDir(dir, target);
    for (const p of refused) report.notes.push(`${p}: not a regular file or directory, not extracted`);
    return report;
  } finally {
    cleanup();
  }
}

const iso = (ms: number | undefined): string => (ms === undefined ? '?' : new Date(ms).toISOString());

function human(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB'];
  let v = bytes;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v.toFixed(u === 0 ? 0 : 1)} ${units[u]}`;
}

export function printReport(r: InspectReport, io: CliIO, json: boolean): void {
  if (json) {
    io.out(JSON.stringify(r, null, 2));
    return;
  }
  io.out(`${r.source}: ${r.blocks.length} block(s)`);
  for (const b of r.blocks) {
    const status = b.problems.length === 0 ? 'ok' : `CORRUPT (${b.problems.length} problem(s))`;
    io.out(
      `  ${b.dir}  ${iso(b.minTime)} .. ${iso(b.maxTime)}  level ${b.level ?? '?'}  ` +
        `${b.series} series  ${b.samples} samples  ${b.chunks} chunks  ${human(b.bytes)}  ${status}`,
    );
    for (const p of b.problems.slice(0, 20)) io.out(`    ${p}`);
    if (b.problems.length > 20) io.out(`    … ${b.problems.length - 20} more`);
  }
  if (r.blocks.length > 0) {
    const min = Math.min(...r.blocks.map((b) => b.minTime ?? Infinity));
    const max = Math.max(...r.blocks.map((b) => b.maxTime ?? -Infinity));
    const samples = r.blocks.reduce((n, b) => n + b.samples, 0);
    io.out(`  range ${iso(Number.isFinite(min) ? min : undefined)} .. ${iso(Number.isFinite(max) ? max : undefined)}, ${samples} samples in all`);
  }
  for (const n of r.notes) io.out(`  note: ${n}`);
  io.out(r.ok ? 'OK' : 'PROBLEMS FOUND');
}
