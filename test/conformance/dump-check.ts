// What the dump end-to-end tests share: a synthetic scrape target that remembers every body
// it served, extraction of an archive with `tar xzf` as an admin would, raw samples from a
// real Prometheus started on the extracted dir, and the check that a dump holds exactly the
// samples the target served.
import assert from 'node:assert/strict';
import {spawnSync} from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';

import {type PromBinaries, query, startPrometheus} from '../../server/src/tsdb/testing/prometheus.ts';

/**
 * A /metrics target: the n-th body served says e2e_served_total{path="a"} n. With `padSeries`,
 * the body also carries that many e2e_pad{i} series (value n), so a commit is big enough for
 * a kill to land in the middle of it.
 */
export class MetricsTarget {
  /** Every body served: value n (1-based) and when the request arrived. */
  readonly served: Array<{n: number; at: number}> = [];
  port = 0;
  constructor(private readonly padSeries = 0) {}
  private readonly server = http.createServer((req, res) => {
    if (req.url !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    const n = this.served.length + 1;
    this.served.push({n, at: Date.now()});
    res.writeHead(200, {'Content-Type': 'text/plain; version=0.0.4'});
    let body = `# TYPE e2e_served_total counter\ne2e_served_total{path="a"} ${n}\ne2e_served_total{path="b"} ${2 * n}\n# TYPE e2e_gauge gauge\ne2e_gauge ${n % 7}\n`;
    if (this.padSeries > 0) {
      const lines = ['# TYPE e2e_pad gauge'];
      for (let i = 0; i < this.padSeries; i++) lines.push(`e2e_pad{i="${i}",team="padding-padding-padding"} ${n}`);
      body += lines.join('\n') + '\n';
    }
    res.end(body);
  });

  async start(): Promise<number> {
    this.port = await new Promise<number>((resolve) => this.server.listen(0, '127.0.0.1', () => resolve((this.server.address() as {port: number}).port)));
    return this.port;
  }

  /** Waits until `count` bodies were served. */
  async waitServed(count: number, timeoutMs = 30_000, why = (): string => ''): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.served.length < count) {
      assert.ok(Date.now() < deadline, `the plugin did not scrape the target:\n${why()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  close(): Promise<void> {
    return new Promise((r) => this.server.close(() => r()));
  }
}

/** tar xzf `file` into a fresh dir under `parent`; checks the archive's paths; returns the Prometheus data dir. */
export function extract(file: string, parent: string): string {
  const dir = path.join(parent, `x-${path.basename(file).replace(/\.tar\.gz$/, '')}`);
  fs.mkdirSync(dir);
  const r = spawnSync('tar', ['xzf', file, '-C', dir], {encoding: 'utf8'});
  assert.equal(r.status, 0, r.stderr);
  const listing = spawnSync('tar', ['tzf', file], {encoding: 'utf8'}).stdout.split('\n').filter(Boolean);
  assert.ok(listing.every((n) => !n.startsWith('/') && !n.split('/').includes('..')), 'no absolute or parent paths in the archive');
  assert.ok(!listing.some((n) => /(^|\/)(wal|chunks_head|mm-wal)\//.test(n)), 'no WAL in the archive');
  assert.ok(listing.some((n) => n.endsWith('metadata.yaml')), 'metadata.yaml');
  // The data dir is where the block directories are (the archive's root, or one level down).
  const hasBlocks = (d: string): boolean => fs.readdirSync(d).some((n) => /^[0-9A-HJKMNP-TV-Z]{26}$/.test(n));
  if (hasBlocks(dir)) return dir;
  const sub = fs
    .readdirSync(dir)
    .map((n) => path.join(dir, n))
    .find((d) => fs.statSync(d).isDirectory() && hasBlocks(d));
  assert.ok(sub, `block dirs in ${listing.slice(0, 20).join(', ')}`);
  return sub;
}

export interface RawSeries {
  metric: Record<string, string>;
  samples: Array<[number, number]>;
}

/** Raw samples of `selector` with timestamps in [from, to), from a real Prometheus on `dataDir`. */
export async function rawSamples(prom: PromBinaries, dataDir: string, selector: string, from: number, to: number): Promise<RawSeries[]> {
  const p = await startPrometheus(prom, dataDir);
  try {
    const end = to - 1;
    const secs = Math.ceil((end - from) / 1000) + 1;
    const result = (await query(p, `${selector}[${secs}s]`, end / 1000)) as Array<{metric: Record<string, string>; values: Array<[number, string]>}>;
    return result.map((r) => ({
      metric: r.metric,
      samples: r.values.map(([t, v]) => [Math.round(t * 1000), Number(v)] as [number, number]).filter(([t]) => t >= from && t < to),
    }));
  } finally {
    await p.stop();
  }
}

/**
 * Checks that the dump in `dataDir` holds exactly what `target` served in [from, now): a
 * sample for every successful scrape (up=1) and nothing else, each value the body served
 * right after its scrape started, every body served well inside the range present unless its
 * scrape failed (up=0, e.g. a timeout on a busy machine), in order, without duplicates, and
 * nothing served after the range. Returns how many scrapes failed.
 */
export async function checkServedSamples(prom: PromBinaries, dataDir: string, target: MetricsTarget, from: number, now: number): Promise<number> {
  const got = await rawSamples(prom, dataDir, `{__name__=~"e2e_served_total|up", instance=~".+:${target.port}"}`, from, now);
  const servedA = got.filter((r) => r.metric.__name__ === 'e2e_served_total' && r.metric.path === 'a');
  const up = got.filter((r) => r.metric.__name__ === 'up');
  assert.equal(servedA.length, 1, JSON.stringify(got.map((r) => r.metric)));
  assert.equal(up.length, 1);
  const samples = servedA[0].samples;
  const okTimes = up[0].samples.filter(([, v]) => v === 1).map(([t]) => t);
  const failedTimes = up[0].samples.filter(([, v]) => v === 0).map(([t]) => t);
  assert.deepEqual(
    samples.map(([t]) => t),
    okTimes,
    'a sample for every successful scrape and for nothing else',
  );
  // A sample's timestamp is when its scrape started: at most one scrape timeout (1 s) before
  // the body was served.
  const at = new Map(target.served.map((s) => [s.n, s.at]));
  for (const [t, v] of samples) {
    const servedAt = at.get(v);
    assert.ok(servedAt !== undefined, `value ${v} was never served`);
    assert.ok(t <= servedAt + 5 && t >= servedAt - 1500, `value ${v} at ${t}, served at ${servedAt}`);
  }
  const values = samples.map(([, v]) => v);
  const missing = target.served.filter((s) => s.at >= from && s.at < now - 1500 && !values.includes(s.n));
  for (const m of missing) {
    assert.ok(
      failedTimes.some((t) => t <= m.at + 5 && t >= m.at - 1500),
      `body ${m.n} served at ${m.at} is not in the dump and no failed scrape explains it (up=0 at ${failedTimes.join(',') || 'never'})`,
    );
  }
  assert.ok(values.length >= 3, `only ${values.length} samples`);
  assert.deepEqual(values, [...values].sort((a, b) => a - b), 'in the order served');
  assert.ok(values.every((v) => at.get(v)! < now + 1500), 'nothing scraped after the end of the range');
  assert.equal(new Set(values).size, values.length, 'no duplicates');
  return missing.length;
}

export function filesUnder(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return (fs.readdirSync(dir, {recursive: true, withFileTypes: true}) as fs.Dirent[])
    .filter((d) => d.isFile())
    .map((d) => path.relative(dir, path.join(d.parentPath, d.name)));
}
