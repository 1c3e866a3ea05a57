// Label-set helpers for the evaluator. Label sets are the tsdb's sorted Label arrays;
// keys are cached per array object because the same arrays flow through every step.

import {type Label, compareStrings} from '../tsdb/labels/mod.ts';

export type {Label};

export const METRIC_NAME = '__name__';

const keyCache = new WeakMap<readonly Label[], string>();

/** A string key identifying the label set (for maps). */
export function labelsKey(ls: readonly Label[]): string {
  let k = keyCache.get(ls);
  if (k === undefined) {
    k = '';
    for (const l of ls) k += l.name + '\u0000' + l.value + '\u0001';
    keyCache.set(ls, k);
  }
  return k;
}

const dropCache = new WeakMap<readonly Label[], readonly Label[]>();

export function dropMetricName(ls: readonly Label[]): readonly Label[] {
  let out = dropCache.get(ls);
  if (out === undefined) {
    out = ls.some((l) => l.name === METRIC_NAME) ? ls.filter((l) => l.name !== METRIC_NAME) : ls;
    dropCache.set(ls, out);
  }
  return out;
}

export function getLabel(ls: readonly Label[], name: string): string {
  for (const l of ls) if (l.name === name) return l.value;
  return '';
}

/** Returns a copy with `name` set to `value` (removed when value is ""), kept sorted. */
export function setLabel(ls: readonly Label[], name: string, value: string): Label[] {
  const out = ls.filter((l) => l.name !== name);
  if (value !== '') {
    out.push({name, value});
    out.sort((a, b) => compareStrings(a.name, b.name));
  }
  return out;
}

export function keepLabels(ls: readonly Label[], names: ReadonlySet<string>): Label[] {
  return ls.filter((l) => names.has(l.name));
}

export function removeLabels(ls: readonly Label[], names: ReadonlySet<string>): Label[] {
  return ls.filter((l) => !names.has(l.name));
}

/** Key over the named labels only (on / by). */
export function keyWith(ls: readonly Label[], names: ReadonlySet<string>): string {
  let k = '';
  for (const l of ls) if (names.has(l.name)) k += l.name + '\u0000' + l.value + '\u0001';
  return k;
}

/** Key over all labels except the named ones and the metric name (ignoring / without). */
export function keyWithout(ls: readonly Label[], names: ReadonlySet<string>): string {
  let k = '';
  for (const l of ls) if (l.name !== METRIC_NAME && !names.has(l.name)) k += l.name + '\u0000' + l.value + '\u0001';
  return k;
}

export function toRecord(ls: readonly Label[]): Record<string, string> {
  const r: Record<string, string> = {};
  for (const l of ls) r[l.name] = l.value;
  return r;
}

export function labelsToString(ls: readonly Label[]): string {
  return '{' + ls.map((l) => `${l.name}=${JSON.stringify(l.value)}`).join(', ') + '}';
}
