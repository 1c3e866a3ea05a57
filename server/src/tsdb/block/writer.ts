// writeBlock: persists series as one Prometheus TSDB block directory:
//
//   <dir>/<ULID>.tmp-for-creation/{chunks/000001…, index, tombstones, meta.json}
//   → fsync every file and the directory → rename to <dir>/<ULID> → fsync <dir>.
//
// Synchronous by design (heavy blocks are written from worker threads); no global state.

import fs from 'node:fs';
import path from 'node:path';
import {Encoding, type XORForm} from '../chunkenc/chunk.ts';
import {XORAppender} from '../chunkenc/xor.ts';
import {ChunkWriter} from '../chunks/chunks.ts';
import {WriterError} from '../encoding/errors.ts';
import {type ChunkMeta, IndexWriter, type IndexLayout} from '../index/index.ts';
import {type Label, type Labels, compareLabels, compareStrings, labelsKey, toLabels} from '../labels/labels.ts';
import {writeTombstonesFile} from '../tombstones/tombstones.ts';
import {ChunkCutter, type CuttingRule, DEFAULT_CHUNK_RANGE, DEFAULT_SAMPLES_PER_CHUNK} from './cut.ts';
import {type BlockMeta, type BlockMetaCompaction, writeMetaFile} from './meta.ts';
import {isULID, newULID} from './ulid.ts';

/** One float sample. `stale: true` writes Prometheus' stale marker (v is ignored). */
export interface Sample {
  t: number;
  v: number;
  stale?: boolean;
  /** Raw IEEE-754 words of the value; when both are set they are written instead of `v`
   *  (bit-exact copies, e.g. NaN payloads, when compacting). */
  hi?: number;
  lo?: number;
}

/** A series for writeSortedBlock: sorted labels (no empty values), samples in time order. */
export interface SortedSeriesInput {
  labels: Labels;
  samples: Iterable<Sample>;
}

export interface SeriesInput {
  labels: Labels | Readonly<Record<string, string>>;
  samples: Iterable<Sample>;
}

export interface WriteBlockOptions {
  /** Block ULID (default: new, with the current time). */
  ulid?: string;
  /** See cut.ts. Default 2h (Prometheus server); promtool uses 2 × block duration. */
  chunkRange?: number;
  samplesPerChunk?: number;
  /** Default 'v2.42' (promtool 2.42 parity). */
  cutting?: CuttingRule;
  /** Trailing-byte form of XOR chunks. Default 'v2' (byte parity with promtool 2.42; read by 2.x and 3.x). */
  xorForm?: XORForm;
  /** Default 'v3' (spec §5.9: read by 2.x and 3.x). */
  indexLayout?: IndexLayout;
  /** Add "" to the symbol table (2.x does). Default: indexLayout === 'v2'. */
  emptySymbol?: boolean;
  /** Override meta.json minTime (must be ≤ first sample). */
  minTime?: number;
  /** Override meta.json maxTime, exclusive (must be > last sample). Default last + 1. */
  maxTime?: number;
  /** Default true; tests may disable it for speed. */
  fsync?: boolean;
  segmentSize?: number;
  /** meta.json `compaction` (default `{level: 1, sources: [ulid]}`); compaction sets level, sources and parents. */
  compaction?: BlockMetaCompaction;
}

export interface WriteBlockResult {
  ulid: string;
  /** Final block directory. */
  dir: string;
  meta: BlockMeta;
  /** Samples dropped because their timestamp repeated within a series. */
  duplicateSamples: number;
}

interface PendingSeries {
  labels: Label[];
  parts: Sample[][];
}

const STALE_HI = 0x7ff00000;
const STALE_LO = 2;

function sortedUnique(s: Sample[]): {samples: Sample[]; dropped: number} {
  let ok = true;
  for (let i = 1; i < s.length; i++) {
    if (!(s[i].t > s[i - 1].t)) {
      ok = false;
      break;
    }
  }
  if (ok) return {samples: s, dropped: 0};
  const sorted = s.slice().sort((a, b) => a.t - b.t); // stable: first occurrence wins
  const out: Sample[] = [];
  for (const x of sorted) if (out.length === 0 || out[out.length - 1].t !== x.t) out.push(x);
  return {samples: out, dropped: s.length - out.length};
}

/** Writes a block into `dir` (the data directory) and returns its ULID and meta. */
export function writeBlock(dir: string, series: Iterable<SeriesInput>, opts: WriteBlockOptions = {}): WriteBlockResult {
  const ulid = opts.ulid ?? newULID();
  if (!isULID(ulid)) throw new WriterError(`invalid ULID ${ulid}`);
  const layout = opts.indexLayout ?? 'v3';
  const cutOpts = {
    chunkRange: opts.chunkRange ?? DEFAULT_CHUNK_RANGE,
    samplesPerChunk: opts.samplesPerChunk ?? DEFAULT_SAMPLES_PER_CHUNK,
    rule: opts.cutting ?? 'v2.42',
  };
  if (!(cutOpts.chunkRange > 0) || !(cutOpts.samplesPerChunk >= 4) || cutOpts.samplesPerChunk * 2 > 0xffff) {
    throw new WriterError('invalid chunkRange / samplesPerChunk');
  }

  // 1. Collect, merging duplicate label sets.
  const byKey = new Map<string, PendingSeries>();
  for (const s of series) {
    const labels = toLabels(s.labels);
    if (labels.length === 0) throw new WriterError('series without labels');
    const key = labelsKey(labels);
    const samples = Array.isArray(s.samples) ? (s.samples as Sample[]) : [...s.samples];
    const p = byKey.get(key);
    if (p) p.parts.push(samples);
    else byKey.set(key, {labels, parts: [samples]});
  }
  const pending = [...byKey.values()].sort((a, b) => compareLabels(a.labels, b.labels));
  byKey.clear();

  // 2. Symbols.
  const symbolSet = new Set<string>();
  if (opts.emptySymbol ?? layout === 'v2') symbolSet.add('');
  for (const p of pending) {
    for (const l of p.labels) {
      symbolSet.add(l.name);
      symbolSet.add(l.value);
    }
  }
  const symbols = [...symbolSet].sort(compareStrings);

  return writeSortedBlockWith(dir, symbols, pendingSeries(pending), ulid, opts, cutOpts, 0);
}

function* pendingSeries(pending: PendingSeries[]): IterableIterator<SortedSeriesInput & {dropped: number}> {
  for (const p of pending) {
    const merged = p.parts.length === 1 ? p.parts[0] : p.parts.flat();
    const {samples, dropped} = sortedUnique(merged);
    yield {labels: p.labels, samples, dropped};
  }
}

/**
 * Streaming variant of writeBlock for inputs already in index order (used by compaction):
 * `symbols` must contain every label name and value (extra symbols are allowed, as in
 * Prometheus' compactor), series must come strictly ordered by labels, samples in time
 * order (a repeated timestamp is dropped, first wins). Only one series is held at a time.
 */
export function writeSortedBlock(
  dir: string,
  symbols: Iterable<string>,
  series: Iterable<SortedSeriesInput>,
  opts: WriteBlockOptions = {},
): WriteBlockResult {
  const ulid = opts.ulid ?? newULID();
  if (!isULID(ulid)) throw new WriterError(`invalid ULID ${ulid}`);
  const layout = opts.indexLayout ?? 'v3';
  const cutOpts = {
    chunkRange: opts.chunkRange ?? DEFAULT_CHUNK_RANGE,
    samplesPerChunk: opts.samplesPerChunk ?? DEFAULT_SAMPLES_PER_CHUNK,
    rule: opts.cutting ?? 'v2.42',
  };
  if (!(cutOpts.chunkRange > 0) || !(cutOpts.samplesPerChunk >= 4) || cutOpts.samplesPerChunk * 2 > 0xffff) {
    throw new WriterError('invalid chunkRange / samplesPerChunk');
  }
  const set = new Set(symbols);
  if (opts.emptySymbol ?? layout === 'v2') set.add('');
  else set.delete('');
  return writeSortedBlockWith(dir, [...set].sort(compareStrings), series, ulid, opts, cutOpts, 1);
}

function writeSortedBlockWith(
  dir: string,
  symbols: readonly string[],
  series: Iterable<SortedSeriesInput & {dropped?: number}>,
  ulid: string,
  opts: WriteBlockOptions,
  cutOpts: {chunkRange: number; samplesPerChunk: number; rule: CuttingRule},
  checkOrder: 0 | 1,
): WriteBlockResult {
  const fsync = opts.fsync ?? true;
  const layout = opts.indexLayout ?? 'v3';
  // 3. Write into the temporary directory.
  fs.mkdirSync(dir, {recursive: true});
  const tmp = path.join(dir, `${ulid}.tmp-for-creation`);
  const final = path.join(dir, ulid);
  if (fs.existsSync(final)) throw new WriterError(`block ${final} already exists`);
  fs.rmSync(tmp, {recursive: true, force: true});
  fs.mkdirSync(tmp);
  let cw: ChunkWriter | undefined;
  let iw: IndexWriter | undefined;
  try {
    cw = new ChunkWriter(path.join(tmp, 'chunks'), {fsync, segmentSize: opts.segmentSize});
    iw = new IndexWriter(path.join(tmp, 'index'), {layout, fsync});
    for (const s of symbols) iw.addSymbol(s);

    const app = new XORAppender({form: opts.xorForm ?? 'v2'});
    const cutter = new ChunkCutter(cutOpts);
    let numSamples = 0;
    let numChunks = 0;
    let numSeries = 0;
    let duplicates = 0;
    let minT = Infinity;
    let maxT = -Infinity;
    const metas: ChunkMeta[] = [];
    let prevLabels: Labels | null = null;
    for (const p of series) {
      if (checkOrder) {
        if (p.labels.length === 0) throw new WriterError('series without labels');
        if (prevLabels !== null && compareLabels(prevLabels, p.labels) >= 0) {
          throw new WriterError('series not strictly ordered by labels');
        }
        prevLabels = p.labels;
      }
      duplicates += p.dropped ?? 0;
      metas.length = 0;
      app.reset();
      let chunkMin = 0;
      let lastT = 0;
      let count = 0;
      let firstT = 0;
      for (const smp of p.samples) {
        const t = smp.t;
        if (!Number.isSafeInteger(t)) throw new WriterError(`timestamp ${t} is not an integer`);
        if (count > 0 && t <= lastT) {
          if (t < lastT) throw new WriterError(`samples out of order at ${t}`);
          duplicates++;
          continue;
        }
        if (count === 0) firstT = t;
        count++;
        const n = app.numSamples();
        if (cutter.shouldCut(t, n, n === 0 ? 0 : app.byteLength())) {
          if (n > 0) {
            metas.push({minTime: chunkMin, maxTime: lastT, ref: cw.writeChunk(Encoding.XOR, app.bytes())});
            app.reset();
          }
          cutter.startChunk(t);
          chunkMin = t;
        }
        if (smp.stale) app.appendBits(t, STALE_HI, STALE_LO);
        else if (smp.hi !== undefined && smp.lo !== undefined) app.appendBits(t, smp.hi, smp.lo);
        else app.append(t, smp.v);
        cutter.appended(t);
        lastT = t;
      }
      if (count === 0) continue;
      metas.push({minTime: chunkMin, maxTime: lastT, ref: cw.writeChunk(Encoding.XOR, app.bytes())});
      iw.addSeries(p.labels, metas);
      numSeries++;
      numChunks += metas.length;
      numSamples += count;
      if (firstT < minT) minT = firstT;
      if (lastT > maxT) maxT = lastT;
    }
    if (numSamples === 0) throw new WriterError('no samples: Prometheus treats empty blocks as deletable');
    cw.close();
    iw.close();

    const metaMin = opts.minTime ?? minT;
    const metaMax = opts.maxTime ?? maxT + 1;
    if (metaMin > minT || metaMax <= maxT) throw new WriterError('minTime/maxTime do not cover the samples');
    writeTombstonesFile(tmp, [], fsync);
    const meta: BlockMeta = {
      ulid,
      minTime: metaMin,
      maxTime: metaMax,
      stats: {numSamples, numSeries, numChunks},
      compaction: opts.compaction ?? {level: 1, sources: [ulid]},
      version: 1,
    };
    writeMetaFile(tmp, meta, fsync);
    if (fsync) {
      fsyncDir(path.join(tmp, 'chunks'));
      fsyncDir(tmp);
    }
    fs.renameSync(tmp, final);
    if (fsync) fsyncDir(dir);
    return {ulid, dir: final, meta, duplicateSamples: duplicates};
  } catch (e) {
    cw?.abort();
    iw?.abort();
    fs.rmSync(tmp, {recursive: true, force: true});
    throw e;
  }
}

function fsyncDir(d: string): void {
  const fd = fs.openSync(d, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}
