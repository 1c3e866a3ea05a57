// Interop with Debian's Prometheus 2.42 (installed on demand, see testing/prometheus.ts):
//  - promtool-created blocks: our reader returns exactly their samples; our writer,
//    fed the same input, reproduces chunks/000001, index and meta.json byte for byte;
//  - blocks we write: promtool analyze/dump accept them and a real prometheus returns
//    exactly our samples through /api/v1/query.
// Larger inputs: TSDB_TEST_LARGE=1.

import assert from 'node:assert/strict';
import {execFileSync} from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {after, before, describe, test} from 'node:test';
import {fileURLToPath} from 'node:url';
import {floatHi, floatLo} from '../chunkenc/chunk.ts';
import {labelsString} from '../labels/labels.ts';
import {generateOpenMetrics, parseOpenMetrics, splitWindows} from '../testing/openmetrics.ts';
import {type PromBinaries, ensurePrometheus, promtool, query, startPrometheus} from '../testing/prometheus.ts';
import {readMetaFile} from './meta.ts';
import {openBlock} from './reader.ts';
import {verifyBlock} from './verify.ts';
import {type Sample, type SeriesInput, writeBlock} from './writer.ts';

const LARGE = process.env.TSDB_TEST_LARGE === '1';
const here = path.dirname(fileURLToPath(import.meta.url));
const FOUR_H = 4 * 3600 * 1000;

const bin: PromBinaries | null = ensurePrometheus();
const skip = bin === null ? 'prometheus/promtool not available and not installable' : false;

let root = '';
before(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'tsdb-prom-'));
});
after(() => {
  if (root) fs.rmSync(root, {recursive: true, force: true});
});

function blockDirs(d: string): string[] {
  return fs
    .readdirSync(d)
    .filter((n) => /^[0-9A-Z]{26}$/.test(n))
    .map((n) => path.join(d, n));
}

function key(labels: Record<string, string> | {name: string; value: string}[]): string {
  const ls = Array.isArray(labels) ? labels : Object.entries(labels).map(([name, value]) => ({name, value}));
  return labelsString([...ls].sort((a, b) => (a.name < b.name ? -1 : 1)));
}

function inputs(): {name: string; text: string}[] {
  const list = [
    {name: 'small', text: fs.readFileSync(path.join(here, '../testing/small.om'), 'utf8')},
    {name: 'regular', text: generateOpenMetrics({seriesPerFamily: LARGE ? 200 : 8, samples: 720})},
    {name: 'jitter', text: generateOpenMetrics({seriesPerFamily: LARGE ? 200 : 8, samples: 720, jitter: true, seed: 7})},
    {name: 'slow', text: generateOpenMetrics({seriesPerFamily: LARGE ? 50 : 3, samples: 300, stepSec: 60, seed: 9})},
  ];
  const gen = '/work/shared/spec/tsdb-verify/gen_openmetrics.py';
  if (LARGE && fs.existsSync(gen)) {
    list.push({name: 'gen_openmetrics', text: execFileSync('python3', [gen], {encoding: 'utf8', maxBuffer: 1 << 30})});
    list.push({name: 'gen_openmetrics_jitter', text: execFileSync('python3', [gen, 'jitter'], {encoding: 'utf8', maxBuffer: 1 << 30})});
  }
  return list;
}

describe('promtool create-blocks-from openmetrics parity', {skip}, () => {
  for (const input of inputs()) {
    test(`${input.name}: read promtool's blocks and reproduce them byte for byte`, () => {
      const dir = path.join(root, `pt-${input.name}`);
      fs.mkdirSync(dir);
      const om = path.join(dir, 'in.om');
      fs.writeFileSync(om, input.text);
      const out = path.join(dir, 'promtool');
      promtool(bin!, ['tsdb', 'create-blocks-from', 'openmetrics', om, out]);
      const parsed = parseOpenMetrics(input.text);
      const windows = splitWindows(parsed);
      const theirs = blockDirs(out).map((d) => ({d, meta: readMetaFile(d)}));
      assert.equal(theirs.length, windows.size, 'one block per 2h window');

      const mine = path.join(dir, 'ours');
      let checkedChunks = 0;
      for (const [, series] of windows) {
        const minT = series.reduce((m, s) => Math.min(m, (s.samples as Sample[])[0].t), Infinity);
        const t = theirs.find((x) => x.meta.minTime === minT);
        assert.ok(t, `promtool block starting at ${minT}`);
        // 1. Our reader returns exactly promtool's samples (bit-exact values).
        const want = new Map(series.map((s) => [key(s.labels as Record<string, string>), s.samples as Sample[]]));
        const b = openBlock(t.d);
        try {
          const got = b.series();
          assert.equal(got.length, want.size);
          for (const s of got) {
            const w = want.get(key(s.labels));
            assert.ok(w, `unexpected series ${labelsString(s.labels)}`);
            const samples = [...b.samples(s)];
            assert.equal(samples.length, w.length);
            for (let i = 0; i < w.length; i++) {
              assert.equal(samples[i].t, w[i].t);
              assert.equal(samples[i].hi, floatHi(w[i].v), `value hi ${labelsString(s.labels)}@${w[i].t}`);
              assert.equal(samples[i].lo, floatLo(w[i].v), `value lo ${labelsString(s.labels)}@${w[i].t}`);
            }
            checkedChunks += s.chunks.length;
          }
        } finally {
          b.close();
        }
        assert.deepEqual(verifyBlock(t.d), []);
        // 2. Our writer reproduces the block (2.x layout, promtool's 4h chunk range).
        const r = writeBlock(mine, series as SeriesInput[], {
          ulid: t.meta.ulid,
          chunkRange: FOUR_H,
          indexLayout: 'v2',
          xorForm: 'v2',
          cutting: 'v2.42',
          fsync: false,
        });
        for (const f of ['chunks/000001', 'index', 'tombstones', 'meta.json']) {
          const a = fs.readFileSync(path.join(r.dir, f));
          const c = fs.readFileSync(path.join(t.d, f));
          assert.ok(a.equals(c), `${f} differs from promtool's (${a.length} vs ${c.length} bytes)`);
        }
      }
      assert.ok(checkedChunks > 0);
    });
  }
});

/** Series with stale markers, NaN, ±Inf, -0, big gaps, one-sample series. */
function ourSeries(prefix: string, t0: number, n: number): {labels: Record<string, string>; samples: Sample[]}[] {
  const out: {labels: Record<string, string>; samples: Sample[]}[] = [];
  for (let s = 0; s < n; s++) {
    const samples: Sample[] = [];
    let v = s * 10.5;
    let t = t0 + s * 7;
    for (let i = 0; i < 900; i++) {
      t += i % 200 === 199 ? 3_600_000 : 15_000 + ((i * 13 + s) % 9) - 4;
      v += ((i * 31 + s * 17) % 23) / 8 - 1.3;
      if (i % 150 === 149) samples.push({t, v: 0, stale: true});
      else if (i % 111 === 5) samples.push({t, v: NaN});
      else if (i % 137 === 6) samples.push({t, v: s % 2 ? Infinity : -Infinity});
      else if (i % 173 === 7) samples.push({t, v: -0});
      else samples.push({t, v: s % 3 === 0 ? Math.round(v) : v});
    }
    out.push({labels: {__name__: `${prefix}_metric`, idx: String(s), zone: s % 2 ? 'é' : 'a"b\\c\nd'}, samples});
  }
  out.push({labels: {__name__: `${prefix}_single`}, samples: [{t: t0 + 1, v: 42}]});
  return out;
}

describe('blocks we write, read by promtool 2.42 and prometheus 2.42', {skip}, () => {
  test('analyze, dump and query_range/query return exactly our samples', async () => {
    const data = path.join(root, 'ours-data');
    const t0 = Date.UTC(2024, 0, 1);
    const sets = [
      {series: ourSeries('deflt', t0, LARGE ? 300 : 12), opts: {}},
      {series: ourSeries('legacy', t0 + 1000, LARGE ? 100 : 4), opts: {indexLayout: 'v2' as const, xorForm: 'v3' as const}},
      {series: ourSeries('v3cut', t0 + 2000, 4), opts: {xorForm: 'v3' as const, cutting: 'v3' as const}},
    ];
    let total = 0;
    for (const set of sets) {
      const r = writeBlock(data, set.series, set.opts);
      assert.deepEqual(verifyBlock(r.dir), []);
      const analyze = promtool(bin!, ['tsdb', 'analyze', data, r.ulid]);
      assert.match(analyze, new RegExp(`Series: ${r.meta.stats!.numSeries}\\b`));
      total += r.meta.stats!.numSamples!;
    }
    fs.mkdirSync(path.join(data, 'wal'));
    const dump = promtool(bin!, ['tsdb', 'dump', data]);
    assert.equal(dump.split('\n').filter((l) => l !== '').length, total, 'dump prints every sample');

    const copy = path.join(root, 'ours-copy');
    fs.cpSync(data, copy, {recursive: true});
    fs.rmSync(path.join(copy, 'wal'), {recursive: true});
    const prom = await startPrometheus(bin!, copy);
    try {
      for (const set of sets) {
        let minT = Infinity;
        let maxT = -Infinity;
        for (const s of set.series) {
          for (const x of s.samples) {
            minT = Math.min(minT, x.t);
            maxT = Math.max(maxT, x.t);
          }
        }
        const name = set.series[0].labels.__name__.split('_')[0];
        const span = Math.ceil((maxT - minT) / 1000) + 1;
        const res = await query(prom, `{__name__=~"${name}_.*"}[${span}s]`, maxT / 1000);
        const got = new Map<string, [number, string][]>(res.map((r: any) => [key(r.metric), r.values]));
        assert.equal(got.size, set.series.length);
        for (const s of set.series) {
          const vals = got.get(key(s.labels));
          assert.ok(vals, `series ${key(s.labels)} missing`);
          // Range selectors drop stale markers, as Prometheus does.
          const want = s.samples.filter((x) => !x.stale);
          assert.equal(vals.length, want.length, key(s.labels));
          for (let i = 0; i < want.length; i++) {
            assert.equal(Math.round(vals[i][0] * 1000), want[i].t);
            const v = Number(vals[i][1] === '+Inf' ? Infinity : vals[i][1] === '-Inf' ? -Infinity : vals[i][1]);
            assert.ok(Object.is(v, want[i].v) || (v === 0 && want[i].v === 0), `${key(s.labels)}@${want[i].t}: ${vals[i][1]} vs ${want[i].v}`);
          }
        }
        // Stale markers end the series for instant vectors: at a marker's timestamp nothing is returned.
        const staleAt = set.series[0].samples.find((x) => x.stale)!.t;
        const inst = await query(prom, `${set.series[0].labels.__name__}{idx="0"}`, staleAt / 1000);
        assert.equal(inst.length, 0, 'stale marker hides the series');
      }
      assert.doesNotMatch(prom.log(), /level=error/);
    } finally {
      await prom.stop();
    }
  });
});
