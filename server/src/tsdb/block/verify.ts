// verifyBlock: reads every structure of a block and reports problems instead of
// throwing. Used by `mm-metrics inspect` and by tests. Checks more than Prometheus does
// at open (every series, postings list and chunk CRC, sort orders, chunk/index/meta
// agreement) so a block that passes is one Prometheus can load and query.

import fs from 'node:fs';
import path from 'node:path';
import {CorruptionError} from '../encoding/errors.ts';
import {IndexReader} from '../index/index.ts';
import {ChunkReader} from '../chunks/chunks.ts';
import {compareLabels, compareStrings, labelsString} from '../labels/labels.ts';
import {readTombstonesFile} from '../tombstones/tombstones.ts';
import {chunkSamples} from './reader.ts';
import {type BlockMeta, readMetaFile} from './meta.ts';

export interface Problem {
  /** File the problem is in (path). */
  file: string;
  /** Byte offset in the file, -1 if not applicable. */
  offset: number;
  message: string;
}

export interface VerifyResult {
  problems: Problem[];
  series: number;
  chunks: number;
  samples: number;
}

function toProblem(e: unknown, fallbackFile: string): Problem {
  if (e instanceof CorruptionError) return {file: e.file, offset: e.offset, message: e.reason};
  return {file: fallbackFile, offset: -1, message: `unexpected error: ${(e as Error)?.message ?? String(e)}`};
}

/** Returns the list of problems (empty = valid). Never throws for bad data. */
export function verifyBlock(dir: string, opts: {maxProblems?: number} = {}): Problem[] {
  return verifyBlockDetailed(dir, opts).problems;
}

export function verifyBlockDetailed(dir: string, opts: {maxProblems?: number} = {}): VerifyResult {
  const max = opts.maxProblems ?? 100;
  const res: VerifyResult = {problems: [], series: 0, chunks: 0, samples: 0};
  const add = (p: Problem): boolean => {
    res.problems.push(p);
    return res.problems.length < max;
  };
  const metaFile = path.join(dir, 'meta.json');
  const indexFile = path.join(dir, 'index');

  let meta: BlockMeta | null = null;
  try {
    meta = readMetaFile(dir);
    const base = path.basename(path.resolve(dir));
    if (meta.ulid.toUpperCase() !== base.toUpperCase()) {
      add({file: metaFile, offset: -1, message: `ulid ${meta.ulid} does not match directory name ${base}`});
    }
    if (meta.minTime >= meta.maxTime) add({file: metaFile, offset: -1, message: 'minTime >= maxTime'});
  } catch (e) {
    add(toProblem(e, metaFile));
  }
  try {
    readTombstonesFile(dir);
  } catch (e) {
    add(toProblem(e, path.join(dir, 'tombstones')));
  }
  let index: IndexReader;
  try {
    index = IndexReader.open(indexFile);
  } catch (e) {
    add(toProblem(e, indexFile));
    return res;
  }
  let chunks: ChunkReader;
  try {
    if (!fs.existsSync(path.join(dir, 'chunks'))) throw new CorruptionError(path.join(dir, 'chunks'), -1, 'chunks directory missing');
    chunks = ChunkReader.open(path.join(dir, 'chunks'));
  } catch (e) {
    add(toProblem(e, path.join(dir, 'chunks')));
    return res;
  }
  try {
    // Postings lists.
    for (const k of index.postingsKeys()) {
      try {
        index.readPostingsAt(k.offset, `postings ${k.name}=${JSON.stringify(k.value)}`);
      } catch (e) {
        if (!add(toProblem(e, indexFile))) return res;
      }
    }
    let refs: number[];
    try {
      refs = index.allPostings();
    } catch (e) {
      add(toProblem(e, indexFile));
      return res;
    }
    // Series, chunks and samples through the normal read path.
    let prev: ReturnType<IndexReader['series']>['labels'] | null = null;
    let lastRef = 0;
    for (const ref of refs) {
      let s: ReturnType<IndexReader['series']>;
      try {
        s = index.series(ref);
      } catch (e) {
        if (!add(toProblem(e, indexFile))) return res;
        continue;
      }
      res.series++;
      const at = ref * 16;
      for (let i = 1; i < s.labels.length; i++) {
        if (compareStrings(s.labels[i - 1].name, s.labels[i].name) >= 0) {
          add({file: indexFile, offset: at, message: `series ${ref}: labels not sorted`});
        }
      }
      for (const l of s.labels) {
        if (l.value === '') add({file: indexFile, offset: at, message: `series ${ref}: empty value for ${l.name}`});
      }
      if (prev !== null && compareLabels(prev, s.labels) >= 0) {
        add({file: indexFile, offset: at, message: `series ${ref} ${labelsString(s.labels)} out of order`});
      }
      prev = s.labels;
      if (s.chunks.length === 0) add({file: indexFile, offset: at, message: `series ${ref}: no chunks`});
      for (let i = 0; i < s.chunks.length; i++) {
        const c = s.chunks[i];
        res.chunks++;
        if (c.ref < lastRef) add({file: indexFile, offset: at, message: `series ${ref}: chunk refs not ascending`});
        lastRef = c.ref;
        if (i > 0 && c.minTime <= s.chunks[i - 1].maxTime) {
          add({file: indexFile, offset: at, message: `series ${ref}: overlapping chunks`});
        }
        if (meta && (c.minTime < meta.minTime || c.maxTime >= meta.maxTime)) {
          add({file: indexFile, offset: at, message: `series ${ref}: chunk [${c.minTime}, ${c.maxTime}] outside block range [${meta.minTime}, ${meta.maxTime})`});
        }
        try {
          for (const _ of chunkSamples(chunks, c)) res.samples++;
        } catch (e) {
          if (!add(toProblem(e, path.join(dir, 'chunks')))) return res;
        }
      }
      if (res.problems.length >= max) return res;
    }
    const st = meta?.stats;
    if (meta && st) {
      const cmp: [string, number | undefined, number][] = [
        ['numSeries', st.numSeries, res.series],
        ['numChunks', st.numChunks, res.chunks],
        ['numSamples', st.numSamples, res.samples],
      ];
      for (const [k, want, got] of cmp) {
        if (want !== undefined && want !== got && res.problems.length === 0) {
          add({file: metaFile, offset: -1, message: `stats.${k} = ${want}, block has ${got}`});
        }
      }
    }
    return res;
  } catch (e) {
    add(toProblem(e, dir));
    return res;
  } finally {
    chunks.close();
  }
}
