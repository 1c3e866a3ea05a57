// The per-target series cache of a scrape loop, as Prometheus keeps one (scrapeCache):
// the text a series is exposed with (`a_total{b="c"}`) → its labels as stored and the
// store's ref, so a repeated series costs a lookup instead of building its labels and
// hashing them in the store. Series are also kept by label set, so one exposed with two
// texts is still one series.

import {detached, type Label, type Labels} from '../tsdb/labels/mod.ts';

/** One series of the target (Prometheus' cacheEntry). */
export interface CachedSeries {
  readonly labels: Labels;
  /** The store's ref (0: none yet). */
  ref: number;
  /** Number of the last scrape that had it (0: none yet). */
  seen: number;
}

interface TextEntry {
  readonly text: string;
  readonly series: CachedSeries;
  /** The entry that followed this one in the scrape that last had it. */
  next: TextEntry | undefined;
}

function labelKey(ls: Labels): string {
  let k = '';
  for (const l of ls) k += `${l.name}\xff${l.value}\xfe`;
  return k;
}

export class ScrapeCache {
  private readonly byLabels = new Map<string, CachedSeries>();
  private readonly byText = new Map<string, TextEntry>();
  /** One Label per name/value pair, shared by the series (fewer objects for the GC to mark). */
  private readonly pool = new Map<string, Label>();
  private first: TextEntry | undefined;
  /** The entry of the previous sample in this scrape. */
  private last: TextEntry | undefined;

  /** Series kept (by label set). */
  get size(): number {
    return this.byLabels.size;
  }

  /** Call before each scrape's first sample. */
  begin(): void {
    this.last = undefined;
  }

  /** The text of the series that followed the previous one last time, if any. */
  expected(): string | undefined {
    return (this.last === undefined ? this.first : this.last.next)?.text;
  }

  /** The series exposed as `text`, if known. */
  get(text: string): CachedSeries | undefined {
    // Exporters print their series in the same order every time: the entry that came next
    // last time is compared first — one string compare instead of hashing the whole text.
    const guess = this.last === undefined ? this.first : this.last.next;
    const e = guess !== undefined && guess.text === text ? guess : this.byText.get(text);
    if (e === undefined) return undefined;
    this.follow(e);
    return e.series;
  }

  /**
   * A sample `get` did not know: its series by label set (new ones are added), cached under
   * `text` unless that is undefined. Strings kept are detached from the scrape body, which
   * they would otherwise keep alive.
   */
  add(labels: Labels, text: string | undefined): CachedSeries {
    const key = labelKey(labels);
    let s = this.byLabels.get(key);
    if (s === undefined) {
      s = {labels: labels.map((l) => this.intern(l)), ref: 0, seen: 0};
      this.byLabels.set(detached(key), s);
    }
    if (text !== undefined) {
      const e: TextEntry = {text: detached(text), series: s, next: undefined};
      this.byText.set(e.text, e);
      this.follow(e);
    }
    return s;
  }

  /** After a successful scrape: forgets the series it did not have (Prometheus flushes so too). */
  keepOnly(iter: number, seenCount: number): void {
    if (this.byLabels.size === seenCount) return; // all seen: nothing vanished
    for (const [k, s] of this.byLabels) if (s.seen !== iter) this.byLabels.delete(k);
    for (const [k, e] of this.byText) if (e.series.seen !== iter) this.byText.delete(k);
    for (const e of this.byText.values()) if (e.next !== undefined && e.next.series.seen !== iter) e.next = undefined;
    if (this.first !== undefined && this.first.series.seen !== iter) this.first = undefined;
    const used = new Set<Label>();
    for (const s of this.byLabels.values()) for (const l of s.labels) used.add(l);
    for (const [k, l] of this.pool) if (!used.has(l)) this.pool.delete(k);
  }

  /** Forgets the texts (labels made from them depend on the scrape settings). */
  clearTexts(): void {
    this.byText.clear();
    this.first = this.last = undefined;
  }

  clear(): void {
    this.byLabels.clear();
    this.pool.clear();
    this.clearTexts();
  }

  private intern(l: Label): Label {
    const k = `${l.name}\xff${l.value}`;
    let p = this.pool.get(k);
    if (p === undefined) this.pool.set(detached(k), (p = {name: detached(l.name), value: detached(l.value)}));
    return p;
  }

  private follow(e: TextEntry): void {
    if (this.last === undefined) this.first = e;
    else this.last.next = e;
    this.last = e;
  }
}
