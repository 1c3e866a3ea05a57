// Staging and committing one batch of samples (Prometheus tsdb/head_append.go).
//
// append() validates each sample against its series (last committed sample, or the last
// one staged by this appender) and, with a WAL, encodes it into the batch's Samples
// record right away; commit() writes the batch (new series records + the samples
// record) with one write, then applies it to memory. Rejections are per sample, typed
// and counted; a sample repeating the last timestamp with the same value is ignored.

import {STALE_NAN_HI, STALE_NAN_LO, GO_NAN_HI, GO_NAN_LO} from '../chunkenc/mod.ts';
import {Encbuf} from '../encoding/mod.ts';
import type {Labels} from '../labels/mod.ts';
import {SamplesRecordEncoder, encodeSeries} from '../wal/mod.ts';
import type {Head} from './head.ts';
import type {MemSeries} from './series.ts';

export const REJECT_REASONS = [
  'out_of_order',
  'duplicate_timestamp',
  'out_of_bounds',
  'invalid_timestamp',
  'unknown_series',
  'invalid_labels',
] as const;

/**
 * - out_of_order: older than the series' last sample;
 * - duplicate_timestamp: same timestamp as the last sample, different value;
 * - out_of_bounds: before the head's min valid time (persisted, or older than the append window);
 * - invalid_timestamp: not a safe integer;
 * - unknown_series: append by a ref the head does not know (garbage-collected: append by labels);
 * - invalid_labels: empty label set or duplicate label names.
 */
export type RejectReason = (typeof REJECT_REASONS)[number];

/** One rejected sample (the first few per commit are kept for logging). */
export class AppendError extends Error {
  override readonly name = 'AppendError';
  constructor(
    readonly reason: RejectReason,
    readonly ref: number,
    readonly t: number,
  ) {
    super(`sample rejected (${reason}): series ${ref} at ${t}`);
  }
}

export interface CommitResult {
  /** Samples applied to the head. */
  appended: number;
  /** Samples rejected (at append() or at commit), by reason. */
  rejected: Partial<Record<RejectReason, number>>;
  rejectedTotal: number;
  /** Same-timestamp same-value samples ignored. */
  duplicates: number;
  /** The first MAX_ERRORS rejections. */
  errors: AppendError[];
  /** New series logged to the WAL by this commit. */
  newSeries: number;
}

const MAX_ERRORS = 10;

/** New series per WAL series record (a batch may hold several such records). */
const SERIES_PER_RECORD = 1000;

/** Reusable per-batch buffers (the head keeps one spare set). */
class Buffers {
  series: MemSeries[] = [];
  /** Series staged without a series record in the WAL; those before `encoded` are in seriesRec. */
  fresh: MemSeries[] = [];
  encoded = 0;
  ts = new Float64Array(1024);
  hi = new Uint32Array(1024);
  lo = new Uint32Array(1024);
  samplesRec = new SamplesRecordEncoder();
  seriesRec = new Encbuf(4096);

  grow(): void {
    const n = this.ts.length * 2;
    const ts = new Float64Array(n);
    ts.set(this.ts);
    const hi = new Uint32Array(n);
    hi.set(this.hi);
    const lo = new Uint32Array(n);
    lo.set(this.lo);
    this.ts = ts;
    this.hi = hi;
    this.lo = lo;
  }
}

const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);
const LE = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
const IHI = LE ? 1 : 0;
const ILO = LE ? 0 : 1;

export class HeadAppender {
  private readonly head: Head;
  private readonly id: number;
  private readonly minValid: number;
  private buf: Buffers | null;
  private n = 0;
  private duplicates = 0;
  private rejectedTotal = 0;
  private rejected: Partial<Record<RejectReason, number>> = {};
  private errors: AppendError[] = [];

  constructor(head: Head) {
    this.head = head;
    this.id = head.nextAppenderId++;
    this.minValid = head.appendableMinValidTime();
    this.buf = (head.spare as Buffers | null) ?? new Buffers();
    head.spare = null;
  }

  /** Samples staged so far. */
  get staged(): number {
    return this.n;
  }

  private reject(reason: RejectReason, ref: number, t: number): void {
    this.head.rejected[reason]++;
    this.rejected[reason] = (this.rejected[reason] ?? 0) + 1;
    this.rejectedTotal++;
    if (this.errors.length < MAX_ERRORS) this.errors.push(new AppendError(reason, ref, t));
  }

  /**
   * Stages a sample for the series given by ref (fast path, as a scrape cache does) or by
   * labels (found or created). `stale: true` appends Prometheus' stale marker (v ignored).
   * Returns the series ref — also when the sample itself is rejected — or 0 when the
   * series is unknown (ref garbage-collected: append by labels) or the labels invalid.
   */
  append(series: number | Labels | Readonly<Record<string, string>>, t: number, v: number, stale = false): number {
    if (this.buf === null) throw new Error('appender already committed or rolled back');
    const head = this.head;
    let s: MemSeries | null | undefined;
    if (typeof series === 'number') {
      s = head.byRef.get(series);
      if (s === undefined) {
        this.reject('unknown_series', series, t);
        return 0;
      }
    } else {
      s = head.getOrCreate(series);
      if (s === null) {
        this.reject('invalid_labels', 0, t);
        return 0;
      }
    }
    return this.stage(s, t, v, stale);
  }

  /**
   * Prometheus' Append(ref, lset, t, v): by `ref` while the head knows it, else by `labels`
   * (0, or a series garbage-collected since). For a scrape cache, which keeps the returned
   * ref per series and cannot tell when the head dropped one.
   */
  appendByRef(ref: number, labels: Labels, t: number, v: number, stale = false): number {
    if (this.buf === null) throw new Error('appender already committed or rolled back');
    const s = ref > 0 ? this.head.byRef.get(ref) : undefined;
    return s !== undefined ? this.stage(s, t, v, stale) : this.append(labels, t, v, stale);
  }

  private stage(s: MemSeries, t: number, v: number, stale: boolean): number {
    const buf = this.buf!;
    const head = this.head;
    s.touchGen = head.gen;
    const ref = s.ref;
    if (!Number.isSafeInteger(t)) {
      this.reject('invalid_timestamp', ref, t);
      return ref;
    }
    if (t < this.minValid) {
      this.reject('out_of_bounds', ref, t);
      return ref;
    }
    let hi: number;
    let lo: number;
    if (stale) {
      hi = STALE_NAN_HI;
      lo = STALE_NAN_LO;
    } else if (v !== v) {
      hi = GO_NAN_HI;
      lo = GO_NAN_LO;
    } else {
      f64[0] = v;
      hi = u32[IHI];
      lo = u32[ILO];
    }
    const own = s.pOwner === this.id;
    const lastT = own ? s.pT : s.lastT;
    if (t <= lastT) {
      if (t < lastT) this.reject('out_of_order', ref, t);
      else if (hi === (own ? s.pHi : s.lastHi) && lo === (own ? s.pLo : s.lastLo)) {
        this.duplicates++;
        head.duplicatesIgnored++;
      } else this.reject('duplicate_timestamp', ref, t);
      return ref;
    }
    s.pOwner = this.id;
    s.pT = t;
    s.pHi = hi;
    s.pLo = lo;
    const n = this.n;
    if (n === buf.ts.length) buf.grow();
    buf.series[n] = s;
    buf.ts[n] = t;
    buf.hi[n] = hi;
    buf.lo[n] = lo;
    this.n = n + 1;
    if (head.wal !== null) {
      buf.samplesRec.add(ref, t, hi, lo);
      if (!s.logged && s.logPending !== this.id) {
        s.logPending = this.id;
        buf.fresh.push(s);
        // Series records are encoded while staging, a few per record, so that a batch of
        // many new series (a new target's first scrape) costs its commit one write only.
        if (buf.fresh.length - buf.encoded >= SERIES_PER_RECORD) this.encodeFresh(buf);
      }
    }
    s.prepareOpenChunk(head.cut);
    return ref;
  }

  private encodeFresh(buf: Buffers): void {
    if (buf.encoded === buf.fresh.length) return;
    encodeSeries(buf.seriesRec, buf.fresh.slice(buf.encoded));
    buf.encoded = buf.fresh.length;
  }

  /**
   * Writes the batch to the WAL (one write; new series records first), then applies it.
   * If the WAL write fails nothing is applied and the error is thrown.
   */
  commit(): CommitResult {
    const buf = this.buf;
    if (buf === null) throw new Error('appender already committed or rolled back');
    const head = this.head;
    const n = this.n;
    const {series, ts, hi, lo} = buf;
    let newSeries = 0;
    try {
      const wal = head.wal;
      if (wal !== null && n > 0) {
        // New series records first (several records, see stage()), then the samples: one write.
        let fresh = buf.fresh;
        if (fresh.some((s) => s.logged || s.dropped)) {
          // Another appender logged or the head dropped some meanwhile (the scrape loop yields
          // while it stages): their records must not be written again.
          fresh = fresh.filter((s) => !s.logged && !s.dropped);
          buf.seriesRec.reset();
          buf.fresh = fresh;
          buf.encoded = 0;
        }
        this.encodeFresh(buf);
        const bufs: Uint8Array[] = [];
        if (fresh.length > 0) bufs.push(buf.seriesRec.get());
        bufs.push(buf.samplesRec.finish());
        wal.log(bufs);
        for (const s of fresh) s.logged = true;
        newSeries = fresh.length;
      }
      let appended = 0;
      const minValid = head.minValidTime;
      for (let i = 0; i < n; i++) {
        const s = series[i];
        const t = ts[i];
        // Another appender may have committed in between; the WAL replays the same outcome.
        if (s.dropped) this.reject('unknown_series', s.ref, t);
        else if (t <= s.lastT) this.reject(t === s.lastT ? 'duplicate_timestamp' : 'out_of_order', s.ref, t);
        else if (t < minValid) this.reject('out_of_bounds', s.ref, t);
        else {
          head.applySample(s, t, hi[i], lo[i]);
          appended++;
        }
      }
      return {
        appended,
        rejected: this.rejected,
        rejectedTotal: this.rejectedTotal,
        duplicates: this.duplicates,
        errors: this.errors,
        newSeries,
      };
    } finally {
      this.release();
    }
  }

  /** Drops the staged samples (series created meanwhile stay, as in Prometheus). */
  rollback(): void {
    if (this.buf === null) return;
    this.release();
  }

  private release(): void {
    const buf = this.buf!;
    buf.series.length = 0;
    buf.samplesRec.reset();
    buf.fresh.length = 0;
    buf.encoded = 0;
    buf.seriesRec.reset();
    this.buf = null;
    this.n = 0;
    if (this.head.spare === null) this.head.spare = buf;
  }
}
