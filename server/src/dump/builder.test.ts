// The dump builder against a LocalBackend holding real synced blocks (BlockSyncer), and a
// real Prometheus 2.42 (Debian, installed on demand) started on the extracted archive:
// it must return exactly the samples of the requested range.

import assert from 'node:assert/strict';
import {createHash} from 'node:crypto';
import {execFileSync} from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {after, before, describe, test} from 'node:test';
import {fileURLToPath} from 'node:url';

import {LocalBackend, remoteDataDir, remoteDumpDir} from '../filestore/mod.ts';
import {BlockSyncer} from '../sync/mod.ts';
import {type BlockMeta, openBlock, writeBlock} from '../tsdb/block/mod.ts';
import {mergeBlocks} from '../tsdb/compact/mod.ts';
import {type PromBinaries, ensurePrometheus, query, startPrometheus} from '../tsdb/testing/prometheus.ts';
import {type DumpResult, DumpNoDataError, buildDump, compactTime, dumpFileName, packetMetadataYAML, pickBlocks, siteSlug} from './builder.ts';

const H = 3_600_000;
const MIN = 60_000;
const STEP = MIN;
const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const bin: PromBinaries | null = ensurePrometheus();
const noProm = bin === null ? 'prometheus not available' : false;

const meta = (ulid: string, minTime: number, maxTime: number, sources?: string[]): BlockMeta => ({
  ulid,
  minTime,
  maxTime,
  compaction: {level: sources ? 2 : 1, sources: sources ?? [ulid]},
  version: 1,
});

describe('pickBlocks', () => {
  const [a, b, c, x] = ['01AAAAAAAAAAAAAAAAAAAAAAAA', '01BBBBBBBBBBBBBBBBBBBBBBBB', '01CCCCCCCCCCCCCCCCCCCCCCCC', '01XXXXXXXXXXXXXXXXXXXXXXXX'];
  test('a compacted block whose sources are all remote is replaced by them', () => {
    const r = pickBlocks([meta(a, 0, 2), meta(b, 2, 4), meta(c, 0, 4, [a, b])], new Set([a, b, c]));
    assert.deepEqual(r.keep.map((m) => m.ulid), [a, b]);
    assert.deepEqual(r.dropped, [{ulid: c, reason: 'split-into-present-sources', by: [a, b]}]);
  });
  test('otherwise it covers its sources', () => {
    const r = pickBlocks([meta(b, 2, 4), meta(c, 0, 4, [a, b])], new Set([b, c]));
    assert.deepEqual(r.keep.map((m) => m.ulid), [c]);
    assert.deepEqual(r.dropped, [{ulid: b, reason: 'covered-by-compacted-block', by: [c]}]);
  });
  test('nested compactions and duplicates; other sources overlap and stay', () => {
    const six = meta('01DDDDDDDDDDDDDDDDDDDDDDDD', 0, 4, [a, b]);
    const day = meta('01EEEEEEEEEEEEEEEEEEEEEEEE', 0, 8, [a, b, x]);
    const dup = meta('01FFFFFFFFFFFFFFFFFFFFFFFF', 0, 8, [a, b, x]);
    const other = meta('01GGGGGGGGGGGGGGGGGGGGGGGG', 1, 3);
    const r = pickBlocks([six, day, dup, other], new Set());
    assert.deepEqual(r.keep.map((m) => m.ulid).sort(), [dup.ulid, other.ulid]);
    assert.equal(r.dropped.find((d) => d.ulid === day.ulid)?.reason, 'duplicate');
  });
});

test('file name, slug, time, metadata.yaml', () => {
  assert.equal(siteSlug('https://Chat.Example.com:8065/team/'), 'chat.example.com-8065-team');
  assert.equal(siteSlug(''), 'mattermost');
  assert.equal(siteSlug('My Site: "prod"'), 'my-site-prod');
  assert.equal(compactTime(Date.UTC(2024, 4, 1, 13, 45, 7)), '20240501T134507Z');
  assert.equal(compactTime(Date.UTC(2024, 4, 1, 13, 45, 7, 12)), '20240501T134507012Z');
  assert.equal(
    dumpFileName('https://chat.example.com', Date.UTC(2024, 4, 1), Date.UTC(2024, 4, 2)),
    'mattermost-metrics_chat.example.com_20240501T000000Z_20240502T000000Z.tar.gz',
  );
  const y = packetMetadataYAML({serverVersion: '10.5.1', diagnosticId: 'abcdefghijklmnopqrstuvwxyz', pluginVersion: '0.8.0'}, 5, {min: 1, max: 2, nodes: ['a:8067', '1.5'], plugin_id: 'x'});
  assert.equal(
    y,
    'version: 1\ntype: plugin-packet\ngenerated_at: 5\nserver_version: 10.5.1\nserver_id: abcdefghijklmnopqrstuvwxyz\nlicense_id: ""\ncustomer_id: ""\nextras:\n    max: 2\n    min: 1\n    nodes:\n        - a:8067\n        - "1.5"\n    plugin_id: x\n',
  );
});

// ---- a store with real blocks ------------------------------------------------------

interface Gen {
  instance: string;
  series: number;
}
const value = (inst: string, s: number, t: number): number => ((t / STEP) % 1000) + s * 0.5 + (inst === 'node-b:8067' ? 10_000 : 0);

function seriesFor(g: Gen, from: number, to: number) {
  return Array.from({length: g.series}, (_, s) => ({
    labels: {__name__: 'dump_test_metric', instance: g.instance, s: String(s)},
    samples: Array.from({length: Math.ceil((to - from) / STEP)}, (_, k) => ({t: from + k * STEP, v: value(g.instance, s, from + k * STEP)})),
  }));
}

let root = '';
let store = '';
let backend: LocalBackend;
const B: BlockMeta[] = []; // six consecutive 2 h blocks of node-a
let C: BlockMeta; // compacted from B[0..2]
let O: BlockMeta; // node-b, overlapping B[4] (another scraper)
const nodeA: Gen = {instance: 'node-a:8067', series: 6};
const nodeB: Gen = {instance: 'node-b:8067', series: 3};
const MD = {serverVersion: '10.5.1', diagnosticId: 'abcdefghijklmnopqrstuvwxyz', pluginVersion: '0.8.0', siteURL: 'https://chat.example.com', createdBy: 'admin'};

before(async () => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'dump-test-'));
  const dataDir = path.join(root, 'data');
  const end = Math.floor((Date.now() - H) / (2 * H)) * 2 * H;
  const start = end - 6 * 2 * H;
  for (let i = 0; i < 6; i++) {
    const f = start + i * 2 * H;
    B.push(writeBlock(dataDir, seriesFor(nodeA, f, f + 2 * H), {fsync: false, minTime: f, maxTime: f + 2 * H}).meta);
  }
  const parents = B.slice(0, 3).map((m) => openBlock(path.join(dataDir, m.ulid)));
  C = mergeBlocks(dataDir, parents, {fsync: false}).meta;
  for (const p of parents) p.close?.();
  const of = B[4].minTime + 30 * MIN;
  O = writeBlock(dataDir, seriesFor(nodeB, of, of + 2 * H), {fsync: false, minTime: of, maxTime: of + 2 * H}).meta;
  store = path.join(root, 'store');
  backend = new LocalBackend(store);
  const r = await new BlockSyncer({backend, dataDir, retentionDays: 15, periodMinutes: 60}).syncOnce();
  assert.equal(r.error, null);
  assert.equal(r.uploaded, 8);
});
after(() => {
  if (root) fs.rmSync(root, {recursive: true, force: true});
});

/** Every generated sample in [from, to), by series key. */
function expected(from: number, to: number): Map<string, Array<[number, number]>> {
  const out = new Map<string, Array<[number, number]>>();
  const add = (g: Gen, lo: number, hi: number): void => {
    for (let s = 0; s < g.series; s++) {
      const pts: Array<[number, number]> = [];
      for (let t = Math.ceil(Math.max(from, lo) / STEP) * STEP; t < Math.min(to, hi); t += STEP) pts.push([t, value(g.instance, s, t)]);
      if (pts.length) out.set(`${g.instance}/${s}`, pts);
    }
  };
  add(nodeA, B[0].minTime, B[5].maxTime);
  add(nodeB, O.minTime, O.maxTime);
  return out;
}

let n = 0;
async function build(from: number, to: number): Promise<{r: DumpResult; dir: string; file: string; progress: Array<[number, string]>}> {
  const fileName = dumpFileName(MD.siteURL, from, to);
  const outPath = `${remoteDumpDir}/job${n}/${fileName}`;
  const progress: Array<[number, string]> = [];
  const r = await buildDump({backend, from, to, outPath, metadata: MD, onProgress: (f, p) => progress.push([f, p])});
  const file = path.join(root, `dump-${n}.tar.gz`);
  fs.copyFileSync(path.join(store, ...outPath.split('/')), file);
  const dir = path.join(root, `x-${n++}`);
  fs.mkdirSync(dir);
  execFileSync('tar', ['xzf', file, '-C', dir]);
  return {r, dir, file, progress};
}

function checkArchive(r: DumpResult, dir: string, file: string): void {
  const names = execFileSync('tar', ['tzf', file], {encoding: 'utf8'}).trim().split('\n');
  assert.equal(names[0], 'metadata.yaml');
  assert.equal(names[1], 'README.md');
  assert.equal(names.at(-1), 'manifest.json');
  for (const nm of names) assert.ok(!nm.startsWith('/') && !nm.startsWith('./') && !nm.includes('..'), nm);
  assert.ok(!names.some((nm) => /(^|\/)(wal|chunks_head|mm-manifest\.json)(\/|$)/.test(nm)), 'no WAL or sync junk');
  const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
  assert.deepEqual(manifest.blocks, r.blocks);
  let files = 0;
  for (const b of manifest.blocks) {
    for (const f of b.files) {
      const data = fs.readFileSync(path.join(dir, f.path));
      assert.equal(data.length, f.size, f.path);
      assert.equal(createHash('sha256').update(data).digest('hex'), f.sha256, f.path);
      files++;
    }
    assert.ok(fs.existsSync(path.join(dir, b.ulid, 'meta.json')));
  }
  assert.equal(files, names.filter((nm) => /^[0-9A-Z]{26}\/.+[^/]$/.test(nm)).length, 'the manifest lists every block file');
  const tgz = fs.readFileSync(file);
  assert.equal(tgz.length, r.bytes);
  assert.equal(createHash('sha256').update(tgz).digest('hex'), r.sha256);
  const yaml = fs.readFileSync(path.join(dir, 'metadata.yaml'), 'utf8');
  assert.match(yaml, /^server_version: 10\.5\.1$/m);
  assert.match(yaml, new RegExp(`^    min: ${r.requestedRange.from}$`, 'm'));
  assert.match(yaml, new RegExp(`^    actual_max: ${r.actualRange.max}$`, 'm'));
  assert.match(fs.readFileSync(path.join(dir, 'README.md'), 'utf8'), /15582/);
  const out = execFileSync(process.execPath, [path.join(repo, 'bin/mm-metrics.js'), 'inspect', file], {encoding: 'utf8'});
  assert.match(out, /^OK$/m);
}

async function checkPrometheus(dir: string, from: number, to: number): Promise<void> {
  const prom = await startPrometheus(bin!, dir);
  try {
    // 2.42: a range selector at T covers [T − d, T] inclusive; T = to − 1 ms, d = to − 1 − from.
    const res = await query(prom, `dump_test_metric[${to - 1 - from}ms]`, (to - 1) / 1000);
    const got = new Map<string, Array<[number, number]>>();
    for (const s of res) got.set(`${s.metric.instance}/${s.metric.s}`, (s.values as Array<[number, string]>).map(([t, v]) => [Math.round(t * 1000), Number(v)]));
    const want = expected(from, to);
    assert.deepEqual([...got.keys()].sort(), [...want.keys()].sort());
    for (const [k, pts] of want) assert.deepEqual(got.get(k), pts, k);
    assert.doesNotMatch(prom.log(), /level=error/);
  } finally {
    await prom.stop();
  }
}

describe('buildDump on a LocalBackend', () => {
  test('(a) a range across block boundaries', {timeout: 120_000}, async (t) => {
    const from = B[1].minTime + 30 * MIN;
    const to = B[3].minTime + 45 * MIN;
    const {r, dir, file, progress} = await build(from, to);
    assert.deepEqual(r.blocks.map((b) => b.ulid), [B[1].ulid, B[2].ulid, B[3].ulid]);
    assert.deepEqual(r.dropped, [{ulid: C.ulid, reason: 'split-into-present-sources', by: [B[1].ulid, B[2].ulid]}]);
    assert.deepEqual(r.actualRange, {min: B[1].minTime, max: B[3].maxTime});
    assert.deepEqual(r.nodes, ['node-a:8067']);
    assert.equal(r.samples, 3 * 6 * 120);
    assert.equal(r.series, 6);
    assert.equal(r.overlapping, false);
    assert.deepEqual(progress.at(-1), [1, 'done']);
    assert.ok(progress.some(([f, p]) => p === 'archive' && f > 0 && f < 1));
    checkArchive(r, dir, file);
    if (!noProm) await checkPrometheus(dir, from, to);
    else t.diagnostic('prometheus not available: query check skipped');
  });

  test('(b) a range ending inside a block, ms precision; a genuinely overlapping block of another node stays', {timeout: 120_000}, async () => {
    const from = B[4].minTime + 10 * MIN + 123;
    const to = B[5].minTime + 17 * MIN + 1; // includes the sample at +17 min
    const {r, dir, file} = await build(from, to);
    assert.deepEqual(r.blocks.map((b) => b.ulid), [B[4].ulid, O.ulid, B[5].ulid]);
    assert.equal(r.overlapping, true);
    assert.deepEqual(r.nodes, ['node-a:8067', 'node-b:8067']);
    checkArchive(r, dir, file);
    if (!noProm) await checkPrometheus(dir, from, to);
    // A range ending exactly at a block's minTime does not include it.
    const r2 = await build(B[4].minTime, B[5].minTime);
    assert.deepEqual(r2.r.blocks.map((b) => b.ulid), [B[4].ulid, O.ulid]);
  });

  test('(c) redundant blocks: the compacted block or its sources, never both', {timeout: 180_000}, async () => {
    const from = B[0].minTime + 5 * MIN;
    const to = B[2].maxTime - 5 * MIN;
    const one = await build(from, to);
    assert.deepEqual(one.r.blocks.map((b) => b.ulid), [B[0].ulid, B[1].ulid, B[2].ulid]);
    assert.deepEqual(one.r.dropped, [{ulid: C.ulid, reason: 'split-into-present-sources', by: [B[0].ulid, B[1].ulid, B[2].ulid]}]);
    checkArchive(one.r, one.dir, one.file);
    if (!noProm) await checkPrometheus(one.dir, from, to);

    // B[1] gone from the file store: C holds its data, B[0] and B[2] are redundant.
    fs.renameSync(path.join(store, ...remoteDataDir.split('/'), B[1].ulid), path.join(root, 'moved'));
    try {
      const two = await build(from + 2 * H, to);
      assert.deepEqual(two.r.blocks.map((b) => b.ulid), [C.ulid]);
      assert.deepEqual(two.r.dropped.map((d) => [d.ulid, d.reason]).sort(), [
        [B[2].ulid, 'covered-by-compacted-block'],
      ]);
      checkArchive(two.r, two.dir, two.file);
      if (!noProm) await checkPrometheus(two.dir, from + 2 * H, to);
      const three = await build(from, to);
      assert.deepEqual(three.r.blocks.map((b) => b.ulid), [C.ulid]);
      assert.deepEqual(three.r.dropped.map((d) => d.ulid).sort(), [B[0].ulid, B[2].ulid].sort());
    } finally {
      fs.renameSync(path.join(root, 'moved'), path.join(store, ...remoteDataDir.split('/'), B[1].ulid));
    }
  });

  test('incomplete blocks are ignored; an empty selection rejects and writes nothing', async () => {
    const partial = path.join(store, ...remoteDataDir.split('/'), '01HZZZZZZZZZZZZZZZZZZZZZZZ');
    fs.mkdirSync(path.join(partial, 'chunks'), {recursive: true});
    fs.writeFileSync(path.join(partial, 'chunks', '000001'), 'x');
    try {
      const r = await build(B[5].minTime, B[5].maxTime);
      assert.deepEqual(r.r.blocks.map((b) => b.ulid), [O.ulid, B[5].ulid]);
      const outPath = `${remoteDumpDir}/empty/x.tar.gz`;
      await assert.rejects(buildDump({backend, from: B[5].maxTime, to: B[5].maxTime + H, outPath, metadata: MD}), DumpNoDataError);
      assert.equal(await backend.stat(outPath), null);
    } finally {
      fs.rmSync(partial, {recursive: true, force: true});
    }
  });

  test('a remote file that does not match its mm-manifest.json fails the dump and leaves nothing', async () => {
    const idx = path.join(store, ...remoteDataDir.split('/'), B[5].ulid, 'tombstones');
    const orig = fs.readFileSync(idx);
    const bad = Buffer.from(orig);
    bad[bad.length - 1] ^= 0xff;
    fs.writeFileSync(idx, bad);
    try {
      const outPath = `${remoteDumpDir}/bad/x.tar.gz`;
      const span = `${new Date(B[5].minTime).toISOString()} .. ${new Date(B[5].maxTime).toISOString()}`;
      await assert.rejects(buildDump({backend, from: B[5].minTime, to: B[5].maxTime, outPath, metadata: MD}), (e: Error) => {
        assert.match(e.message, /is damaged in the file store: it does not match the block's mm-manifest\.json/);
        assert.ok(e.message.includes(`the block holds ${span}`), e.message);
        return true;
      });
      assert.equal(await backend.stat(outPath), null);
      assert.deepEqual(await backend.list(`${remoteDumpDir}/bad`), []);
    } finally {
      fs.writeFileSync(idx, orig);
    }
  });
});
