// Scrape loops against real HTTP targets on 127.0.0.1: a prom-client registry
// (text and OpenMetrics), and targets that misbehave (garbage, hang, endless body, 500).
import assert from 'node:assert/strict';
import http from 'node:http';
import type {AddressInfo} from 'node:net';
import {after, before, test} from 'node:test';

import client from 'prom-client';

import {Head} from '../tsdb/head/mod.ts';
import type {Labels} from '../tsdb/labels/mod.ts';
import {ScrapeLoop, ScrapeManager, type Appendable, type ScrapeConfig, type ScrapeTarget} from './mod.ts';

interface Row {
  series: string;
  t: number;
  v: number;
  stale: boolean;
}

class Recorder implements Appendable {
  rows: Row[] = [];
  appender() {
    const staged: Row[] = [];
    return {
      appendByRef: (_ref: number, ls: Labels, t: number, v: number, stale?: boolean) => {
        staged.push({series: ls.map((l) => `${l.name}=${l.value}`).join(','), t, v, stale: !!stale});
        return 0; // no refs: the loop appends by labels every time
      },
      commit: () => void this.rows.push(...staged),
      rollback: () => void (staged.length = 0),
    };
  }
  of(name: string, instance?: string): Row[] {
    return this.rows.filter((r) => r.series.startsWith(`__name__=${name},`) && (!instance || r.series.includes(`instance=${instance}`)));
  }
}

const cfg = (over: Partial<ScrapeConfig> = {}): ScrapeConfig => ({
  intervalMs: 400,
  timeoutMs: 300,
  honorLabels: false,
  honorTimestamps: true,
  bodySizeLimit: 1 << 20,
  sampleLimit: 0,
  labelLimit: 0,
  labelNameLengthLimit: 0,
  labelValueLengthLimit: 0,
  ...over,
});

let server: http.Server;
let base = '';
const registry = new client.Registry();
const om = new client.Registry();
om.setContentType(client.openMetricsContentType as typeof client.prometheusContentType);
const requests = new client.Counter({name: 'mattermost_http_requests_total', help: 'requests', labelNames: ['handler'], registers: [registry]});
// prom-client renames a counter shared with an OpenMetrics registry: give OpenMetrics its own.
const omRequests = new client.Counter({name: 'mattermost_http_requests_total', help: 'requests', labelNames: ['handler'], registers: [om]});
const temp = new client.Gauge({name: 'mattermost_temp', help: 'a gauge that comes and goes', registers: [registry]});
let exposed = '';

before(async () => {
  requests.inc({handler: 'a'}, 3);
  omRequests.inc({handler: 'a'}, 3);
  temp.set(1);
  server = http.createServer((req, res) => {
    void (async () => {
      switch (req.url) {
        case '/text':
          res.setHeader('Content-Type', registry.contentType);
          res.end(await registry.metrics());
          return;
        case '/om':
          res.setHeader('Content-Type', om.contentType);
          res.end(await om.metrics());
          return;
        case '/exposed':
          res.setHeader('Content-Type', 'text/plain; version=0.0.4');
          res.end(exposed);
          return;
        case '/garbage':
          res.end('this is { not metrics\n');
          return;
        case '/hang':
          return; // never answers
        case '/endless': {
          res.setHeader('Content-Type', 'text/plain');
          const chunk = Buffer.alloc(1 << 16, 'a');
          const pump = (): void => {
            while (res.write(chunk));
            res.once('drain', pump);
          };
          res.on('close', () => res.removeAllListeners('drain'));
          pump();
          return;
        }
        default:
          res.statusCode = 500;
          res.end('boom');
      }
    })();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(() => {
  server.closeAllConnections();
  server.close();
});

const target = (path: string, instance = `node1:${path.slice(1)}`): ScrapeTarget => ({job: 'mattermost', instance, url: `${base}${path}`});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

void test('first scrape within 2 s; samples carry job and instance; report series', async () => {
  const rec = new Recorder();
  const loop = new ScrapeLoop(target('/text'), rec, cfg({intervalMs: 60_000, timeoutMs: 10_000}));
  const t0 = Date.now();
  loop.start();
  for (let i = 0; i < 50 && rec.of('up').length === 0; i++) await sleep(50);
  assert.ok(rec.of('up').length === 1 && Date.now() - t0 <= 2_500, `first scrape after ${Date.now() - t0} ms`);
  await loop.stop(false);
  const req = rec.rows.find((r) => r.series.includes('mattermost_http_requests_total'));
  assert.equal(req?.series, '__name__=mattermost_http_requests_total,handler=a,instance=node1:text,job=mattermost');
  assert.equal(req?.v, 3);
  assert.deepEqual(rec.of('up').map((r) => r.v), [1]);
  const scraped = rec.of('scrape_samples_scraped')[0].v;
  assert.ok(scraped >= 2 && scraped === rec.of('scrape_samples_post_metric_relabeling')[0].v);
  assert.equal(rec.of('scrape_series_added')[0].v, scraped);
  assert.ok(rec.of('scrape_duration_seconds')[0].v > 0);
  assert.equal(loop.health.health, 'up');
});

void test('OpenMetrics is negotiated and parsed', async () => {
  const rec = new Recorder();
  const loop = new ScrapeLoop(target('/om'), rec, cfg());
  await loop.scrapeOnce();
  assert.equal(loop.health.lastError, null);
  assert.ok(rec.rows.some((r) => r.series.startsWith('__name__=mattermost_http_requests_total,')), rec.rows.map((r) => r.series).join('\n'));
});

void test('a vanished series and a removed target end with staleness markers', async () => {
  const rec = new Recorder();
  const mgr = new ScrapeManager(rec, cfg());
  temp.set(7);
  await mgr.sync([target('/text')]);
  for (let i = 0; i < 60 && rec.of('up').length < 1; i++) await sleep(50);
  registry.removeSingleMetric('mattermost_temp');
  const before = rec.of('up').length;
  for (let i = 0; i < 60 && rec.of('up').length <= before; i++) await sleep(50);
  const tempRows = rec.of('mattermost_temp');
  assert.equal(tempRows.at(-1)?.stale, true, JSON.stringify(tempRows));
  await mgr.sync([]);
  const last = rec.rows.slice(-10);
  assert.ok(rec.of('up').at(-1)?.stale, 'report series stale after removal');
  assert.ok(last.some((r) => r.series.includes('mattermost_http_requests_total') && r.stale), JSON.stringify(rec.rows.slice(-14), null, 1));
  registry.registerMetric(temp);
});

void test('misbehaving targets get up=0 with the reason; a healthy one is unaffected', async () => {
  const rec = new Recorder();
  const mgr = new ScrapeManager(rec, cfg({bodySizeLimit: 1 << 20}));
  const bad = ['/garbage', '/hang', '/endless', '/status500'];
  const rssBefore = process.memoryUsage().rss;
  await mgr.sync([target('/text', 'good:1'), ...bad.map((p) => target(p))]);
  await sleep(1_500);
  const health = new Map(mgr.health().map((h) => [h.instance, h]));
  await mgr.stop();
  assert.equal(health.get('good:1')?.health, 'up');
  assert.ok(rec.of('up', 'good:1').every((r) => r.v === 1 || r.stale));
  const reason = (p: string) => health.get(`node1:${p.slice(1)}`)?.lastError ?? '';
  for (const p of bad) assert.equal(health.get(`node1:${p.slice(1)}`)?.health, 'down', p);
  assert.match(reason('/garbage'), /line 1/);
  assert.match(reason('/hang'), /deadline exceeded/);
  assert.match(reason('/endless'), /body size limit/);
  assert.match(reason('/status500'), /500/);
  assert.ok(process.memoryUsage().rss - rssBefore < 200 << 20, 'the endless body was not buffered');
});

void test('honor_labels and honor_timestamps are separate settings', async () => {
  exposed = 'm{job="theirs"} 1 1700000000000\n';
  const scrape = async (c: Partial<ScrapeConfig>) => {
    const rec = new Recorder();
    await new ScrapeLoop(target('/exposed', 'n:1'), rec, cfg(c)).scrapeOnce();
    return rec.of('m')[0];
  };
  const a = await scrape({honorLabels: false, honorTimestamps: true});
  assert.equal(a.series, '__name__=m,exported_job=theirs,instance=n:1,job=mattermost');
  assert.equal(a.t, 1700000000000);
  const b = await scrape({honorLabels: true, honorTimestamps: false});
  assert.equal(b.series, '__name__=m,instance=n:1,job=theirs');
  assert.notEqual(b.t, 1700000000000);
});

void test('settings change live: a shorter interval applies without a restart', async () => {
  const rec = new Recorder();
  const mgr = new ScrapeManager(rec, cfg({intervalMs: 5_000, timeoutMs: 1_000}));
  await mgr.sync([target('/text')]);
  for (let i = 0; i < 60 && rec.of('up').length < 1; i++) await sleep(50);
  mgr.updateConfig(cfg({intervalMs: 200, timeoutMs: 150}));
  await sleep(1_500);
  await mgr.stop();
  assert.ok(rec.of('up').filter((r) => !r.stale).length >= 4, `${rec.of('up').length} scrapes`);
  assert.throws(() => mgr.updateConfig(cfg({intervalMs: 100, timeoutMs: 200})), /must not exceed/);
});

void test('series cache with a real head: by ref, one series for two texts, refs the head dropped, settings changes', async () => {
  const head = new Head();
  let now = 1_700_000_000_000;
  const loop = new ScrapeLoop(target('/exposed', 'n:1'), head, cfg(), {now: () => (now += 60_000)});
  const values = (name: string) => [...head.select([{type: '=', name: '__name__', value: name}], 0, Infinity)].map((s) => [...s.samples].map((x) => (x.stale ? 'stale' : x.v)));
  // The same series twice (labels in another order): the first wins, as before.
  exposed = 'm{a="1",b="2"} 1\nm{b="2",a="1"} 2\nn 3\n';
  await loop.scrapeOnce();
  exposed = 'm{a="1",b="2"} 4\nm{b="2",a="1"} 5\nn 6\n';
  await loop.scrapeOnce();
  assert.deepEqual(values('m'), [[1, 4]]);
  assert.equal(loop.health.rejected, 0);
  assert.equal(loop.health.samples, 2);
  // n vanishes (stale marker), comes back; the head drops every series meanwhile: refs fall back to labels.
  exposed = 'm{a="1",b="2"} 7\n';
  await loop.scrapeOnce();
  head.truncate(now + 1);
  head.truncate(now + 1);
  assert.equal(head.stats().series, 0);
  exposed = 'm{a="1",b="2"} 8\nn 9\n';
  await loop.scrapeOnce();
  assert.equal(loop.health.rejected, 0);
  assert.deepEqual(values('m'), [[8]]);
  assert.deepEqual(values('n'), [[9]]);
  assert.equal(values('scrape_series_added').at(0)?.at(-1), 1); // n is new again; m was in the last scrape
  // A stricter label limit applies to series the cache already knows: the scrape fails and
  // appends nothing (a loop that was never started does not report failures).
  loop.updateConfig(cfg({labelLimit: 2}));
  await loop.scrapeOnce();
  assert.deepEqual(values('m'), [[8]]);
  loop.updateConfig(cfg());
  await loop.scrapeOnce();
  assert.deepEqual(values('m'), [[8, 8]]);
});

void test('a large body is parsed in slices: timers run meanwhile, stop() mid-parse commits nothing, settings changed mid-scrape apply next', async () => {
  let body = '';
  for (let i = 0; i < 60_000; i++) body += `big_total{i="${i}",handler="/api/v4/x"} ${i}\n`;
  exposed = body;
  const head = new Head();
  let now = 1_700_000_000_000;
  const loop = new ScrapeLoop(target('/exposed', 'n:1'), head, cfg({bodySizeLimit: 0, intervalMs: 60_000, timeoutMs: 10_000}), {now: () => (now += 60_000)});
  const bigSeries = (): number => [...head.select([{type: '=', name: '__name__', value: 'big_total'}], 0, Infinity)].filter((s) => [...s.samples].length > 0).length;

  // Stopped while parsing: rolled back, so no sample of the scrape is in the head.
  loop.start();
  const ticks = {n: 0};
  const probe = setInterval(() => ticks.n++, 1);
  while (head.stats().series === 0) await new Promise((r) => setImmediate(r)); // parsing has begun
  await loop.stop(false);
  assert.ok(ticks.n > 0, 'a 1 ms timer ran during the scrape');
  assert.equal(bigSeries(), 0);

  // A whole scrape: a timer keeps running while it parses; every sample in one commit.
  const other = new ScrapeLoop(target('/exposed', 'n:2'), head, cfg({bodySizeLimit: 0, intervalMs: 60_000, timeoutMs: 10_000}), {now: () => (now += 60_000)});
  ticks.n = 0;
  const scraping = other.scrapeOnce();
  // Settings changed mid-scrape: that scrape keeps its own; the next one fails on the new limit.
  await new Promise((r) => setImmediate(r));
  other.updateConfig(cfg({bodySizeLimit: 0, intervalMs: 60_000, timeoutMs: 10_000, labelLimit: 2}));
  await scraping;
  clearInterval(probe);
  assert.ok(ticks.n > 0, 'a 1 ms timer ran during the scrape');
  assert.equal(other.health.health, 'up');
  assert.equal(other.health.samples, 60_000);
  assert.equal(bigSeries(), 60_000);
  // (A loop never started reports no failure: the head shows the scrape appended nothing.)
  const samplesOfOne = (): number => [...[...head.select([{type: '=', name: 'i', value: '1'}, {type: '=', name: 'instance', value: 'n:2'}], 0, Infinity)][0].samples].length;
  assert.equal(samplesOfOne(), 1);
  await other.scrapeOnce();
  assert.equal(samplesOfOne(), 1);
  other.updateConfig(cfg({bodySizeLimit: 0, intervalMs: 60_000, timeoutMs: 10_000}));
  await other.scrapeOnce();
  assert.equal(samplesOfOne(), 2);
});
