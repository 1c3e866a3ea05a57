import assert from 'node:assert/strict';
import http from 'node:http';
import type {AddressInfo} from 'node:net';
import {after, before, describe, it} from 'node:test';
import zlib from 'node:zlib';
import {BodySizeLimitError, HTTPStatusError, parse, readBody, SCRAPE_ACCEPT_HEADER} from './mod.ts';

const BOMB = zlib.gzipSync(Buffer.alloc(64 << 20));
const BODY = 'a{b="c"} 1\n'.repeat(1000);
let server: http.Server;
let base = '';
let lastAccept = '';

before(async () => {
  server = http.createServer((req, res) => {
    lastAccept = String(req.headers.accept);
    const gz = req.url!.startsWith('/gzip');
    if (req.url === '/404') {
      res.writeHead(404).end('nope');
      return;
    }
    if (req.url === '/bomb') {
      // 64 MiB of zeros, ~64 KiB compressed: must stop at the limit.
      res.writeHead(200, {'Content-Encoding': 'gzip', 'Content-Type': 'text/plain'});
      res.end(BOMB);
      return;
    }
    res.writeHead(200, {'Content-Type': 'text/plain; version=0.0.4', ...(gz ? {'Content-Encoding': 'gzip'} : {})});
    res.end(gz ? zlib.gzipSync(BODY) : BODY);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => new Promise<void>((r) => server.close(() => r())));

describe('readBody', () => {
  it('reads plain and gzip bodies (fetch decompresses; Content-Type returned)', async () => {
    for (const p of ['/plain', '/gzip']) {
      const r = await readBody(await fetch(base + p, {headers: {Accept: SCRAPE_ACCEPT_HEADER, 'Accept-Encoding': 'gzip'}}), 1 << 20);
      assert.equal(r.body.toString(), BODY);
      assert.equal(r.contentType, 'text/plain; version=0.0.4');
      assert.equal(parse(r.body, r.contentType).samples.length, 1000);
    }
    assert.equal(lastAccept, SCRAPE_ACCEPT_HEADER);
  });

  it('inflates a raw gzip body (Response built by hand)', async () => {
    const res = new Response(zlib.gzipSync(BODY), {headers: {'Content-Encoding': 'gzip', 'Content-Type': 'text/plain'}});
    assert.equal((await readBody(res, 0)).body.toString(), BODY);
  });

  it('enforces the limit on the decompressed size: size >= limit fails, like Prometheus', async () => {
    const n = Buffer.byteLength(BODY);
    assert.equal((await readBody(await fetch(base + '/plain'), n + 1)).body.length, n);
    await assert.rejects(readBody(await fetch(base + '/plain'), n), BodySizeLimitError);
    await assert.rejects(readBody(await fetch(base + '/gzip'), n), /body size limit exceeded/);
    const raw = new Response(zlib.gzipSync(BODY), {headers: {'Content-Encoding': 'gzip'}});
    await assert.rejects(readBody(raw, 100), BodySizeLimitError);
  });

  it('stops a gzip bomb at the limit without buffering it', async () => {
    await assert.rejects(readBody(await fetch(base + '/bomb'), 1 << 20), BodySizeLimitError);
    const raw = new Response(BOMB, {headers: {'Content-Encoding': 'gzip'}});
    await assert.rejects(readBody(raw, 1 << 20), BodySizeLimitError);
  });

  it('non-200 is an error', async () => {
    await assert.rejects(readBody(await fetch(base + '/404'), 0), (e) => e instanceof HTTPStatusError && /HTTP status 404 Not Found/.test(e.message));
  });
});
