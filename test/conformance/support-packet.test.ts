// The Support Packet end to end through the Go go-plugin host: the harness calls the
// GenerateSupportData hook as the server does when an admin downloads a Support Packet
// (`harness serve`, GET /_harness/support-packet), over the real wire (gob []*FileData).
// The packet must carry a fresh dump of the last SupportPacketMetricsDays days: extracted
// with tar and opened by a real Prometheus, it holds exactly what the target served up to
// the moment of the call and the samples of a block pre-seeded earlier that day; the file
// store is left as it was (the fresh dump is not written there).
//
// Uses the bundle's executable or $PLUGIN_EXE (see dump-e2e.test.ts); skipped without one.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import {after, before, test} from 'node:test';

import {writeBlock} from '../../server/src/tsdb/block/mod.ts';
import {ensurePrometheus} from '../../server/src/tsdb/testing/prometheus.ts';
import {MetricsTarget, checkServedSamples, extract, filesUnder, rawSamples} from './dump-check.ts';
import {ownPluginSkip, resolvePluginExe, ROOT} from './goharness.ts';
import {type ScrapingNode, type Serve, startScrapingNode} from './serve.ts';

const H = 3_600_000;
const target = resolvePluginExe();
const prom = ensurePrometheus();
const skip = ownPluginSkip(target, prom);

const step = 15_000;
const seededFrom = Math.floor(Date.now() / (2 * H)) * 2 * H - 4 * H;
const seededTo = seededFrom + 2 * H;
const seededValue = (t: number): number => (t / step) % 977;

let node: ScrapingNode | undefined;
let root = '';
let harness: Serve | undefined;
const metrics = new MetricsTarget();

interface PacketFile {
  Filename: string;
  Body: string;
}

before(async () => {
  if (skip) return;
  const seed = (dataDir: string): void => {
    const samples = [];
    for (let t = seededFrom; t < seededTo; t += step) samples.push({t, v: seededValue(t)});
    writeBlock(dataDir, [{labels: {__name__: 'packet_seeded', job: 'seed', instance: 'seed:1'}, samples}], {minTime: seededFrom, maxTime: seededTo, fsync: false});
  };
  node = await startScrapingNode({target, prefix: 'support-packet', metrics, config: {SupportPacketMetricsDays: 1}, seed});
  ({root, harness} = node);
});

after(async () => {
  await node?.close();
  await metrics.close();
});

void test('the plugin declares its Support Packet contribution in plugin.json (props.support_packet)', () => {
  const manifest = JSON.parse(fs.readFileSync(path.join(ROOT, 'plugin.json'), 'utf8')) as {props?: {support_packet?: unknown}};
  assert.equal(typeof manifest.props?.support_packet, 'string');
  assert.ok((manifest.props!.support_packet as string).length > 0);
});

void test('GenerateSupportData over the wire: a fresh dump of the last day with exactly the samples scraped and seeded', {skip, timeout: 150_000}, async (t) => {
  const from = Date.now() - 60_000;
  await metrics.waitServed(5, 30_000, () => harness!.logTail());
  const dumpsBefore = filesUnder(path.join(root, 'filestore', 'plugin-data', 'mattermost-plugin-metrics', 'dump'));
  const now = Date.now();
  const r = await fetch(`${harness!.url}/_harness/support-packet`);
  assert.equal(r.status, 200, await r.clone().text());
  const packet = (await r.json()) as {files: PacketFile[] | null; error?: string; elapsed_ms: number};
  assert.equal(packet.error, undefined, packet.error);
  const files = packet.files ?? [];
  const names = files.map((f) => f.Filename);
  t.diagnostic(`GenerateSupportData took ${packet.elapsed_ms} ms: ${names.join(', ')}`);
  assert.ok(
    names.every((n) => n.startsWith('mattermost-plugin-metrics/')),
    names.join(', '),
  );
  assert.ok(!names.some((n) => n.endsWith('WARNING.txt')), `a warning instead of a fresh dump: ${files.find((f) => f.Filename.endsWith('WARNING.txt')) ? Buffer.from(files.find((f) => f.Filename.endsWith('WARNING.txt'))!.Body, 'base64').toString() : ''}`);

  const status = files.find((f) => f.Filename === 'mattermost-plugin-metrics/status.json');
  assert.ok(status, 'status.json');
  const st = JSON.parse(Buffer.from(status.Body, 'base64').toString('utf8')) as {supportPacket?: {outcome?: string}};
  assert.equal(st.supportPacket?.outcome, 'fresh', JSON.stringify(st.supportPacket));

  const dumps = files.filter((f) => f.Filename.endsWith('.tar.gz'));
  assert.equal(dumps.length, 1, names.join(', '));
  const file = path.join(root, path.basename(dumps[0].Filename));
  fs.writeFileSync(file, Buffer.from(dumps[0].Body, 'base64'));
  const dataDir = extract(file, root);
  const metadata = filesUnder(root).find((f) => f.endsWith('metadata.yaml'));
  assert.ok(metadata);
  assert.match(fs.readFileSync(path.join(root, metadata), 'utf8'), /support_packet/);

  const failed = await checkServedSamples(prom!, dataDir, metrics, from, now);
  if (failed > 0) t.diagnostic(`${failed} scrape(s) failed (up=0) and are rightly absent`);
  const seeded = await rawSamples(prom!, dataDir, 'packet_seeded', seededFrom, seededTo);
  assert.equal(seeded.length, 1);
  const expected: Array<[number, number]> = [];
  for (let ts = seededFrom; ts < seededTo; ts += step) expected.push([ts, seededValue(ts)]);
  assert.deepEqual(seeded[0].samples, expected);

  // The fresh dump was built outside the file store.
  assert.deepEqual(filesUnder(path.join(root, 'filestore', 'plugin-data', 'mattermost-plugin-metrics', 'dump')), dumpsBefore);
});
