import assert from 'node:assert/strict';
import {spawnSync} from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {test} from 'node:test';
import {fileURLToPath} from 'node:url';

import * as tar from 'tar';

import {writeBlock} from '../tsdb/block/mod.ts';
import {encodeSegment} from '../tsdb/promwal/testing/encode.ts';
import {run} from './main.ts';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

function dataDir(): {dir: string; ulid: string} {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'inspect-'));
  const series = Array.from({length: 5}, (_, i) => ({
    labels: {__name__: 'mattermost_http_requests_total', handler: `h${i}`},
    samples: Array.from({length: 240}, (_, j) => ({t: 1_700_000_000_000 + j * 60_000, v: j * (i + 1)})),
  }));
  const {ulid} = writeBlock(dir, series, {fsync: false});
  return {dir, ulid};
}

async function capture(argv: string[]): Promise<{code: number; out: string; err: string}> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await run(argv, {out: (l) => out.push(l), err: (l) => err.push(l)});
  return {code, out: out.join('\n'), err: err.join('\n')};
}

void test('inspect lists and verifies the blocks of a data dir and of a .tar.gz', async () => {
  const {dir, ulid} = dataDir();
  try {
    const r = await capture(['inspect', dir]);
    assert.equal(r.code, 0, r.out + r.err);
    assert.match(r.out, new RegExp(`${ulid}  2023-11-14T22:13:20.000Z .. 2023-11-15T02:12:20.001Z  level 1  5 series  1200 samples`));
    assert.match(r.out, /OK$/);
    const archive = path.join(dir, 'dump.tar.gz');
    await tar.c({gzip: true, file: archive, cwd: dir, portable: true}, [ulid]);
    const fromArchive = await capture(['inspect', archive, '--json']);
    assert.equal(fromArchive.code, 0, fromArchive.err);
    const report = JSON.parse(fromArchive.out) as {blocks: Array<{ulid: string; samples: number}>; ok: boolean};
    assert.deepEqual(report.blocks.map((b) => [b.ulid, b.samples]), [[ulid, 1200]]);
  } finally {
    fs.rmSync(dir, {recursive: true, force: true});
  }
});

void test('inspect mentions a Prometheus WAL (the Go plugin\'s head) next to the blocks, and leaves it alone', async () => {
  const {dir} = dataDir();
  try {
    fs.mkdirSync(path.join(dir, 'wal'));
    const t0 = Date.UTC(2026, 10, 1);
    const wal = encodeSegment([
      {series: [{ref: 1, labels: {__name__: 'go_era'}}, {ref: 2, labels: {__name__: 'go_era2'}}]},
      {samples: [{ref: 1, t: t0, v: 1}, {ref: 2, t: t0 + 60_000, v: 2}]},
    ]);
    fs.writeFileSync(path.join(dir, 'wal', '00000000'), wal);
    const r = await capture(['inspect', dir]);
    assert.equal(r.code, 0, r.out + r.err);
    assert.match(r.out, /note: wal: a Prometheus WAL \(the Go plugin's newest samples, in no block\): 2 series, 2 samples from 2026-11-01T00:00:00.000Z to 2026-11-01T00:01:00.000Z/);
    assert.deepEqual(fs.readFileSync(path.join(dir, 'wal', '00000000')), wal);
    assert.deepEqual(fs.readdirSync(path.join(dir, 'wal')), ['00000000']);
  } finally {
    fs.rmSync(dir, {recursive: true, force: true});
  }
});

void test('inspect exits 1 on a corrupt block and names the file and offset', async () => {
  const {dir, ulid} = dataDir();
  try {
    const chunk = path.join(dir, ulid, 'chunks', '000001');
    const bytes = fs.readFileSync(chunk);
    bytes[40] ^= 0xff;
    fs.writeFileSync(chunk, bytes);
    fs.mkdirSync(path.join(dir, `${ulid.slice(0, 25)}Z.tmp-for-creation`));
    const r = await capture(['inspect', dir]);
    assert.equal(r.code, 1);
    assert.match(r.out, /CORRUPT/);
    assert.match(r.out, /chunks\/000001 @\d+: /);
    assert.match(r.out, /unfinished or deleted block directory/);
    assert.match(r.out, /PROBLEMS FOUND$/);
  } finally {
    fs.rmSync(dir, {recursive: true, force: true});
  }
});

void test('inspect refuses links in archives and reports bad arguments', async () => {
  const {dir, ulid} = dataDir();
  try {
    fs.symlinkSync('/etc/passwd', path.join(dir, ulid, 'evil'));
    const archive = path.join(dir, 'dump.tar.gz');
    await tar.c({gzip: true, file: archive, cwd: dir, portable: true}, [ulid]);
    const r = await capture(['inspect', archive]);
    assert.match(r.out, /evil: not a regular file or directory, not extracted/);
    assert.equal((await capture(['inspect'])).code, 2);
    assert.equal((await capture(['frobnicate'])).code, 2);
    const missing = await capture(['inspect', path.join(dir, 'nope')]);
    assert.equal(missing.code, 1);
    assert.match(missing.err, /ENOENT|no such file/);
    fs.writeFileSync(path.join(dir, 'junk.tar.gz'), 'not an archive');
    const junk = await capture(['inspect', path.join(dir, 'junk.tar.gz')]);
    assert.equal(junk.code, 1);
  } finally {
    fs.rmSync(dir, {recursive: true, force: true});
  }
});

void test('npx mm-metrics runs the CLI from the repository root', () => {
  const {dir} = dataDir();
  try {
    const r = spawnSync('npx', ['--no-install', 'mm-metrics', 'inspect', dir], {cwd: repo, encoding: 'utf8'});
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /OK/);
  } finally {
    fs.rmSync(dir, {recursive: true, force: true});
  }
});
