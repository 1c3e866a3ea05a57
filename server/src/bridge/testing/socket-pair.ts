// Test helper: two ends of a real unix-socket connection.
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

/** Returns [client end, server end, close-everything]. */
export async function socketPair(): Promise<[net.Socket, net.Socket, () => void]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pair'));
  const sock = path.join(dir, 's');
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(sock, r));
  const accepted = new Promise<net.Socket>((r) => server.once('connection', r));
  const client = net.connect(sock);
  const other = await accepted;
  return [
    client,
    other,
    () => {
      client.destroy();
      other.destroy();
      server.close();
      fs.rmSync(dir, {recursive: true, force: true});
    },
  ];
}
