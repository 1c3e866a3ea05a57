// Compacted blocks in stock Prometheus (Debian 2.42, installed on demand): promtool
// analyze accepts every block, and a real Prometheus started on a copy of the compacted
// data dir returns exactly the deduplicated samples.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {after, before, describe, test} from 'node:test';
import {verifyBlock, writeBlock} from '../block/mod.ts';
import {labelsString} from '../labels/mod.ts';
import {listDataDir} from '../retention/mod.ts';
import {type PromBinaries, ensurePrometheus, promtool, query, startPrometheus} from '../testing/prometheus.ts';
import {compact} from './compact.ts';
import {DAY0, type Expected, H, addExpected, genSeries} from './testfixtures.ts';

const bin: PromBinaries | null = ensurePrometheus();
const skip = bin === null ? 'prometheus/promtool not available and not installable' : false;

let root = '';
before(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'tsdb-compact-prom-'));
});
after(() => {
  if (root) fs.rmSync(root, {recursive: true, force: true});
});

describe('compacted blocks in Prometheus', {skip}, () => {
  test('promtool analyze and /api/v1/query return exactly the deduplicated samples', async () => {
    const data = path.join(root, 'data');
    const exp: Expected = new Map();
    const put = (series: ReturnType<typeof genSeries>, fromH: number, toH: number): void => {
      addExpected(exp, series);
      writeBlock(data, series, {fsync: false, minTime: DAY0 + fromH * H, maxTime: DAY0 + toH * H});
    };
    put(genSeries(30, DAY0, DAY0 + 2 * H), 0, 2);
    put(genSeries(30, DAY0, DAY0 + 2 * H, {bump: (i) => (i % 40 === 9 ? 0.5 : 0)}), 0, 2); // re-synced, some conflicts
    put(genSeries(30, DAY0 + H, DAY0 + 3 * H, {offset: 20_000, instance: 'app-2:8067'}), 1, 3); // second scraper
    put(genSeries(30, DAY0 + H, DAY0 + 3 * H, {offset: 20_000}), 1, 3); // interleaving stream, same series
    for (let i = 2; i < 13; i++) put(genSeries(30, DAY0 + 2 * i * H, DAY0 + (2 * i + 2) * H), 2 * i, 2 * i + 2);
    const res = compact(data, {fsync: false});
    assert.deepEqual(res.errors, []);
    const blocks = listDataDir(data).blocks;
    assert.deepEqual(
      blocks.map((b) => [(b.meta.minTime - DAY0) / H, (b.meta.maxTime - DAY0) / H]),
      [
        [0, 24],
        [24, 26],
      ],
    );
    for (const b of blocks) {
      assert.deepEqual(verifyBlock(b.dir), []);
      const out = promtool(bin!, ['tsdb', 'analyze', data, b.ulid]);
      assert.match(out, new RegExp(`Series: ${b.meta.stats!.numSeries}\\b`));
    }

    const copy = path.join(root, 'copy');
    fs.cpSync(data, copy, {recursive: true});
    const prom = await startPrometheus(bin!, copy);
    try {
      const end = DAY0 + 26 * H; // the range reaches back past DAY0 (2.x closed, 3.x left-open ranges)
      const result = await query(prom, `{__name__=~"mattermost_.*"}[${26 * 3600 + 60}s]`, end / 1000);
      const got = new Map<string, [number, string][]>(
        result.map((r: any) => [labelsString(Object.entries(r.metric as Record<string, string>).map(([name, value]) => ({name, value})).sort((a, b) => (a.name < b.name ? -1 : 1))), r.values]),
      );
      assert.equal(got.size, exp.size);
      let n = 0;
      for (const [key, m] of exp) {
        const want = [...m.values()].filter((x) => !x.stale).sort((a, b) => a.t - b.t);
        const vals = got.get(key);
        assert.ok(vals, `series ${key} missing`);
        assert.equal(vals.length, want.length, key);
        for (let i = 0; i < want.length; i++) {
          assert.equal(Math.round(vals[i][0] * 1000), want[i].t, key);
          assert.ok(Object.is(Number(vals[i][1]), want[i].v), `${key}@${want[i].t}: ${vals[i][1]} vs ${want[i].v}`);
        }
        n += want.length;
      }
      assert.ok(n > 50_000, `${n} samples compared`);
    } finally {
      await prom.stop();
    }
    // Prometheus found nothing to delete or re-compact in our data dir.
    assert.deepEqual(
      listDataDir(copy).blocks.map((b) => b.ulid),
      blocks.map((b) => b.ulid),
    );
  });
});
