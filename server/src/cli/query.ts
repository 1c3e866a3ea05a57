// mm-metrics query <data-dir | dump.tar.gz> '<promql>' [--time T | --start S --end E --step D]:
// evaluates PromQL over the blocks of a data dir or a dump without running Prometheus and
// prints exactly what the plugin's /api/v1/query (or query_range) would answer.

import fs from 'node:fs';
import path from 'node:path';

import {answerQuery, type PrometheusAnswer, type PromQLEngine, type QueryParams} from '../api/prometheus.ts';
import {REMOTE_CACHE_DIR} from '../remote/cache.ts';
import {type Block, isULID, openBlock} from '../tsdb/block/mod.ts';
import {blockSource, mergeSources} from '../tsdb/querier/mod.ts';
import {extractArchive} from './inspect.ts';
import type {CliIO} from './io.ts';

export interface QueryCommandOptions {
  time?: string;
  start?: string;
  end?: string;
  step?: string;
  timeout?: string;
  engine?: PromQLEngine;
}

/** Block dirs under root (a data dir, or an extracted dump whose root may be nested), not the remote cache's copies. */
function findBlockDirs(root: string): string[] {
  const found: string[] = [];
  const walk = (dir: string, depth: number): void => {
    for (const e of fs.readdirSync(dir, {withFileTypes: true})) {
      if (!e.isDirectory() || e.name === REMOTE_CACHE_DIR) continue;
      const p = path.join(dir, e.name);
      if (isULID(e.name)) found.push(p);
      else if (depth < 3 && !e.name.includes('.tmp')) walk(p, depth + 1);
    }
  };
  walk(root, 0);
  return found.sort();
}

/** Runs the query; the answer's JSON goes to stdout (one line), notes to stderr. Exit 0 on success, 1 otherwise. */
export async function queryCommand(target: string, query: string, opts: QueryCommandOptions, io: CliIO): Promise<number> {
  const range = opts.start !== undefined || opts.end !== undefined || opts.step !== undefined;
  if (range && (opts.start === undefined || opts.end === undefined || opts.step === undefined)) {
    throw new QueryUsageError('a range query needs --start, --end and --step together');
  }
  if (range && opts.time !== undefined) throw new QueryUsageError('use either --time or --start/--end/--step');
  const stat = fs.statSync(target, {throwIfNoEntry: false});
  if (!stat) throw new Error(`${target}: no such file or directory`);
  let dir = target;
  let cleanup = (): void => {};
  if (!stat.isDirectory()) {
    const x = await extractArchive(target);
    dir = x.dir;
    cleanup = x.cleanup;
    for (const p of x.refused) io.err(`note: ${p}: not a regular file or directory, not extracted`);
  }
  const blocks: Block[] = [];
  try {
    for (const d of findBlockDirs(dir)) {
      try {
        blocks.push(openBlock(d));
      } catch (err) {
        io.err(`note: ${path.relative(dir, d)}: not readable, skipped: ${(err as Error).message}`);
      }
    }
    if (blocks.length === 0) io.err(`note: no blocks found in ${target}`);
    const walHasData = ['mm-wal', 'wal'].some((w) => {
      try {
        return fs.readdirSync(path.join(dir, w)).length > 0;
      } catch {
        return false;
      }
    });
    if (walHasData) {
      io.err('note: samples still in the write-ahead log (not yet in a block) are not included');
    }
    const params: QueryParams = {query, timeout: opts.timeout};
    let answer: PrometheusAnswer;
    const stores = {local: () => ({source: mergeSources(blocks.map(blockSource)), blocks: blocks.map((b) => b.meta)}), remote: null};
    if (range) {
      answer = await answerQuery('range', {...params, start: opts.start, end: opts.end, step: opts.step}, stores, {engine: opts.engine});
    } else {
      let time = opts.time;
      if (time === undefined && blocks.length > 0) {
        // A dump ends in the past: evaluate at its newest sample rather than now.
        const newest = Math.max(...blocks.map((b) => b.meta.maxTime)) - 1;
        time = String(newest / 1000);
        io.err(`note: --time not given, evaluating at the newest data: ${new Date(newest).toISOString()}`);
      }
      answer = await answerQuery('instant', {...params, time}, stores, {engine: opts.engine});
    }
    io.out(JSON.stringify(answer.body));
    return answer.body.status === 'success' ? 0 : 1;
  } finally {
    for (const b of blocks) b.close();
    cleanup();
  }
}

/** Wrong flags; main prints the usage. */
export class QueryUsageError extends Error {}
