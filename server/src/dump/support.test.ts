// The Support Packet's metrics: a fresh dump within the budgets, the fallback to the newest
// finished dump job with a WARNING.txt, and status.json + WARNING.txt when there is nothing.
// The end-to-end check with a real Prometheus is devhost/support-packet.test.ts.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {gunzipSync} from 'node:zlib';
import {after, before, describe, test} from 'node:test';

import {LocalBackend, remoteDumpDir} from '../filestore/mod.ts';
import {BlockSyncer} from '../sync/mod.ts';
import {writeBlock} from '../tsdb/block/mod.ts';
import type {BuildDumpOptions, DumpResult} from './builder.ts';
import type {DumpJob} from './jobs.ts';
import {type SupportPacketOptions, SUPPORT_DIR, supportPacketFiles} from './support.ts';

const H = 3_600_000;
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'support-'));
after(() => fs.rmSync(root, {recursive: true, force: true}));
const MD = {serverVersion: '10.11.0', diagnosticId: 'abcdefghijklmnopqrstuvwxyz', pluginVersion: '0.8.0', siteURL: 'https://chat.example.com'};

let backend: LocalBackend;
let tmpDir: string;
const now = Date.now();
/** Two finished jobs with files (the newer one is expired), one whose file is gone. */
let jobs: DumpJob[];

before(async () => {
  backend = new LocalBackend(path.join(root, 'filestore'));
  tmpDir = fs.mkdtempSync(path.join(root, 'tmp-'));
  const dataDir = path.join(root, 'data');
  const t0 = now - 5 * H;
  const samples = Array.from({length: 120}, (_, i) => ({t: t0 + i * 60_000, v: i}));
  writeBlock(dataDir, [{labels: {__name__: 'support_test_metric', instance: 'a:8067'}, samples}], {fsync: false, minTime: t0, maxTime: t0 + 2 * H});
  const r = await new BlockSyncer({backend, dataDir, retentionDays: 15, periodMinutes: 60}).syncOnce();
  assert.equal(r.error, null);
  const job = (id: string, finish: number, extra: Partial<DumpJob> = {}): DumpJob => ({
    id,
    status: 'success',
    create_at: finish - 1000,
    finish_at: finish,
    min_t: now - 30 * H,
    max_t: now - 20 * H,
    dump_location: `${remoteDumpDir}/${id}/old_${id}.tar.gz`,
    file_name: `old_${id}.tar.gz`,
    created_by: 'admin1',
    ...extra,
  });
  jobs = [
    job('a'.repeat(26), now - 3 * H),
    job('b'.repeat(26), now - 2 * H, {expired: true}),
    job('c'.repeat(26), now - H),
    {...job('d'.repeat(26), now), status: 'error', dump_location: ''},
  ];
  await backend.write(jobs[0].dump_location, Buffer.from('dump a'));
  await backend.write(jobs[1].dump_location, Buffer.from('dump b'));
});

const base = (o: Partial<SupportPacketOptions> = {}): SupportPacketOptions => ({
  backend,
  days: 1,
  metadata: async () => MD,
  jobs: async () => jobs,
  status: () => ({plugin: 'x', targets: [{url: 'http://a:8067/metrics', health: 'up'}]}),
  tmpDir,
  ...o,
});

const names = (files: Array<{filename: string}>): string[] => files.map((f) => f.filename).sort();
const text = (files: Array<{filename: string; body: Buffer}>, name: string): string => files.find((f) => f.filename === `${SUPPORT_DIR}/${name}`)!.body.toString('utf8');
const tmpEmpty = async (): Promise<void> => {
  for (let i = 0; i < 100 && fs.readdirSync(tmpDir).length > 0; i++) await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(fs.readdirSync(tmpDir), [], 'temporary dir removed');
};

describe('supportPacketFiles', () => {
  test('a fresh dump of the last N days, built in a temporary dir, nothing left in the file store', async () => {
    const res = await supportPacketFiles(base());
    assert.equal(res.outcome, 'fresh', res.reason);
    const dumpName = names(res.files).find((n) => n.endsWith('.tar.gz'))!;
    assert.match(dumpName, /^mattermost-plugin-metrics\/mattermost-metrics_chat\.example\.com_\d{8}T\d{6}(\d{3})?Z_\d{8}T\d{6}(\d{3})?Z\.tar\.gz$/);
    assert.deepEqual(names(res.files), [dumpName, `${SUPPORT_DIR}/status.json`].sort());
    const tar = gunzipSync(res.files.find((f) => f.filename === dumpName)!.body).toString('latin1');
    assert.match(tar, /metadata\.yaml/);
    assert.match(tar, /reason: support_packet/);
    const status = JSON.parse(text(res.files, 'status.json'));
    assert.equal(status.plugin, 'x');
    assert.equal(status.targets[0].health, 'up');
    assert.equal(status.supportPacket.outcome, 'fresh');
    assert.equal(status.supportPacket.dumpFile, dumpName);
    assert.equal(status.supportPacket.requestedRange.days, 1);
    assert.deepEqual(status.supportPacket.budgets, {buildMs: 45_000, totalMs: 60_000, maxBytes: 200 * 1024 * 1024});
    await tmpEmpty();
    assert.deepEqual((await backend.list(remoteDumpDir)).map((f) => f.path.split('/')[3]).sort(), ['a'.repeat(26), 'b'.repeat(26)], 'no support dump in the file store');
  });

  test('a fresh dump built without the scraping node\'s flush: WARNING.txt says the newest samples may be missing', async () => {
    const note = 'The scraping node app-1#aaaa did not answer the flush request within 20 s; samples after the newest block in the file store may be missing.';
    let asked: {from: number; to: number} | undefined;
    const res = await supportPacketFiles(
      base({
        prepare: async (_signal, range) => {
          asked = range;
          return {warnings: [note]};
        },
      }),
    );
    assert.equal(res.outcome, 'fresh', res.reason);
    assert.ok(asked && asked.to - asked.from === 86_400_000, 'prepare gets the requested range');
    const dumpName = names(res.files).find((n) => n.endsWith('.tar.gz'))!;
    assert.deepEqual(names(res.files), [dumpName, `${SUPPORT_DIR}/WARNING.txt`, `${SUPPORT_DIR}/status.json`].sort());
    const warning = text(res.files, 'WARNING.txt');
    assert.match(warning, /may be incomplete/);
    assert.ok(warning.includes(note));
    assert.deepEqual(JSON.parse(text(res.files, 'status.json')).supportPacket.warnings, [note]);
    assert.deepEqual(res.warnings, [note]);
    await tmpEmpty();
  });

  test('too large for the packet: the newest finished, unexpired dump job with a WARNING.txt', async () => {
    const res = await supportPacketFiles(base({maxBytes: 200}));
    assert.equal(res.outcome, 'fallback');
    assert.deepEqual(names(res.files), [`${SUPPORT_DIR}/WARNING.txt`, `${SUPPORT_DIR}/old_${'a'.repeat(26)}.tar.gz`, `${SUPPORT_DIR}/status.json`]);
    assert.equal(res.files.find((f) => f.filename.endsWith('.tar.gz'))!.body.toString(), 'dump a');
    const w = text(res.files, 'WARNING.txt');
    assert.match(w, /does not contain a fresh dump of the last 1 day of metrics/);
    assert.match(w, /because a dump of the last 1 day is larger than the Support Packet limit of 0\.0 MiB/);
    assert.match(w, new RegExp(`job: +${'a'.repeat(26)} \\(created by admin1\\)`));
    assert.match(w, /It may be old/);
    assert.equal(JSON.parse(text(res.files, 'status.json')).supportPacket.outcome, 'fallback');
    await tmpEmpty();
  });

  test('over the time budget: the build is aborted, the fallback is used, the temporary dir goes', async () => {
    let aborted = false;
    const hang = async (o: BuildDumpOptions): Promise<DumpResult> => {
      await o.output!.write(o.outPath, Buffer.from('partial'));
      await new Promise<void>((_, reject) => o.signal!.addEventListener('abort', () => ((aborted = true), reject(new Error('aborted')))));
      throw new Error('unreachable');
    };
    const started = Date.now();
    const res = await supportPacketFiles(base({build: hang, buildBudgetMs: 150}));
    assert.ok(Date.now() - started < 2_000);
    assert.equal(aborted, true);
    assert.equal(res.outcome, 'fallback');
    assert.match(text(res.files, 'WARNING.txt'), /building a dump of the last 1 day took longer than the budget of 0\.1 s/);
    await tmpEmpty();
  });

  test('nothing to ship: status.json and a WARNING.txt saying why', async () => {
    const res = await supportPacketFiles(base({days: 2, now: () => now - 40 * 24 * H, jobs: async () => []}));
    assert.equal(res.outcome, 'none');
    assert.deepEqual(names(res.files), [`${SUPPORT_DIR}/WARNING.txt`, `${SUPPORT_DIR}/status.json`]);
    const w = text(res.files, 'WARNING.txt');
    assert.match(w, /contains no metrics dump/);
    assert.match(w, /last 2 days .* could not be built: there is no synced data for the last 2 days/);
    assert.match(w, /No earlier dump could be included instead: there is no finished dump job\./);

    const noStore = await supportPacketFiles(base({backend: null, noBackendReason: 'FileSettings.DriverName "ftp" is not supported'}));
    assert.equal(noStore.outcome, 'none');
    assert.match(text(noStore.files, 'WARNING.txt'), /the file store is not usable: FileSettings\.DriverName "ftp" is not supported/);
    assert.match(text(noStore.files, 'WARNING.txt'), /dump jobs are not available on this node/);
    await tmpEmpty();
  });
});
