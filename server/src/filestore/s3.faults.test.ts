// Fault injection for the S3 backend: a proxy in front of s3rver answers errors, stalls, or
// drops connections mid-upload. Writes either succeed after the SDK's retries or fail with a
// clear FileStoreError in bounded time, no partial object ever becomes visible, failed
// multipart uploads are aborted, and the log says what happened.
// Run: node --import tsx --test server/src/filestore/s3.faults.test.ts

import assert from 'node:assert/strict';
import {buffer} from 'node:stream/consumers';
import {after, before, beforeEach, describe, it} from 'node:test';
import {FileStoreError} from './backend.ts';
import {S3Backend} from './s3.ts';
import {generatedStream, sha256} from './testing/data.ts';
import {type FaultProxy, type S3rverHandle, startFaultProxy, startS3rver, TEST_ACCESS_KEY, TEST_BUCKET, TEST_SECRET_KEY} from './testing/s3.ts';

const MiB = 1024 * 1024;

describe('S3 backend under faults', () => {
  let srv: S3rverHandle;
  let proxy: FaultProxy;
  let logs: string[];
  const backends: S3Backend[] = [];

  const backend = (timeoutMs: number, maxAttempts = 3) => {
    const b = new S3Backend(
      {bucket: TEST_BUCKET, endpoint: proxy.endpoint, accessKeyId: TEST_ACCESS_KEY, secretAccessKey: TEST_SECRET_KEY, requestTimeoutMs: timeoutMs},
      {maxAttempts, queueSize: 2, logger: {warn: (m, f) => logs.push(`WARN ${m} ${JSON.stringify(f)}`), info: (m, f) => logs.push(`INFO ${m} ${JSON.stringify(f)}`)}},
    );
    backends.push(b);
    return b;
  };
  const isPart = (m: string, u: string) => m === 'PUT' && /[?&]partNumber=/.test(u);

  before(async () => {
    srv = await startS3rver();
    proxy = await startFaultProxy(srv.endpoint);
  });
  after(async () => {
    for (const b of backends) b.destroy();
    await proxy.close();
    await srv.close();
  });
  beforeEach(() => {
    proxy.clear();
    proxy.requests.length = 0;
    logs = [];
  });

  it('503 twice: the write succeeds through the SDK retries, and each failed attempt is logged', async () => {
    const b = backend(5000);
    proxy.inject({kind: 'status', status: 503, count: 2});
    const data = Buffer.from('retried');
    assert.equal(await b.write('f/retry-503', data), data.length);
    assert.deepEqual(await buffer(await b.read('f/retry-503')), data);
    assert.equal(proxy.requests.filter((r) => r.outcome === 'status').length, 2);
    const failed = logs.filter((l) => l.includes('attempt failed'));
    assert.equal(failed.length, 2, logs.join('\n'));
    assert.match(failed[0], /PutObjectCommand.*attempt=1; max=3.*ServiceUnavailable.*HTTP 503/);
  });

  it('500 on every attempt: a clear FileStoreError, nothing visible, secret never logged', async () => {
    const b = backend(5000);
    proxy.inject({kind: 'status', status: 500, count: 100});
    const err = await b.write('f/always-500', Buffer.from('x')).catch((e: unknown) => e);
    assert.ok(err instanceof FileStoreError);
    assert.equal(err.op, 'write');
    assert.equal(err.path, 'f/always-500');
    assert.match(err.message, /InternalError.*HTTP 500, 3 attempt\(s\)/);
    proxy.clear();
    assert.equal(await b.stat('f/always-500'), null);
    assert.equal(logs.filter((l) => l.includes('attempt failed')).length, 3);
    assert.ok(!logs.join('\n').includes(TEST_SECRET_KEY) && !err.message.includes(TEST_SECRET_KEY));
  });

  it('a part failing on every attempt: multipart upload aborted, no object, early stop', async () => {
    const b = backend(5000);
    proxy.inject({kind: 'status', status: 503, count: 100, match: (m, u) => isPart(m, u) && /partNumber=2(&|$)/.test(u)});
    const g = generatedStream(40 * MiB, 2);
    const err = await b.write('f/multipart-fail', g.stream).catch((e: unknown) => e);
    assert.ok(err instanceof FileStoreError, String(err));
    assert.match(err.message, /ServiceUnavailable|HTTP 503/);
    proxy.clear();
    assert.equal(proxy.requests.filter((r) => r.outcome === 'abort-upload').length, 1, 'AbortMultipartUpload sent');
    assert.ok(logs.some((l) => l.includes('aborted the failed multipart upload')));
    assert.equal(await b.stat('f/multipart-fail'), null);
    assert.deepEqual(await b.list('f/multipart-fail'), []);
    // The failure stopped the source: far fewer than the 8 parts of 40 MiB were sent.
    const parts = proxy.requests.filter((r) => isPart(r.method, r.url) && r.outcome === 'forwarded').length;
    assert.ok(parts <= 5, `${parts} parts forwarded after the failure`);
  });

  it('a stalled request: retried after the request timeout, then succeeds', async () => {
    const b = backend(800);
    proxy.inject({kind: 'stall', count: 1});
    const t0 = Date.now();
    await b.write('f/stall-once', Buffer.from('late'));
    const ms = Date.now() - t0;
    assert.ok(ms >= 700 && ms < 5000, `${ms} ms`);
    assert.deepEqual(await buffer(await b.read('f/stall-once')), Buffer.from('late'));
    assert.ok(logs.some((l) => /attempt failed.*TimeoutError: no response within 800 ms/.test(l)), logs.join('\n'));
  });

  it('a server that never answers: FileStoreError within attempts × timeout', async () => {
    const b = backend(500, 2);
    proxy.inject({kind: 'stall', count: 100});
    const t0 = Date.now();
    const err = await b.write('f/stall-always', Buffer.from('never')).catch((e: unknown) => e);
    const ms = Date.now() - t0;
    assert.ok(err instanceof FileStoreError);
    assert.match(err.message, /TimeoutError: no response within 500 ms/);
    assert.ok(ms < 2 * 500 + 2000, `${ms} ms`);
    const statErr = await b.stat('f/stall-always').catch((e: unknown) => e);
    assert.ok(statErr instanceof FileStoreError && /TimeoutError/.test(statErr.message));
    proxy.clear();
    assert.equal(await b.stat('f/stall-always'), null);
  });

  it('connection dropped mid-upload once: the part is retried and the object is intact', async () => {
    const b = backend(5000);
    proxy.inject({kind: 'drop', count: 1, afterBytes: 1 * MiB, match: isPart});
    const g = generatedStream(12 * MiB, 5);
    assert.equal(await b.write('f/drop-once', g.stream), 12 * MiB);
    assert.equal(proxy.requests.filter((r) => r.outcome === 'drop').length, 1);
    assert.equal(sha256(await buffer(await b.read('f/drop-once'))), g.digest());
    assert.ok(logs.some((l) => /attempt failed.*UploadPartCommand/.test(l)), logs.join('\n'));
  });

  it('connection dropped on every attempt: FileStoreError, upload aborted, nothing visible', async () => {
    const b = backend(5000);
    proxy.inject({kind: 'drop', count: 100, afterBytes: 256 * 1024, match: isPart});
    const g = generatedStream(12 * MiB, 6);
    const err = await b.write('f/drop-always', g.stream).catch((e: unknown) => e);
    assert.ok(err instanceof FileStoreError, String(err));
    assert.match(err.message, /write f\/drop-always: .*(ECONNRESET|EPIPE|socket hang up|aborted)/i);
    proxy.clear();
    assert.ok(proxy.requests.some((r) => r.outcome === 'abort-upload'));
    assert.equal(await b.stat('f/drop-always'), null);
    assert.deepEqual((await b.list('f')).map((i) => i.path).sort(), ['f/drop-once', 'f/retry-503', 'f/stall-once']);
  });

  it('connection dropped during a single PutObject, every attempt: FileStoreError, nothing visible', async () => {
    const b = backend(5000, 2);
    proxy.inject({kind: 'drop', count: 100, afterBytes: 64 * 1024, match: (m) => m === 'PUT'});
    const err = await b.write('f/put-drop', Buffer.alloc(1 * MiB, 7)).catch((e: unknown) => e);
    assert.ok(err instanceof FileStoreError, String(err));
    proxy.clear();
    assert.equal(await b.stat('f/put-drop'), null);
  });
});
