// Connected transport pairs for tests: one body runs over each (hashicorp/yamux's
// testConnTypes idea). Every pair comes with a cleanup.

import {once} from 'node:events';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import {duplexPair, type Duplex} from 'node:stream';

export interface ConnPair {
  /** Client-side end. */
  a: Duplex;
  /** Server-side end. */
  b: Duplex;
  cleanup: () => Promise<void>;
}

export type PairKind = 'unix' | 'tcp' | 'memory';
export const PAIR_KINDS: readonly PairKind[] = ['unix', 'tcp', 'memory'];

async function socketPair(listenArg: string | {host: string; port: number}, cleanupPath?: string): Promise<ConnPair> {
  const server = net.createServer();
  server.listen(listenArg);
  await once(server, 'listening');
  const address = server.address();
  const connection = once(server, 'connection') as Promise<[net.Socket]>;
  const a =
    typeof address === 'string' ? net.connect(address) : net.connect((address as net.AddressInfo).port, '127.0.0.1');
  await once(a, 'connect');
  const [b] = await connection;
  return {
    a,
    b,
    cleanup: async () => {
      a.destroy();
      b.destroy();
      server.close();
      if (cleanupPath !== undefined) fs.rmSync(path.dirname(cleanupPath), {recursive: true, force: true});
    },
  };
}

export async function makePair(kind: PairKind): Promise<ConnPair> {
  switch (kind) {
    case 'unix': {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'yamux-test-'));
      const sock = path.join(dir, 's.sock');
      return socketPair(sock, sock);
    }
    case 'tcp':
      return socketPair({host: '127.0.0.1', port: 0});
    case 'memory': {
      const [a, b] = duplexPair();
      return {
        a,
        b,
        cleanup: async () => {
          a.destroy();
          b.destroy();
        },
      };
    }
  }
}

/** A unix socket listener in a fresh temp dir, for tests where another process dials. */
export async function listenUnix(): Promise<{path: string; server: net.Server; close: () => void}> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'yamux-interop-'));
  const sockPath = path.join(dir, 's.sock');
  const server = net.createServer();
  server.listen(sockPath);
  await once(server, 'listening');
  return {
    path: sockPath,
    server,
    close: () => {
      server.close();
      fs.rmSync(dir, {recursive: true, force: true});
    },
  };
}
