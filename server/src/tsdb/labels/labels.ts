// Label sets as the index stores them (Prometheus model/labels): sorted by name in
// UTF-8 byte order, unique names, no empty values. `__name__` is an ordinary label.

export interface Label {
  readonly name: string;
  readonly value: string;
}

export type Labels = readonly Label[];

/**
 * Compares strings in UTF-8 byte order (Go's string <), which is code point order.
 * JS `<` compares UTF-16 code units and differs for characters above U+FFFF vs
 * U+E000–U+FFFF, so we fix up surrogates at the first difference.
 */
export function compareStrings(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x !== y) {
      if (x >= 0xd800 && y >= 0xd800) {
        x += x < 0xe000 ? 0x2000 : -0x800;
        y += y < 0xe000 ? 0x2000 : -0x800;
      }
      return x < y ? -1 : 1;
    }
  }
  return a.length - b.length < 0 ? -1 : a.length === b.length ? 0 : 1;
}

/** Prometheus labels.Compare: label by label (name, then value); a prefix sorts first. */
export function compareLabels(a: Labels, b: Labels): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const c = compareStrings(a[i].name, b[i].name);
    if (c !== 0) return c;
    const d = compareStrings(a[i].value, b[i].value);
    if (d !== 0) return d;
  }
  return a.length - b.length < 0 ? -1 : a.length === b.length ? 0 : 1;
}

/**
 * Normalises user input into a sorted label set: drops empty values, sorts by name.
 * Throws on duplicate names.
 */
export function toLabels(input: Labels | Readonly<Record<string, string>>): Label[] {
  const arr: Label[] = Array.isArray(input)
    ? (input as Labels).filter((l) => l.value !== '').map((l) => ({name: l.name, value: l.value}))
    : Object.entries(input as Record<string, string>)
        .filter(([, v]) => v !== '')
        .map(([name, value]) => ({name, value}));
  arr.sort((x, y) => compareStrings(x.name, y.name));
  for (let i = 1; i < arr.length; i++) {
    if (arr[i].name === arr[i - 1].name) throw new Error(`duplicate label name ${JSON.stringify(arr[i].name)}`);
  }
  return arr;
}

/** True if labels are sorted by name with unique names. */
export function labelsSorted(ls: Labels): boolean {
  for (let i = 1; i < ls.length; i++) if (compareStrings(ls[i - 1].name, ls[i].name) >= 0) return false;
  return true;
}

/**
 * `s` as a string of its own. V8 makes a substring of 13 or more characters a view into its
 * parent, so a label value sliced from a 2 MB scrape body would keep the whole body alive
 * for as long as it is stored; concatenating first makes slice() copy from a fresh flat
 * string. For strings kept long-term (interned labels, scrape caches); cheap enough for
 * new series, not meant for every sample.
 */
export function detached(s: string): string {
  return s.length < 13 ? s : (' ' + s).slice(1);
}

/** A stable string key for a label set (for maps). */
export function labelsKey(ls: Labels): string {
  let s = '';
  for (const l of ls) s += l.name + '\u0000' + l.value + '\u0000';
  return s;
}

/** `{__name__="up", job="a"}`-style rendering for messages. */
export function labelsString(ls: Labels): string {
  return '{' + ls.map((l) => `${l.name}=${JSON.stringify(l.value)}`).join(', ') + '}';
}

/** Value of the label `name`, or '' if absent. */
export function labelValue(ls: Labels, name: string): string {
  for (const l of ls) if (l.name === name) return l.value;
  return '';
}
