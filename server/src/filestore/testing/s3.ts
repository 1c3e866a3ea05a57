// Test helpers: s3rver started in-process on 127.0.0.1, and an HTTP proxy in front of it that
// injects faults (error statuses, stalls, connections dropped mid-upload).

import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import http from 'node:http';
import type {AddressInfo, Socket} from 'node:net';
import os from 'node:os';
import path from 'node:path';
import S3rver from 's3rver';
import {CreateBucketCommand, S3Client} from '@aws-sdk/client-s3';

export const TEST_BUCKET = 'mm-metrics-test';
/** s3rver checks the access key id (its built-in account) but not the signature. */
export const TEST_ACCESS_KEY = 'S3RVER';
export const TEST_SECRET_KEY = 'S3RVER-secret-never-logged';

export interface S3rverHandle {
  port: number;
  /** host:port, as Mattermost's AmazonS3Endpoint. */
  endpoint: string;
  directory: string;
  close(): Promise<void>;
}

/**
 * s3rver encrypts ListObjectsV2 continuation tokens with DES, which OpenSSL 3 (Node >= 17)
 * no longer offers: every listing of more than 1000 keys fails with HTTP 500. The token is
 * opaque to clients, so for DES only (nothing else uses it in this process) the cipher is
 * replaced by the identity, which s3rver decodes the same way.
 */
function patchDesForS3rver(): void {
  const c = crypto as unknown as Record<string, unknown> & {__s3rverPatched?: boolean};
  if (c.__s3rverPatched) return;
  try {
    crypto.createCipheriv('des', Buffer.alloc(8), Buffer.alloc(8));
    return; // DES available
  } catch {
    // patch below
  }
  const identity = {update: (d: string | Buffer, enc?: BufferEncoding) => (typeof d === 'string' ? Buffer.from(d, enc) : d), final: () => Buffer.alloc(0)};
  const orig = {cipher: crypto.createCipheriv, decipher: crypto.createDecipheriv};
  c.createCipheriv = (alg: string, ...rest: unknown[]) => (alg === 'des' ? identity : (orig.cipher as (...a: unknown[]) => unknown)(alg, ...rest));
  c.createDecipheriv = (alg: string, ...rest: unknown[]) => (alg === 'des' ? identity : (orig.decipher as (...a: unknown[]) => unknown)(alg, ...rest));
  c.__s3rverPatched = true;
}

export async function startS3rver(bucket = TEST_BUCKET): Promise<S3rverHandle> {
  patchDesForS3rver();
  const directory = await fs.mkdtemp(path.join(os.tmpdir(), 's3rver-'));
  const server = new S3rver({address: '127.0.0.1', port: 0, silent: true, directory});
  const {port} = await server.run();
  const client = new S3Client({
    region: 'us-east-1',
    endpoint: `http://127.0.0.1:${port}`,
    forcePathStyle: true,
    credentials: {accessKeyId: TEST_ACCESS_KEY, secretAccessKey: TEST_SECRET_KEY},
  });
  await client.send(new CreateBucketCommand({Bucket: bucket}));
  client.destroy();
  return {
    port,
    endpoint: `127.0.0.1:${port}`,
    directory,
    async close() {
      server.httpServer?.closeAllConnections();
      await server.close();
      await fs.rm(directory, {recursive: true, force: true});
    },
  };
}

export interface ProxiedRequest {
  method: string;
  url: string;
  /** What the proxy did: forwarded, or which fault. */
  outcome: 'forwarded' | 'status' | 'stall' | 'drop' | 'abort-upload';
}

/** A fault rule: applies to the next `count` requests matching `match` (default: every request). */
export interface FaultRule {
  kind: 'status' | 'stall' | 'drop';
  count: number;
  match?: (method: string, url: string) => boolean;
  /** kind 'status': the HTTP status (S3-style XML error body). */
  status?: number;
  /** kind 'drop': accept this many request-body bytes, then destroy the client connection. */
  afterBytes?: number;
}

export interface FaultProxy {
  endpoint: string;
  requests: ProxiedRequest[];
  /** Adds a rule; rules are tried in order. */
  inject(rule: FaultRule): void;
  clear(): void;
  close(): Promise<void>;
}

/**
 * HTTP proxy in front of `target` (host:port). It also answers AbortMultipartUpload
 * (DELETE ?uploadId=) itself with 204, since s3rver does not implement it; the request is
 * recorded so that tests can assert that the abort was sent.
 */
export async function startFaultProxy(target: string): Promise<FaultProxy> {
  const [thost, tport] = target.split(':');
  const agent = new http.Agent({keepAlive: true});
  const rules: FaultRule[] = [];
  const requests: ProxiedRequest[] = [];
  const sockets = new Set<Socket>();

  const take = (method: string, url: string): FaultRule | undefined => {
    const i = rules.findIndex((r) => r.count > 0 && (!r.match || r.match(method, url)));
    if (i < 0) return undefined;
    const r = rules[i];
    r.count--;
    return r;
  };

  const server = http.createServer((req, res) => {
    const method = req.method ?? 'GET';
    const url = req.url ?? '/';
    const record = (outcome: ProxiedRequest['outcome']) => requests.push({method, url, outcome});
    if (method === 'DELETE' && /[?&]uploadId=/.test(url)) {
      record('abort-upload');
      req.resume();
      req.on('end', () => res.writeHead(204).end());
      return;
    }
    const rule = take(method, url);
    if (rule?.kind === 'status') {
      record('status');
      req.resume();
      req.on('end', () => {
        const status = rule.status ?? 503;
        const code = status === 503 ? 'ServiceUnavailable' : status === 500 ? 'InternalError' : 'InjectedError';
        res.writeHead(status, {'content-type': 'application/xml'});
        res.end(`<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>injected fault ${status}</Message></Error>`);
      });
      return;
    }
    if (rule?.kind === 'stall') {
      record('stall');
      req.resume(); // swallow the body, never answer
      return;
    }
    if (rule?.kind === 'drop') {
      // The client's connection dies after `afterBytes` of its body. Nothing is forwarded:
      // s3rver would store the truncated body of an aborted PUT, which AWS S3 never does
      // (Content-Length mismatch), so forwarding would test s3rver, not us.
      record('drop');
      let seen = 0;
      const limit = rule.afterBytes ?? 0;
      const drop = () => req.socket.destroy();
      if (limit === 0) return drop();
      req.on('data', (chunk: Buffer) => {
        seen += chunk.length;
        if (seen >= limit) drop();
      });
      return;
    }
    record('forwarded');
    const up = http.request({host: thost, port: Number(tport), method, path: url, headers: req.headers, agent}, (ur) => {
      res.writeHead(ur.statusCode ?? 502, ur.headers);
      ur.pipe(res);
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const {port} = server.address() as AddressInfo;
  return {
    endpoint: `127.0.0.1:${port}`,
    requests,
    inject: (rule) => void rules.push({...rule}),
    clear: () => void rules.splice(0),
    async close() {
      for (const s of sockets) s.destroy();
      agent.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
