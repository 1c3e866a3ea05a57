// The Support Packet end to end: the plugin (from source) under the dev host with a real
// block in its local store and a scraped head, GenerateSupportData through the real wire
// (GET /api/v4/system/support_packet), the fresh dump extracted and opened by a real
// Prometheus, which must return the block's samples and the scrape of the last minute.
import assert from 'node:assert/strict';
import {execFileSync} from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {after, before, test} from 'node:test';

import {writeBlock} from '../server/src/tsdb/block/mod.ts';
import {type PromBinaries, ensurePrometheus, query, startPrometheus} from '../server/src/tsdb/testing/prometheus.ts';
import {startDevHost, type DevHost} from './devhost.ts';

const id = 'com.mattermost.mattermost-plugin-metrics';
const bin: PromBinaries | null = ensurePrometheus();
let h: DevHost;
let dir = '';
const STEP = 60_000;
const t0 = Math.floor((Date.now() - 5 * 3_600_000) / STEP) * STEP;
const values = Array.from({length: 90}, (_, i) => ({t: t0 + i * STEP, v: i * 1.5}));

before(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'devhost-support-'));
  writeBlock(path.join(dir, 'mattermost-plugin-metrics/data'), [{labels: {__name__: 'support_e2e_metric', instance: 'x:8067'}, samples: values}]);
  h = await startDevHost({dir, port: 0, metricsPort: 0, pluginExe: 'tsx', logWrite: () => {}});
  await h.savePluginSettings({ScrapeIntervalSeconds: 1, ScrapeTimeoutSeconds: 1});
  for (let i = 0; i < 100; i++) {
    const st = (await (await fetch(`${h.url}/plugins/${id}/status`, {headers: {'X-Devhost-User': 'admin'}})).json()) as {store?: {headSamples?: number}};
    if ((st.store?.headSamples ?? 0) > 0) break;
    await new Promise((r) => setTimeout(r, 100));
  }
});

after(async () => {
  await h?.stop();
  await fs.rm(dir, {recursive: true, force: true});
});

void test('the Support Packet carries a fresh dump of the last day that a real Prometheus opens', async (t) => {
  assert.equal((await fetch(`${h.url}/api/v4/system/support_packet`, {headers: {'X-Devhost-User': 'member'}})).status, 403);

  const ourTmp = async (): Promise<string[]> => (await fs.readdir(os.tmpdir())).filter((f) => f.startsWith('mm-metrics-support-'));
  const tmpBefore = await ourTmp();
  const asked = Date.now();
  const res = await fetch(`${h.url}/api/v4/system/support_packet`);
  assert.equal(res.status, 200, await res.clone().text());
  assert.equal(res.headers.get('content-type'), 'application/x-tar');
  const packetDir = path.join(dir, 'packet');
  await fs.mkdir(packetDir);
  await fs.writeFile(path.join(dir, 'packet.tar'), Buffer.from(await res.arrayBuffer()));
  execFileSync('tar', ['xf', path.join(dir, 'packet.tar'), '-C', packetDir]);
  const files = (await fs.readdir(path.join(packetDir, 'mattermost-plugin-metrics'))).sort();
  const dumpName = files.find((f) => f.endsWith('.tar.gz'));
  assert.ok(dumpName, files.join(','));
  assert.match(dumpName, /^mattermost-metrics_localhost-\d+_\d{8}T\d{6}(\d{3})?Z_\d{8}T\d{6}(\d{3})?Z\.tar\.gz$/);
  assert.deepEqual(files, [dumpName, 'status.json'].sort(), 'no WARNING.txt');
  const status = JSON.parse(await fs.readFile(path.join(packetDir, 'mattermost-plugin-metrics/status.json'), 'utf8'));
  assert.equal(status.plugin, id);
  assert.equal(status.supportPacket.outcome, 'fresh');
  assert.equal(status.supportPacket.requestedRange.days, 1);
  assert.ok(Array.isArray(status.targets) && status.targets.length > 0, 'targets in status.json');
  assert.ok('warnings' in status);
  t.diagnostic(`support packet generated in ${status.supportPacket.ms} ms, dump ${(await fs.stat(path.join(packetDir, 'mattermost-plugin-metrics', dumpName))).size} bytes`);

  // Nothing left behind: no dump in the file store, no temporary dir of ours.
  const dumps = path.join(dir, 'filestore', 'plugin-data/mattermost-plugin-metrics/dump');
  assert.deepEqual(await fs.readdir(dumps).catch(() => []), []);
  for (let i = 0; i < 50 && (await ourTmp()).some((f) => !tmpBefore.includes(f)); i++) await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual((await ourTmp()).filter((f) => !tmpBefore.includes(f)), [], 'temporary build dir removed');

  if (!bin) {
    t.diagnostic('prometheus not available: query check skipped');
    return;
  }
  const promData = path.join(dir, 'prom', 'data');
  await fs.mkdir(promData, {recursive: true});
  execFileSync('tar', ['xzf', path.join(packetDir, 'mattermost-plugin-metrics', dumpName), '-C', promData]);
  const prom = await startPrometheus(bin, promData);
  try {
    const end = values[values.length - 1].t;
    const got = await query(prom, `support_e2e_metric[${end - t0 + 1}ms]`, end / 1000);
    assert.equal(got.length, 1, prom.log());
    assert.deepEqual(
      (got[0].values as Array<[number, string]>).map(([ts, v]) => [Math.round(ts * 1000), Number(v)]),
      values.map((s) => [s.t, s.v]),
    );
    // The scraped head was flushed and synced before the build: the dump ends "now".
    const up = await query(prom, 'up[2m]', asked / 1000);
    assert.ok(up.length > 0, 'samples scraped in the last two minutes are in the dump');
  } finally {
    await prom.stop();
  }
});
