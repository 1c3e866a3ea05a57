// Target labels and honor_labels / honor_timestamps, as Prometheus 2.48 scrape.go
// (mutateSampleLabels, resolveConflictingExposedLabels, scrapeLoop.append) applies them.
// The two settings are independent (upstream plugin bug: it fed HonorTimestamps into
// HonorLabels; here each has its own field).

import type {Label, Labels} from '../../tsdb/labels/mod.ts';
import type {ParsedSample} from './parse.ts';

export interface TargetOptions {
  /** The target's labels (job, instance, …), any order; no `__`-prefixed ones. */
  labels: Labels;
  /** honor_labels: true → exposed labels win; false → target wins, exposed ones become exported_<name>. */
  honorLabels: boolean;
  /** honor_timestamps: true → exposed timestamps are used; false → every sample gets scrapeTime. */
  honorTimestamps: boolean;
  /** Scrape time in ms, used for samples without (honoured) timestamp. */
  scrapeTime: number;
}

/** Sorts the target labels once (parse() does this for you). */
export function prepareTarget(t: TargetOptions): TargetOptions & {labels: Label[]} {
  const labels = [...t.labels].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return {...t, labels};
}

const EXPORTED = 'exported_';

/**
 * Returns the sample as Prometheus would append it for this target: target labels merged
 * per honor_labels, and `timestamp` set to the exposed one (if honoured) or scrapeTime.
 */
export function applyTargetLabels(
  sample: ParsedSample,
  targetLabels: Labels,
  opts: {honorLabels: boolean; honorTimestamps: boolean; scrapeTime: number},
): ParsedSample {
  const out: ParsedSample = {
    labels: mergeLabels(sample, targetLabels, opts.honorLabels),
    value: sample.value,
    timestamp: opts.honorTimestamps && sample.timestamp !== undefined ? sample.timestamp : opts.scrapeTime,
  };
  if (sample.valueBits !== undefined) out.valueBits = sample.valueBits;
  return out;
}

function sortedByName(ls: Labels): boolean {
  for (let i = 1; i < ls.length; i++) if (!(ls[i - 1].name < ls[i].name)) return false;
  return true;
}

function mergeLabels(sample: ParsedSample, target: Labels, honor: boolean): Label[] {
  const exposed = sample.labels;
  if (!sortedByName(target)) target = [...target].sort((a, b) => (a.name < b.name ? -1 : 1));
  // Fast path: no name in common and no empty target values → sorted merge.
  let clash = false;
  for (const t of target) {
    if (t.value === '' || sample.emptyLabels?.includes(t.name)) {
      clash = true;
      break;
    }
  }
  if (!clash) {
    const res: Label[] = [];
    let i = 0;
    let j = 0;
    while (i < exposed.length && j < target.length) {
      const a = exposed[i];
      const b = target[j];
      if (a.name < b.name) {
        res.push(a);
        i++;
      } else if (a.name > b.name) {
        res.push(b);
        j++;
      } else {
        clash = true;
        break;
      }
    }
    if (!clash) {
      while (i < exposed.length) res.push(exposed[i++]);
      while (j < target.length) res.push(target[j++]);
      return res;
    }
  }
  return slowMerge(sample, target, honor);
}

// labels.Builder semantics: Set(name, "") deletes; Get returns "" for absent.
function slowMerge(sample: ParsedSample, target: Labels, honor: boolean): Label[] {
  const lb = new Map<string, string>();
  for (const l of sample.labels) lb.set(l.name, l.value);
  const set = (n: string, v: string): void => {
    if (v === '') lb.delete(n);
    else lb.set(n, v);
  };
  if (honor) {
    // lset.Has(name): exposed with any value, including an empty one.
    for (const t of target) if (!lb.has(t.name) && !sample.emptyLabels?.includes(t.name)) set(t.name, t.value);
  } else {
    const conflicts: Label[] = [];
    for (const t of target) {
      const existing = sample.labels.find((l) => l.name === t.name)?.value ?? '';
      if (existing !== '') conflicts.push({name: t.name, value: existing});
      set(t.name, t.value);
    }
    // Stable sort by name length, then exported_ prefixes until a free name is found.
    conflicts.sort((a, b) => a.name.length - b.name.length);
    for (const c of conflicts) {
      let newName = c.name;
      for (;;) {
        newName = EXPORTED + newName;
        if ((lb.get(newName) ?? '') === '') {
          set(newName, c.value);
          break;
        }
      }
    }
  }
  const res: Label[] = [];
  for (const [name, value] of lb) res.push({name, value});
  res.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return res;
}
