// The Go plugin's head after an upgrade, with a real Prometheus as the WAL writer and the
// oracle: Debian's Prometheus 2.42 scrapes a target every second (2,000 gauges, one of them
// NaN, and 50 series that vanish half-way, so the WAL holds staleness markers; records are
// big enough to span pages), with WAL compression off (the Go plugin's tsdb default) and on
// (snappy, the server's default), and is stopped gracefully: its head is only in wal/.
// A second Prometheus on a copy of each dir gives the expected raw samples. Then our DB
// opens the original dir and imports: every sample Prometheus returns is in our store with
// the same timestamp and value, the vanished series end in a staleness marker, wal/ is
// empty, and a Prometheus started on the converted dir returns the same samples again.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import {after, before, describe, test} from 'node:test';

import {verifyBlock} from '../block/mod.ts';
import {DB} from '../db.ts';
import {labelsKey, toLabels} from '../labels/mod.ts';
import {listDataDir} from '../retention/mod.ts';
import {ensurePrometheus, query, startPrometheus, type PromBinaries} from '../testing/prometheus.ts';

const bin = ensurePrometheus();
const skip = bin === null ? 'prometheus is not installed' : false;
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'promwal-'));
const GAUGES = 2_000;
const VANISHING = 50;

let scrapes = 0;
const target = http.createServer((req, res) => {
  scrapes++;
  const lines = ['# TYPE wal_gauge gauge'];
  for (let i = 0; i < GAUGES; i++) lines.push(`wal_gauge{i="${i}",team="t${i % 7}"} ${i === 0 ? 'NaN' : (i * 1.25 + scrapes) * (i % 2 ? 1 : -1e6)}`);
  if (scrapes <= 4) for (let i = 0; i < VANISHING; i++) lines.push(`wal_vanishing{i="${i}"} ${scrapes}`);
  res.writeHead(200, {'Content-Type': 'text/plain; version=0.0.4'});
  res.end(lines.join('\n') + '\n');
});
let targetPort = 0;

before(async () => {
  if (skip) return;
  targetPort = await new Promise<number>((r) => target.listen(0, '127.0.0.1', () => r((target.address() as {port: number}).port)));
});
after(() => {
  target.close();
  fs.rmSync(root, {recursive: true, force: true});
});

type Samples = Map<string, Array<[number, number]>>;

/** Raw samples of every series, as Prometheus serves them (staleness markers are not returned). */
async function promSamples(b: PromBinaries, dataDir: string): Promise<Samples> {
  const p = await startPrometheus(b, dataDir);
  try {
    const got = (await query(p, '{__name__=~".+"}[1h]', Date.now() / 1000 + 60)) as Array<{metric: Record<string, string>; values: Array<[number, string]>}>;
    return new Map(got.map((r) => [labelsKey(toLabels(r.metric)), r.values.map(([t, v]) => [Math.round(t * 1000), Number(v)] as [number, number])]));
  } finally {
    await p.stop();
  }
}

function assertSame(ours: Samples, theirs: Samples, what: string): void {
  assert.equal(ours.size, theirs.size, `${what}: series count`);
  for (const [key, want] of theirs) {
    const got = ours.get(key);
    assert.ok(got, `${what}: series ${key.replaceAll('\u0000', ' ')} missing`);
    assert.equal(got.length, want.length, `${what}: samples of ${key.replaceAll('\u0000', ' ')}`);
    for (let i = 0; i < want.length; i++) {
      assert.equal(got[i][0], want[i][0], `${what}: timestamp ${i} of ${key}`);
      assert.ok(Object.is(got[i][1], want[i][1]) || (Number.isNaN(got[i][1]) && Number.isNaN(want[i][1])), `${what}: value ${i} of ${key}: ${got[i][1]} vs ${want[i][1]}`);
    }
  }
}

describe('importing the Go plugin\'s Prometheus WAL', {skip}, () => {
  const runs = [
    {name: 'uncompressed (the tsdb library default)', args: ['--no-storage.tsdb.wal-compression']},
    {name: 'snappy-compressed', args: ['--storage.tsdb.wal-compression']},
  ];
  const dirs = new Map<string, string>();

  before(async () => {
    if (skip) return;
    const config = `global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n  - job_name: gomm\n    static_configs:\n      - targets: ['127.0.0.1:${targetPort}']\n`;
    // Both at once: each sees the vanishing series in its first scrapes (the target counts all).
    const started = await Promise.all(
      runs.map(async (r, i) => {
        const dir = path.join(root, `go-${i}`, 'data');
        fs.mkdirSync(dir, {recursive: true});
        dirs.set(r.name, dir);
        return startPrometheus(bin!, dir, {config, args: r.args});
      }),
    );
    await new Promise((r) => setTimeout(r, 9_000));
    await Promise.all(started.map((p) => p.stop()));
  });

  for (const run of runs) {
    test(run.name, {timeout: 120_000}, async (t) => {
      const dir = dirs.get(run.name)!;
      assert.ok(fs.readdirSync(path.join(dir, 'wal')).length > 0, 'Prometheus left its head in wal/');
      assert.equal(listDataDir(dir).blocks.length, 0, 'and no block');
      const copy = path.join(root, `oracle-${dirs.size}-${run.args[0].length}`, 'data');
      fs.cpSync(dir, copy, {recursive: true});
      const expected = await promSamples(bin!, copy);
      assert.ok(expected.size >= GAUGES + VANISHING, `Prometheus holds ${expected.size} series`);

      const logs: string[] = [];
      const db = DB.open({dir, fsync: false, logger: {info: (m) => logs.push(m), warn: (m, f) => logs.push(`WARN ${m} ${JSON.stringify(f)}`), error: (m, f) => logs.push(`ERROR ${m} ${JSON.stringify(f)}`)}});
      try {
        await db.maintain();
        assert.deepEqual(logs.filter((l) => l.startsWith('WARN') || l.startsWith('ERROR')), []);
        assert.ok(logs.some((l) => /imported the Go plugin's WAL/.test(l)));
        const ours: Samples = new Map();
        const stale = new Set<string>();
        for (const s of db.querier().select([{type: '=~', name: '__name__', value: '.+'}], -Infinity, Infinity)) {
          const key = labelsKey(s.labels);
          const list: Array<[number, number]> = [];
          for (const x of s.samples) {
            if (x.stale) stale.add(key);
            else list.push([x.t, x.v]);
          }
          if (list.length > 0) ours.set(key, list);
        }
        assertSame(ours, expected, 'imported');
        for (let i = 0; i < VANISHING; i++) assert.ok(stale.has(labelsKey(toLabels({__name__: 'wal_vanishing', i: String(i), instance: `127.0.0.1:${targetPort}`, job: 'gomm'}))), `staleness marker of wal_vanishing{i="${i}"}`);
        const samples = [...ours.values()].reduce((n, l) => n + l.length, 0);
        t.diagnostic(`${ours.size} series, ${samples} samples (+${stale.size} staleness markers) in ${db.blocks().length} block(s)`);
      } finally {
        await db.close();
      }
      assert.deepEqual(fs.readdirSync(path.join(dir, 'wal')), [], 'wal/ is empty');
      assert.ok(!fs.existsSync(path.join(dir, 'chunks_head')), 'chunks_head/ is gone');
      for (const b of listDataDir(dir).blocks) assert.deepEqual(verifyBlock(b.dir), [], `block ${b.ulid}`);
      // Prometheus itself reads the converted dir the same.
      assertSame(await promSamples(bin!, dir), expected, 'Prometheus on the converted dir');
    });
  }
});
