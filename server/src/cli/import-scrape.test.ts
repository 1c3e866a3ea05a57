import assert from 'node:assert/strict';
import {spawnSync} from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type {AddressInfo} from 'node:net';
import os from 'node:os';
import path from 'node:path';
import {test} from 'node:test';
import {fileURLToPath} from 'node:url';

import {openBlock, verifyBlock} from '../tsdb/block/mod.ts';
import {DB} from '../tsdb/db.ts';
import {ensurePrometheus} from '../tsdb/testing/prometheus.ts';
import {run} from './main.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const smallOm = path.join(here, '../tsdb/testing/small.om');

async function capture(argv: string[]): Promise<{code: number; out: string; err: string}> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await run(argv, {out: (l) => out.push(l), err: (l) => err.push(l)});
  return {code, out: out.join('\n'), err: err.join('\n')};
}

/** Every sample of a data dir's blocks, as "labels t v" lines, sorted. */
function dump(dir: string): string[] {
  const lines: string[] = [];
  for (const e of fs.readdirSync(dir)) {
    if (!/^[0-9A-Z]{26}$/.test(e)) continue;
    const b = openBlock(path.join(dir, e));
    for (const s of b.series()) {
      const ls = s.labels.map((l) => `${l.name}=${l.value}`).join(',');
      for (const x of b.samples(s)) lines.push(`${ls} ${x.t} ${x.hi.toString(16)}:${x.lo.toString(16)}`);
    }
    b.close();
  }
  return lines.sort();
}

void test('import yields the same samples as promtool create-blocks-from openmetrics', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'import-'));
  try {
    const ours = path.join(dir, 'ours');
    const r = await capture(['import', smallOm, ours]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^imported (\d+) of \1 samples into \d+ new block\(s\)$/);
    for (const e of fs.readdirSync(ours).filter((n) => /^[0-9A-Z]{26}$/.test(n))) assert.deepEqual(verifyBlock(path.join(ours, e)), []);
    const bin = ensurePrometheus();
    if (!bin) {
      t.skip('promtool not installable here');
      return;
    }
    const theirs = path.join(dir, 'theirs');
    const p = spawnSync(bin.promtool, ['tsdb', 'create-blocks-from', 'openmetrics', smallOm, theirs], {encoding: 'utf8'});
    assert.equal(p.status, 0, p.stderr);
    assert.deepEqual(dump(ours), dump(theirs));
    // Importing the same file again: everything is older than the blocks now, so it is refused and counted.
    const again = await capture(['import', smallOm, ours]);
    assert.equal(again.code, 1);
    assert.match(again.out, /rejected: \d+ out_of_bounds/);
  } finally {
    fs.rmSync(dir, {recursive: true, force: true});
  }
});

void test('import of several hours cuts blocks and still matches promtool', async (t) => {
  const bin = ensurePrometheus();
  if (!bin) {
    t.skip('promtool not installable here');
    return;
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'import-big-'));
  try {
    const lines = ['# HELP mattermost_api_time API time.', '# TYPE mattermost_api_time gauge'];
    const start = 1_704_067_200;
    for (let i = 0; i < 40; i++) {
      for (let k = 0; k < 700; k++) lines.push(`mattermost_api_time{handler="h${i}",method="GET"} ${((i * 7 + k * 13) % 101) / 7} ${start + k * 30}`);
    }
    lines.push('# EOF');
    const file = path.join(dir, 'big.om');
    fs.writeFileSync(file, `${lines.join('\n')}\n`);
    const ours = path.join(dir, 'ours');
    const r = await capture(['import', file, ours]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^imported 28000 of 28000 samples/);
    const p = spawnSync(bin.promtool, ['tsdb', 'create-blocks-from', 'openmetrics', file, path.join(dir, 'theirs')], {encoding: 'utf8'});
    assert.equal(p.status, 0, p.stderr);
    assert.deepEqual(dump(ours), dump(path.join(dir, 'theirs')));
    const inspected = await capture(['inspect', ours]);
    assert.equal(inspected.code, 0, inspected.out);
  } finally {
    fs.rmSync(dir, {recursive: true, force: true});
  }
});

void test('import explains bad input', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'import-bad-'));
  try {
    const noTs = path.join(dir, 'no-ts.prom');
    fs.writeFileSync(noTs, 'up 1\n');
    assert.match((await capture(['import', noTs, path.join(dir, 'd')])).err, /needs a timestamp/);
    const garbage = path.join(dir, 'garbage.om');
    fs.writeFileSync(garbage, 'this is { not\n# EOF\n');
    const g = await capture(['import', garbage, path.join(dir, 'd')]);
    assert.equal(g.code, 1);
    assert.match(g.err, /garbage\.om: line 1/);
  } finally {
    fs.rmSync(dir, {recursive: true, force: true});
  }
});

void test('scrape collects a live endpoint into blocks and reports a dead one', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'scrape-cli-'));
  let n = 0;
  const server = http.createServer((_req, res) => {
    res.setHeader('Content-Type', 'text/plain; version=0.0.4');
    res.end(`# TYPE mattermost_http_requests_total counter\nmattermost_http_requests_total{handler="x"} ${++n}\n`);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  try {
    const data = path.join(dir, 'data');
    const r = await capture(['scrape', `http://127.0.0.1:${port}/metrics`, 'http://127.0.0.1:1/metrics', '--data-dir', data, '--interval', '200ms', '--timeout', '100ms', '--duration', '1500ms']);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /flushed into [1-9]\d* new block\(s\)/);
    assert.match(r.err, /target down: http:\/\/127\.0\.0\.1:1\/metrics: fetch failed/);
    const db = DB.open({dir: data, fsync: false});
    const q = db.querier();
    const reqs = [...q.select([{type: '=', name: '__name__', value: 'mattermost_http_requests_total'}], -Infinity, Infinity)];
    assert.equal(reqs.length, 1);
    assert.equal(reqs[0].labels.find((l) => l.name === 'instance')?.value, `127.0.0.1:${port}`);
    assert.ok([...reqs[0].samples].filter((s) => !s.stale).length >= 4);
    const ups = [...q.select([{type: '=', name: '__name__', value: 'up'}], -Infinity, Infinity)];
    assert.equal(ups.length, 2);
    await db.close();
    assert.equal((await capture(['scrape', 'ftp://x', '--data-dir', data])).code, 1);
    assert.equal((await capture(['scrape', 'http://x', '--data-dir', data, '--interval', 'soon'])).code, 1);
  } finally {
    server.close();
    fs.rmSync(dir, {recursive: true, force: true});
  }
});
