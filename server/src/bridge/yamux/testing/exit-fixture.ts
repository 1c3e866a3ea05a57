// Child process for the "closed session lets the process exit" test: builds two
// sessions with Go's default (long) timers, leaves a stream unacknowledged, a ping
// in flight and an accept() pending, closes everything, and must then exit by itself.

import {once} from 'node:events';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import {Session} from '../session.ts';

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'yamux-exit-'));
  const server = net.createServer();
  server.listen(path.join(dir, 's.sock'));
  await once(server, 'listening');
  const accepted = once(server, 'connection') as Promise<[net.Socket]>;
  const a = net.connect(path.join(dir, 's.sock'));
  const [b] = await accepted;
  const client = new Session(a, 'client');
  const peer = new Session(b, 'server');
  const stream = client.open();
  stream.on('error', () => {});
  stream.write('hello');
  const ping = client.ping().catch(() => 'rejected');
  const accept = peer.accept().catch(() => 'rejected');
  await new Promise((r) => setTimeout(r, 50));
  client.close();
  await once(peer, 'close');
  await Promise.all([ping, accept]);
  server.close();
  fs.rmSync(dir, {recursive: true, force: true});
  process.stdout.write('closed\n');
}

void main();
