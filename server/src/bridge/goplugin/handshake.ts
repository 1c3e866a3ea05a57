// The go-plugin handshake: check the magic cookie, listen on a unix socket in a
// fresh private directory, and print the one line the host waits for (3 s limit).
// Spec: mattermost-plugin-protocol.md §1.2–§1.3.

import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export interface HandshakeConfig {
  magicCookieKey: string;
  magicCookieValue: string;
  /** The application protocol version this plugin speaks (Mattermost: 1). */
  appProtocolVersion: number;
}

export const mattermostHandshake: HandshakeConfig = {
  magicCookieKey: 'MATTERMOST_PLUGIN',
  magicCookieValue: 'Securely message teams, anywhere.',
  appProtocolVersion: 1,
};

export class NotLaunchedAsPluginError extends Error {
  override name = 'NotLaunchedAsPluginError';
}

/** go-plugin's wording, so an admin who runs the binary by hand sees the familiar text. */
export const notAPluginMessage =
  'This binary is a plugin. These are not meant to be executed directly.\n' +
  'Please execute the program that consumes these plugins, which will\n' +
  'load any plugins automatically\n';

export function checkCookie(config: HandshakeConfig, env: NodeJS.ProcessEnv = process.env): void {
  if (env[config.magicCookieKey] !== config.magicCookieValue) throw new NotLaunchedAsPluginError(notAPluginMessage);
}

/** Picks the app protocol version: ours, if the host lists it (hosts that list none get ours too). */
export function negotiateVersion(config: HandshakeConfig, env: NodeJS.ProcessEnv = process.env): number {
  const offered = (env.PLUGIN_PROTOCOL_VERSIONS ?? '')
    .split(',')
    .map((v) => Number.parseInt(v.trim(), 10))
    .filter((v) => Number.isFinite(v));
  if (offered.length > 0 && !offered.includes(config.appProtocolVersion)) {
    throw new NotLaunchedAsPluginError(
      `host offers plugin protocol versions ${offered.join(',')}, this plugin speaks ${config.appProtocolVersion}`,
    );
  }
  return config.appProtocolVersion;
}

export interface Listening {
  server: net.Server;
  socketPath: string;
  line: string;
  /** Removes the socket and its private directory. */
  cleanup(): void;
}

/** Binds the unix socket and returns the handshake line to print. */
export async function listen(config: HandshakeConfig, env: NodeJS.ProcessEnv = process.env): Promise<Listening> {
  checkCookie(config, env);
  const version = negotiateVersion(config, env);
  const base = env.PLUGIN_UNIX_SOCKET_DIR || os.tmpdir();
  const dir = fs.mkdtempSync(path.join(base, 'plugin'));
  const socketPath = path.join(dir, 'rpc.sock');
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const group = env.PLUGIN_UNIX_SOCKET_GROUP;
  if (group && /^\d+$/.test(group)) fs.chownSync(socketPath, -1, Number(group));
  const cleanup = (): void => {
    try {
      server.close();
    } catch {
      // already closed
    }
    fs.rmSync(dir, {recursive: true, force: true});
  };
  return {server, socketPath, line: `1|${version}|unix|${socketPath}|netrpc|\n`, cleanup};
}

/** Writes the handshake line straight to fd 1, synchronously, so it is flushed before anything else happens. */
export function printHandshake(line: string): void {
  fs.writeSync(1, line);
}
