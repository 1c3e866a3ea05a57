// Upgrading from the Go plugin keeps its newest samples: the Go plugin closes its TSDB
// without cutting the head, so its last ~3 h are only in Prometheus' WAL (`wal/`). Here a
// real Prometheus 2.42 (the same tsdb code the Go plugin embeds) scrapes a target and stops,
// its data dir becomes our plugin's data dir, and our executable starts under the Go
// go-plugin host: a dump of the period (the dump's flush imports the WAL in a worker
// thread of the bundled executable) holds every sample that Prometheus itself returns.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import {after, before, test} from 'node:test';

import {listDataDir} from '../../server/src/tsdb/retention/mod.ts';
import {ensurePrometheus, query, startPrometheus} from '../../server/src/tsdb/testing/prometheus.ts';
import {MetricsTarget, extract, rawSamples} from './dump-check.ts';
import {ownPluginSkip, resolvePluginExe} from './goharness.ts';
import {type ScrapingNode, startScrapingNode} from './serve.ts';

const target = resolvePluginExe();
const prom = ensurePrometheus();
const skip = ownPluginSkip(target, prom);

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'upgrade-'));
const goDataDir = path.join(work, 'go-plugin-data');
let node: ScrapingNode | undefined;
const metrics = new MetricsTarget();
let expected = new Map<string, Array<[number, number]>>();
let goFrom = 0;

const goTarget = http.createServer((_req, res) => {
  res.writeHead(200, {'Content-Type': 'text/plain; version=0.0.4'});
  const now = Date.now();
  res.end(['# TYPE go_era gauge', ...Array.from({length: 300}, (_, i) => `go_era{i="${i}"} ${i + (now % 100_000) / 1000}`)].join('\n') + '\n');
});

before(async () => {
  if (skip) return;
  const port = await new Promise<number>((r) => goTarget.listen(0, '127.0.0.1', () => r((goTarget.address() as {port: number}).port)));
  goFrom = Date.now();
  fs.mkdirSync(goDataDir, {recursive: true});
  const config = `global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n  - job_name: go-era\n    static_configs:\n      - targets: ['127.0.0.1:${port}']\n`;
  const p = await startPrometheus(prom!, goDataDir, {config, args: ['--no-storage.tsdb.wal-compression']});
  // Prometheus' scrape manager applies targets ~5 s after the start: then ~5 scrapes.
  await new Promise((r) => setTimeout(r, 10_000));
  await p.stop();
  goTarget.close();
  // What Prometheus itself reads back from that dir (on a copy: it replays and rewrites the WAL).
  const copy = path.join(work, 'oracle', 'data');
  fs.cpSync(goDataDir, copy, {recursive: true});
  const o = await startPrometheus(prom!, copy);
  try {
    const got = (await query(o, 'go_era[1h]', Date.now() / 1000)) as Array<{metric: Record<string, string>; values: Array<[number, string]>}>;
    expected = new Map(got.map((r) => [r.metric.i, r.values.map(([t, v]) => [Math.round(t * 1000), Number(v)] as [number, number])]));
  } finally {
    await o.stop();
  }
  node = await startScrapingNode({target, prefix: 'upgrade', metrics, seed: (dataDir) => fs.cpSync(goDataDir, dataDir, {recursive: true})});
});

after(async () => {
  await node?.close();
  await metrics.close();
  fs.rmSync(work, {recursive: true, force: true});
});

void test('a dump after the upgrade holds the samples the Go plugin had only in its WAL', {skip, timeout: 180_000}, async () => {
  // Nothing but the WAL held them: Prometheus wrote no block.
  assert.equal(listDataDir(goDataDir).blocks.length, 0);
  assert.ok(expected.size === 300 && [...expected.values()].every((v) => v.length >= 2), `Prometheus scraped the Go-era target (${expected.size} series, ${[...expected.values()].map((v) => v.length).join(",").slice(0, 80)} samples)`);
  const {harness, root} = node!;
  await metrics.waitServed(2, 30_000, () => harness.logTail());
  const created = await harness.createJob(goFrom - 60_000, Date.now());
  const job = await harness.waitJob(created.job.id, (j) => j.status === 'success' || j.status === 'error', 120_000);
  assert.equal(job.status, 'success', JSON.stringify(job));
  const res = await harness.api(`/jobs/download/${job.id}`);
  const file = path.join(root, 'dump.tar.gz');
  fs.writeFileSync(file, Buffer.from(await res.arrayBuffer()));
  const got = await rawSamples(prom!, extract(file, root), 'go_era', goFrom - 60_000, Date.now() + 1);
  assert.equal(got.length, expected.size);
  for (const s of got) assert.deepEqual(s.samples, expected.get(s.metric.i), `go_era{i="${s.metric.i}"}`);
});
