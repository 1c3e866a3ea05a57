// openBlock: read access to a persisted block (meta.json, index, chunks, tombstones).

import path from 'node:path';
import {Encoding} from '../chunkenc/chunk.ts';
import {type XORColumns, XORIterator, decodeXORInto} from '../chunkenc/xor.ts';
import {ChunkReader, type RawChunk} from '../chunks/chunks.ts';
import {CorruptionError} from '../encoding/errors.ts';
import {type ChunkMeta, IndexReader} from '../index/index.ts';
import {type Label, labelValue} from '../labels/labels.ts';
import {type Tombstone, readTombstonesFile} from '../tombstones/tombstones.ts';
import {type BlockMeta, readMetaFile} from './meta.ts';
import {matcherTest, type Matcher} from '../labels/matcher.ts';

export type {Matcher, MatchType} from '../labels/matcher.ts';

export interface BlockSeries {
  ref: number;
  labels: Label[];
  chunks: ChunkMeta[];
}

/** A decoded sample. `stale` marks Prometheus' stale NaN; hi/lo are the raw value bits. */
export interface ReadSample {
  t: number;
  v: number;
  stale: boolean;
  hi: number;
  lo: number;
}

export class Block {
  readonly dir: string;
  readonly meta: BlockMeta;
  readonly index: IndexReader;
  readonly chunks: ChunkReader;
  readonly tombstones: Tombstone[];

  private constructor(dir: string, meta: BlockMeta, index: IndexReader, chunks: ChunkReader, tombstones: Tombstone[]) {
    this.dir = dir;
    this.meta = meta;
    this.index = index;
    this.chunks = chunks;
    this.tombstones = tombstones;
  }

  /** Opens a block; throws CorruptionError on anything Prometheus would reject at open. */
  static open(dir: string): Block {
    const meta = readMetaFile(dir);
    const index = IndexReader.open(path.join(dir, 'index'));
    const chunks = ChunkReader.open(path.join(dir, 'chunks'));
    try {
      const tombstones = readTombstonesFile(dir);
      return new Block(dir, meta, index, chunks, tombstones);
    } catch (e) {
      chunks.close();
      throw e;
    }
  }

  labelNames(): string[] {
    return this.index.labelNames();
  }

  labelValues(name: string): string[] {
    return this.index.labelValues(name);
  }

  /** Series matching all matchers (all series if none), in label order. */
  series(matchers: readonly Matcher[] = []): BlockSeries[] {
    const tests = matchers.map((m) => ({m, test: matcherTest(m)}));
    let refs: number[] | null = null;
    // Narrow with positive matchers that do not match "": their postings are a superset.
    for (const {m, test} of tests) {
      if (test('')) continue;
      const values = m.type === '=' ? [m.value] : this.index.labelValues(m.name).filter(test);
      const set = new Set<number>();
      for (const v of values) for (const r of this.index.postings(m.name, v)) set.add(r);
      refs = refs === null ? [...set].sort((a, b) => a - b) : refs.filter((r) => set.has(r));
    }
    if (refs === null) refs = this.index.allPostings();
    const out: BlockSeries[] = [];
    for (const ref of refs) {
      const s = this.index.series(ref);
      if (tests.every(({m, test}) => test(labelValue(s.labels, m.name)))) out.push({ref, ...s});
    }
    return out;
  }

  /** Raw chunk bytes (CRC-checked). */
  chunk(meta: ChunkMeta): RawChunk {
    return this.chunks.chunk(meta.ref);
  }

  /** Iterates the samples of a chunk, checking they match the index meta. */
  chunkSamples(meta: ChunkMeta): IterableIterator<ReadSample> {
    return chunkSamples(this.chunks, meta);
  }

  /** All samples of a series, in time order. */
  *samples(s: BlockSeries): IterableIterator<ReadSample> {
    for (const c of s.chunks) yield* this.chunkSamples(c);
  }

  close(): void {
    this.chunks.close();
  }
}

/** Opens the block at `dir`. */
export function openBlock(dir: string): Block {
  return Block.open(dir);
}

/**
 * Decodes the chunk `meta` points at, checking CRC, encoding and that its first/last
 * timestamps equal the index's minTime/maxTime. Throws CorruptionError.
 */
export function* chunkSamples(chunks: ChunkReader, meta: ChunkMeta): IterableIterator<ReadSample> {
  const c = chunks.chunk(meta.ref);
  if (c.encoding !== Encoding.XOR) throw chunkCorruption(chunks, meta, `unsupported chunk encoding ${c.encoding}`);
  const data = c.data.slice(); // the reader's window may be reused
  const it = new XORIterator(data);
  let first = true;
  let lastT = 0;
  while (it.next()) {
    if (first && it.t !== meta.minTime) {
      throw chunkCorruption(chunks, meta, `first sample at ${it.t}, index says chunk starts at ${meta.minTime}`);
    }
    first = false;
    lastT = it.t;
    yield {t: it.t, v: it.v, stale: it.isStale(), hi: it.hi, lo: it.lo};
  }
  finishChunkColumns(chunks, meta, it.err, first ? 0 : 1, lastT);
}

/**
 * chunkSamples in bulk: decodes the whole chunk `meta` into `out` from index `at` and
 * returns the sample count. Throws what chunkSamples throws before its first sample;
 * call finishChunkColumns once done with the samples for what it throws after its last.
 */
export function decodeChunkColumns(chunks: ChunkReader, meta: ChunkMeta, out: XORColumns, at: number): number {
  const c = chunks.chunk(meta.ref);
  if (c.encoding !== Encoding.XOR) throw chunkCorruption(chunks, meta, `unsupported chunk encoding ${c.encoding}`);
  const n = decodeXORInto(c.data, out, at);
  if (n > 0 && out.t[at] !== meta.minTime) {
    throw chunkCorruption(chunks, meta, `first sample at ${out.t[at]}, index says chunk starts at ${meta.minTime}`);
  }
  return n;
}

/**
 * The end-of-chunk checks of chunkSamples for a chunk decodeChunkColumns decoded into
 * `n` samples (only whether any matters) ending at `lastT`, with decoding error `err`.
 */
export function finishChunkColumns(chunks: ChunkReader, meta: ChunkMeta, err: string | null, n: number, lastT: number): void {
  if (err !== null) throw chunkCorruption(chunks, meta, `decode chunk: ${err}`);
  if (n > 0 && lastT !== meta.maxTime) {
    throw chunkCorruption(chunks, meta, `last sample at ${lastT}, index says chunk ends at ${meta.maxTime}`);
  }
}

function chunkCorruption(chunks: ChunkReader, meta: ChunkMeta, msg: string): CorruptionError {
  return new CorruptionError(chunks.segmentFiles()[Math.floor(meta.ref / 0x1_0000_0000)], meta.ref % 0x1_0000_0000, msg);
}
