// en.json (merged into webapp/i18n/en.json by webapp/i18n/extract.ts) must list every string the
// dashboard shows, with the same English text as its defaultMessage.
import fs from 'node:fs';
import path from 'node:path';
import {fileURLToPath} from 'node:url';

import {describe, expect, it} from 'vitest';

import en from './en.json';
import {SECTIONS} from './panels.ts';
import {QUICK_RANGES} from './time_range.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const SOURCES = ['dashboard.tsx', 'time_range_picker.tsx', 'uplot_chart.tsx'];
const MESSAGE = /id: '(dashboard\.[^']+)', defaultMessage: ('(?:[^'\\]|\\.)*'|"[^"]*")/g;

function expected(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const file of SOURCES) {
    const text = fs.readFileSync(path.join(here, file), 'utf8');
    for (const m of text.matchAll(MESSAGE)) out[m[1]] = m[2].slice(1, -1);
  }
  for (const r of QUICK_RANGES) out[`dashboard.range.${r.key}`] = r.label;
  for (const s of SECTIONS) {
    out[`dashboard.section.${s.id}`] = s.title;
    for (const p of s.panels) out[`dashboard.panel.${p.id}`] = p.title;
  }
  return out;
}

describe('dashboard/en.json', () => {
  it('has exactly the dashboard\'s messages, in English as the code says', () => {
    expect(en).toEqual(expected());
  });

  it('has 26 panel titles and unique ids', () => {
    const ids = SECTIONS.flatMap((s) => s.panels.map((p) => p.id));
    expect(ids).toHaveLength(26);
    expect(new Set(ids).size).toBe(26);
    expect(SECTIONS.flatMap((s) => s.panels.flatMap((p) => p.queries))).toHaveLength(36);
  });
});
