// The head: the in-memory, appendable part of the store (Prometheus tsdb/head*.go).
// Series are found by a hash of their labels and addressed by refs that are never
// reused; label strings are interned through the postings index (one canonical Label
// object per name/value pair). Reads go through the SeriesSource interface.

import {type CutOptions, type CuttingRule, DEFAULT_CHUNK_RANGE, DEFAULT_SAMPLES_PER_CHUNK, type Matcher, type Sample, type SeriesInput} from '../block/mod.ts';
import {type Label, type Labels, compareLabels, compareStrings, labelValue, matcherTest, toLabels} from '../labels/mod.ts';
import type {SeriesData, SeriesSource} from '../storage.ts';
import {type CheckpointSeries, type Logger, type ReplayStats, Wal, type WalOptions, nopLogger} from '../wal/mod.ts';
import {HeadAppender, type RejectReason, REJECT_REASONS} from './appender.ts';
import {MemSeries, chunkRangeSamples} from './series.ts';
import {replayVisitor} from './replay.ts';

export interface HeadOptions {
  /** Chunks never cross multiples of it; Prometheus server: 2h (the min block duration). */
  chunkRange?: number;
  /** Default 120 (Prometheus' DefaultSamplesPerChunk). */
  samplesPerChunk?: number;
  /** Default 'v2.42' (see block/cut.ts). */
  cutting?: CuttingRule;
  /**
   * Samples older than maxTime − appendWindow are rejected as out of bounds
   * (Prometheus: chunkRange / 2). Infinity disables the check.
   */
  appendWindow?: number;
  /** Samples before this are rejected (and dropped at replay): the newest persisted block's maxTime. */
  minValidTime?: number;
  logger?: Logger;
}

export interface HeadStats {
  series: number;
  samples: number;
  chunks: number;
  minTime: number;
  maxTime: number;
  /** Samples appended (committed) since the head was created, replay included. */
  appendedTotal: number;
  /** Rejected samples by reason since the head was created. */
  rejected: Record<RejectReason, number>;
  /** Samples repeating the last timestamp and value of their series (ignored, as Prometheus does). */
  duplicatesIgnored: number;
  /** Rough memory estimate (bytes) from sizes of chunks and fixed per-object costs. */
  approxBytes: number;
  minValidTime: number;
}

export interface TruncateStats {
  droppedSeries: number;
  droppedChunks: number;
  droppedSamples: number;
}

interface Posting {
  readonly label: Label;
  readonly series: MemSeries[];
}

interface NameEntry {
  readonly name: string;
  readonly values: Map<string, Posting>;
}

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 16777619;

function hashString(h: number, s: string): number {
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), FNV_PRIME);
  return h;
}

/** FNV-1a over names and values with separators (0xffff never occurs in valid UTF-16 text in practice). */
export function hashLabels(ls: Labels): number {
  let h = FNV_OFFSET;
  for (let i = 0; i < ls.length; i++) {
    h = Math.imul(hashString(h, ls[i].name) ^ 0xfffe, FNV_PRIME);
    h = Math.imul(hashString(h, ls[i].value) ^ 0xffff, FNV_PRIME);
  }
  return h >>> 0;
}

function labelsEqual(a: Labels, b: Labels): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i].name !== b[i].name || a[i].value !== b[i].value) return false;
  return true;
}

export class Head implements SeriesSource {
  readonly cut: CutOptions;
  readonly appendWindow: number;
  readonly logger: Logger;
  /** Samples before it belong to persisted blocks: rejected, hidden from reads. */
  minValidTime: number;
  /** Set by Head.open; null for a memory-only head. */
  wal: Wal | null = null;
  replayStats: ReplayStats | null = null;

  /** @internal */ readonly byRef = new Map<number, MemSeries>();
  private readonly byHash = new Map<number, MemSeries | MemSeries[]>();
  private readonly postings = new Map<string, NameEntry>();
  /** @internal */ nextRef = 1;
  /** @internal garbage-collection generation, bumped by truncate(). */
  gen = 0;
  /** @internal */ nextAppenderId = 1;
  /** @internal spare staging buffers (one appender's worth). */
  spare: unknown = null;
  private seriesCount = 0;
  /** @internal */ minT = Infinity;
  /** @internal */ maxT = -Infinity;
  /** @internal */ numSamples = 0;
  /** @internal */ appendedTotal = 0;
  /** @internal */ readonly rejected: Record<RejectReason, number>;
  /** @internal */ duplicatesIgnored = 0;

  constructor(opts: HeadOptions = {}) {
    this.cut = {
      chunkRange: opts.chunkRange ?? DEFAULT_CHUNK_RANGE,
      samplesPerChunk: opts.samplesPerChunk ?? DEFAULT_SAMPLES_PER_CHUNK,
      rule: opts.cutting ?? 'v2.42',
    };
    if (!(this.cut.chunkRange > 0) || !(this.cut.samplesPerChunk >= 4)) throw new RangeError('invalid chunkRange / samplesPerChunk');
    this.appendWindow = opts.appendWindow ?? this.cut.chunkRange / 2;
    this.minValidTime = opts.minValidTime ?? -Infinity;
    this.logger = opts.logger ?? nopLogger;
    this.rejected = Object.fromEntries(REJECT_REASONS.map((r) => [r, 0])) as Record<RejectReason, number>;
  }

  /**
   * Opens a head backed by the WAL in `walDir`: replays it (repairing a torn tail), then
   * logs every commit to it. Pass the newest block's maxTime as `minValidTime` so samples
   * already persisted are not replayed twice.
   */
  static open(walDir: string, opts: HeadOptions & {wal?: Omit<WalOptions, 'logger'>} = {}): Head {
    const head = new Head(opts);
    const replay = replayVisitor(head);
    const {wal, stats} = Wal.open(walDir, replay.visitor, {...opts.wal, logger: head.logger});
    replay.finish();
    head.wal = wal;
    head.replayStats = stats;
    head.logger.info('head: WAL replayed', {
      series: head.seriesCount,
      samples: head.numSamples,
      ms: Math.round(stats.ms),
      ...replay.counts,
    });
    return head;
  }

  get minTime(): number {
    if (this.seriesCount === 0 || this.minT === Infinity) return Infinity;
    return Math.max(this.minT, this.minValidTime);
  }

  get maxTime(): number {
    return this.maxT;
  }

  /** A staging area for one batch (a scrape): append…, then commit() or rollback(). */
  appender(): HeadAppender {
    return new HeadAppender(this);
  }

  /** @internal Lowest timestamp an appender created now accepts. */
  appendableMinValidTime(): number {
    if (this.maxT === -Infinity || this.appendWindow === Infinity) return this.minValidTime;
    return Math.max(this.minValidTime, this.maxT - this.appendWindow);
  }

  /** Series by ref (undefined if unknown or garbage-collected). */
  series(ref: number): MemSeries | undefined {
    return this.byRef.get(ref);
  }

  /** @internal Finds or creates the series for `input`; null for an invalid label set. */
  getOrCreate(input: Labels | Readonly<Record<string, string>>): MemSeries | null {
    let labels: Label[];
    try {
      labels = toLabels(input);
    } catch {
      return null;
    }
    if (labels.length === 0) return null;
    const h = hashLabels(labels);
    const found = this.lookup(h, labels);
    if (found !== undefined) return found;
    return this.create(this.nextRef++, labels, h);
  }

  private lookup(h: number, labels: Labels): MemSeries | undefined {
    const e = this.byHash.get(h);
    if (e === undefined) return undefined;
    if (!Array.isArray(e)) return labelsEqual(e.labels, labels) ? e : undefined;
    for (const s of e) if (labelsEqual(s.labels, labels)) return s;
    return undefined;
  }

  private create(ref: number, labels: Labels, h: number): MemSeries {
    const interned: Label[] = new Array(labels.length);
    const postings: Posting[] = new Array(labels.length);
    for (let i = 0; i < labels.length; i++) {
      const {name, value} = labels[i];
      let ne = this.postings.get(name);
      if (ne === undefined) {
        ne = {name, values: new Map()};
        this.postings.set(name, ne);
      }
      let p = ne.values.get(value);
      if (p === undefined) {
        p = {label: {name: ne.name, value}, series: []};
        ne.values.set(value, p);
      }
      interned[i] = p.label;
      postings[i] = p;
    }
    const s = new MemSeries(ref, interned, h);
    s.touchGen = this.gen;
    for (const p of postings) p.series.push(s);
    const e = this.byHash.get(h);
    if (e === undefined) this.byHash.set(h, s);
    else if (Array.isArray(e)) e.push(s);
    else this.byHash.set(h, [e, s]);
    this.byRef.set(ref, s);
    this.seriesCount++;
    if (ref >= this.nextRef) this.nextRef = ref + 1;
    return s;
  }

  /**
   * @internal Replay: the series record (ref, labels). A label set seen before under an
   * older ref (the series was garbage-collected and re-created) takes the newest ref;
   * the old one stays an alias until replay ends. Returns the alias ref, if any.
   */
  replaySeries(ref: number, labels: Labels): number | null {
    const existing = this.byRef.get(ref);
    if (existing !== undefined) return null; // repeated record (checkpoint + segment)
    const h = hashLabels(labels);
    const found = this.lookup(h, labels);
    if (found === undefined) {
      this.create(ref, labels, h).logged = true;
      return null;
    }
    const old = found.ref;
    this.byRef.set(ref, found);
    if (ref > found.ref) found.ref = ref;
    if (ref >= this.nextRef) this.nextRef = ref + 1;
    return old === found.ref ? ref : old;
  }

  /** @internal Drops a replay alias ref. */
  dropAlias(ref: number): void {
    const s = this.byRef.get(ref);
    if (s !== undefined && s.ref !== ref) this.byRef.delete(ref);
  }

  /** @internal Applies one committed sample (t > s.lastT checked by the caller). */
  applySample(s: MemSeries, t: number, hi: number, lo: number): void {
    s.append(t, hi, lo, this.cut);
    if (t < this.minT) this.minT = t;
    if (t > this.maxT) this.maxT = t;
    this.numSamples++;
    this.appendedTotal++;
  }

  /** Distinct series (replay aliases excluded). */
  private *allSeries(): IterableIterator<MemSeries> {
    for (const [ref, s] of this.byRef) if (s.ref === ref) yield s;
  }

  private matching(matchers: readonly Matcher[]): MemSeries[] {
    const tests = matchers.map((m) => ({m, test: matcherTest(m)}));
    let cand: Set<MemSeries> | null = null;
    // Narrow with matchers that do not match "": their postings are a superset.
    for (const {m, test} of tests) {
      if (test('')) continue;
      const set = new Set<MemSeries>();
      const ne = this.postings.get(m.name);
      if (ne !== undefined) {
        if (m.type === '=') {
          const p = ne.values.get(m.value);
          if (p !== undefined) for (const s of p.series) if (cand === null || cand.has(s)) set.add(s);
        } else {
          for (const [v, p] of ne.values) if (test(v)) for (const s of p.series) if (cand === null || cand.has(s)) set.add(s);
        }
      }
      cand = set;
    }
    const out: MemSeries[] = [];
    for (const s of cand ?? this.allSeries()) {
      if (tests.every(({m, test}) => test(labelValue(s.labels, m.name)))) out.push(s);
    }
    out.sort((a, b) => compareLabels(a.labels, b.labels));
    return out;
  }

  /** Series matching all matchers with samples in [mint, maxt] (inclusive), sorted by labels. */
  *select(matchers: readonly Matcher[], mint: number, maxt: number): IterableIterator<SeriesData> {
    const lo = Math.max(mint, this.minValidTime);
    for (const s of this.matching(matchers)) {
      if (s.maxTime() < lo || s.minTime() > maxt) continue;
      // Snapshot now: appends after this point are not seen, truncation does not tear it.
      const chunks = s.snapshotChunks();
      yield {labels: s.labels, samples: {[Symbol.iterator]: () => chunkRangeSamples(chunks, lo, maxt)}};
    }
  }

  labelNames(matchers?: readonly Matcher[]): string[] {
    if (matchers === undefined || matchers.length === 0) {
      return [...this.postings.keys()].sort(compareStrings);
    }
    const set = new Set<string>();
    for (const s of this.matching(matchers)) for (const l of s.labels) set.add(l.name);
    return [...set].sort(compareStrings);
  }

  labelValues(name: string, matchers?: readonly Matcher[]): string[] {
    if (matchers === undefined || matchers.length === 0) {
      const ne = this.postings.get(name);
      return ne === undefined ? [] : [...ne.values.keys()].sort(compareStrings);
    }
    const set = new Set<string>();
    for (const s of this.matching(matchers)) {
      const v = labelValue(s.labels, name);
      if (v !== '') set.add(v);
    }
    return [...set].sort(compareStrings);
  }

  /**
   * What a block cut needs: every series with samples in [mint, maxt) — maxt exclusive,
   * like a block's meta.json — sorted by labels, as writeBlock input. Pass
   * `{minTime: mint, maxTime: maxt}` to writeBlock to get an aligned block.
   */
  *seriesForBlock(mint: number, maxt: number): IterableIterator<SeriesInput> {
    const lo = Math.max(mint, this.minValidTime);
    for (const s of this.matching([])) {
      if (s.maxTime() < lo || s.minTime() >= maxt) continue;
      const samples: Sample[] = [];
      for (const x of chunkRangeSamples(s.snapshotChunks(), lo, maxt - 1)) {
        samples.push(x.stale ? {t: x.t, v: x.v, stale: true} : {t: x.t, v: x.v});
      }
      if (samples.length > 0) yield {labels: s.labels, samples};
    }
  }

  /**
   * After a block holding everything before `mint` is persisted: drops chunks that end
   * before mint, hides older samples of straddling chunks, rejects appends before mint,
   * and removes series with no data left and no append since the previous truncate.
   */
  truncate(mint: number): TruncateStats {
    if (mint > this.minValidTime) this.minValidTime = mint;
    const dead: MemSeries[] = [];
    let droppedChunks = 0;
    let droppedSamples = 0;
    let minT = Infinity;
    let maxT = -Infinity;
    for (const s of this.allSeries()) {
      const [c, n] = s.truncateBefore(mint);
      droppedChunks += c;
      droppedSamples += n;
      if (s.numChunks() === 0) {
        if (s.touchGen < this.gen) dead.push(s);
        continue;
      }
      minT = Math.min(minT, s.minTime());
      maxT = Math.max(maxT, s.maxTime());
    }
    this.numSamples -= droppedSamples;
    this.minT = minT;
    // maxT stays as the high-water mark unless the head is empty (append window, Prometheus-like).
    if (maxT === -Infinity && dead.length === this.seriesCount) this.maxT = -Infinity;
    if (dead.length > 0) this.removeSeries(dead);
    this.gen++;
    return {droppedSeries: dead.length, droppedChunks, droppedSamples};
  }

  private removeSeries(dead: MemSeries[]): void {
    const touched = new Set<Posting>();
    const deadSet = new Set(dead);
    for (const s of dead) {
      s.dropped = true;
      this.byRef.delete(s.ref);
      const e = this.byHash.get(s.hash);
      if (e === s) this.byHash.delete(s.hash);
      else if (Array.isArray(e)) {
        const rest = e.filter((x) => x !== s);
        if (rest.length === 1) this.byHash.set(s.hash, rest[0]);
        else this.byHash.set(s.hash, rest);
      }
      for (const l of s.labels) {
        const p = this.postings.get(l.name)?.values.get(l.value);
        if (p !== undefined) touched.add(p);
      }
      this.seriesCount--;
    }
    for (const p of touched) {
      const keep = p.series.filter((s) => !deadSet.has(s));
      p.series.length = 0;
      for (const s of keep) p.series.push(s);
      if (keep.length === 0) {
        const ne = this.postings.get(p.label.name)!;
        ne.values.delete(p.label.value);
        if (ne.values.size === 0) this.postings.delete(p.label.name);
      }
    }
  }

  /** Live series with their chunks, for Wal.truncate. */
  *checkpointSeries(): IterableIterator<CheckpointSeries> {
    for (const s of this.allSeries()) {
      if (s.dropped) continue;
      yield {ref: s.ref, labels: s.labels, chunks: () => s.chunkBytes()};
    }
  }

  /**
   * After writeBlock of seriesForBlock(·, mint) succeeded: truncate the head, then the
   * WAL (checkpoint + delete old segments). Memory-only heads just truncate.
   */
  async truncateWithWal(mint: number): Promise<TruncateStats> {
    const st = this.truncate(mint);
    if (this.wal !== null) await this.wal.truncate(mint, this.checkpointSeries());
    return st;
  }

  stats(): HeadStats {
    let chunks = 0;
    let approx = 0;
    for (const s of this.allSeries()) {
      chunks += s.numChunks();
      approx += 220 + 4 * s.labels.length;
      for (const c of s.closed) approx += c.data.length + 100;
      if (s.app !== null) approx += 320 + s.app.byteLength();
    }
    // Postings / interned labels.
    for (const ne of this.postings.values()) for (const p of ne.values.values()) approx += 90 + 2 * p.label.value.length + 4 * p.series.length;
    return {
      series: this.seriesCount,
      samples: this.numSamples,
      chunks,
      minTime: this.minTime,
      maxTime: this.maxTime,
      appendedTotal: this.appendedTotal,
      rejected: {...this.rejected},
      duplicatesIgnored: this.duplicatesIgnored,
      approxBytes: approx,
      minValidTime: this.minValidTime,
    };
  }

  /** Closes the WAL (fsync). The head stays readable. */
  close(): void {
    this.wal?.close();
  }
}
