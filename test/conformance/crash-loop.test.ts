// The plugin SIGKILLed again and again while it scrapes, through the Go go-plugin host
// (`harness serve`): each kill lands at a random moment (often in the middle of a commit of
// a 5,000-series scrape), the host starts it again, and at the end a dump of the whole
// period, opened by a real Prometheus, must hold every body the target served except those
// whose scrape a kill cut short: nothing twice, nothing out of order, nothing invented.
//
// CRASH_LOOP_CYCLES sets the number of kills (4 here; `make test-long` runs 60).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import {after, before, test} from 'node:test';

import {ensurePrometheus} from '../../server/src/tsdb/testing/prometheus.ts';
import {MetricsTarget, extract, rawSamples} from './dump-check.ts';
import {ownPluginSkip, resolvePluginExe} from './goharness.ts';
import {type ScrapingNode, type Serve, startScrapingNode} from './serve.ts';

const CYCLES = Number(process.env.CRASH_LOOP_CYCLES ?? 4);
const PAD_SERIES = 5_000;
/** A body served this long before a kill may be lost: its scrape had not committed. */
const LOSS_WINDOW_MS = 2_500;

const target = resolvePluginExe();
const prom = ensurePrometheus();
const skip = ownPluginSkip(target, prom);

let node: ScrapingNode | undefined;
let root = '';
let harness: Serve | undefined;
const metrics = new MetricsTarget(PAD_SERIES);

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const between = (lo: number, hi: number): number => lo + Math.random() * (hi - lo);

before(async () => {
  if (skip) return;
  node = await startScrapingNode({target, prefix: 'crash-loop', metrics});
  ({root, harness} = node);
});

after(async () => {
  await node?.close();
  await metrics.close();
});

void test(`${CYCLES} kills at random moments while scraping: the dump holds every committed scrape once, in order`, {skip, timeout: 120_000 + CYCLES * 30_000}, async (t) => {
  const from = Date.now() - 1_000;
  await metrics.waitServed(3, 30_000, () => harness!.logTail());
  const kills: number[] = [];
  const restartMs: number[] = [];
  for (let cycle = 0; cycle < CYCLES; cycle++) {
    await sleep(between(700, 4_000));
    // Kill right after a body went out on half the cycles: the scrape is then parsing or committing.
    if (cycle % 2 === 0) {
      const seen = metrics.served.length;
      await metrics.waitServed(seen + 1, 10_000, () => harness!.logTail());
      await sleep(between(0, 60));
    }
    await harness!.control('kill');
    kills.push(Date.now());
    await sleep(between(0, 500));
    const started = Date.now();
    const seen = metrics.served.length;
    await harness!.control('start');
    await metrics.waitServed(seen + 2, 30_000, () => `after kill ${cycle + 1}:\n${harness!.logTail()}`);
    restartMs.push(Date.now() - started);
  }
  await metrics.waitServed(metrics.served.length + 3, 30_000, () => harness!.logTail());
  const now = Date.now();

  const created = await harness!.createJob(from, now);
  const job = await harness!.waitJob(created.job.id, (j) => j.status === 'success' || j.status === 'error', 120_000);
  assert.equal(job.status, 'success', JSON.stringify(job));
  const res = await harness!.api(`/jobs/download/${job.id}`);
  assert.equal(res.status, 200);
  const file = path.join(root, 'dump.tar.gz');
  fs.writeFileSync(file, Buffer.from(await res.arrayBuffer()));
  const dataDir = extract(file, root);

  const got = await rawSamples(prom!, dataDir, `{__name__=~"e2e_served_total|e2e_pad|up", instance=~".+:${metrics.port}"}`, from, now);
  const one = (name: string, match: (m: Record<string, string>) => boolean): Array<[number, number]> => {
    const s = got.filter((r) => r.metric.__name__ === name && match(r.metric));
    assert.equal(s.length, 1, `${name}: ${JSON.stringify(s.map((r) => r.metric))}`);
    return s[0].samples;
  };
  const served = one('e2e_served_total', (m) => m.path === 'a');
  const up = one('up', () => true);
  const lastPad = one('e2e_pad', (m) => m.i === String(PAD_SERIES - 1));

  const values = served.map(([, v]) => v);
  assert.equal(new Set(values).size, values.length, 'no body twice');
  assert.deepEqual(values, [...values].sort((a, b) => a - b), 'in the order served');
  const servedAt = new Map(metrics.served.map((s) => [s.n, s.at]));
  for (const [ts, v] of served) {
    const at = servedAt.get(v);
    assert.ok(at !== undefined, `value ${v} was never served`);
    assert.ok(ts <= at + 5 && ts >= at - 1500, `value ${v} stamped ${ts}, served at ${at}`);
  }
  const okTimes = up.filter(([, v]) => v === 1).map(([ts]) => ts);
  assert.deepEqual(served.map(([ts]) => ts), okTimes, 'a sample for every successful scrape and for nothing else');
  // The last series of the body went in with the first: a commit is all or nothing.
  assert.deepEqual(lastPad, served, 'e2e_pad{i="4999"} has the same samples as e2e_served_total');

  const failedTimes = up.filter(([, v]) => v === 0).map(([ts]) => ts);
  const have = new Set(values);
  const missing = metrics.served.filter((s) => s.at >= from && s.at < now - 1500 && !have.has(s.n));
  const cutByKill = missing.filter((m) => kills.some((k) => k >= m.at && k - m.at <= LOSS_WINDOW_MS));
  const unexplained = missing.filter((m) => !cutByKill.includes(m) && !failedTimes.some((ts) => ts <= m.at + 5 && ts >= m.at - 1500));
  assert.deepEqual(unexplained.map((m) => `body ${m.n} at ${m.at}`), [], `lost although no kill or failed scrape explains it (kills at ${kills.join(', ')})`);

  restartMs.sort((a, b) => a - b);
  t.diagnostic(
    `${CYCLES} kills; ${metrics.served.length} bodies served, ${values.length} in the dump, ${cutByKill.length} cut short by a kill, ` +
      `${missing.length - cutByKill.length} failed scrapes; restart to second scrape median ${restartMs[restartMs.length >> 1]} ms, max ${restartMs[restartMs.length - 1]} ms`,
  );
});
