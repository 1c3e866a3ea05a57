// Echo throughput of our yamux (server/src/bridge/yamux) over a unix socket, one
// stream: payload bytes divided by the time for all of them to come back (MB = 10^6
// bytes). Also sequential 100-byte round trips per second (RPC-like latency).
//
//   node --import tsx bench/yamux-throughput.ts [--mib 256] [--runs 3]
//
// Scenarios: TS↔TS in one process, TS↔TS in two processes, and when the Go interop
// binary can be built (Debian golang-go + golang-github-hashicorp-yamux-dev present;
// nothing is installed here): Go client ↔ TS server (the Mattermost direction),
// TS client ↔ Go server, and a Go↔Go baseline. Not a test; prints figures.

import {spawn} from 'node:child_process';
import {once} from 'node:events';
import net from 'node:net';
import path from 'node:path';
import {Session} from '../server/src/bridge/yamux/index.ts';
import {ensureGoInterop} from '../server/src/bridge/yamux/testing/go-interop.ts';
import {echoServer} from '../server/src/bridge/yamux/testing/helpers.ts';
import {listenUnix} from '../server/src/bridge/yamux/testing/pairs.ts';
import {arg} from './cli.ts';

const argv = process.argv.slice(2);
const MIB = Number(arg('mib', '256'));
const RUNS = Number(arg('runs', '3'));
const BYTES = MIB * 1024 * 1024;
const SELF = typeof __filename === 'string' ? __filename : path.resolve('bench/yamux-throughput.ts');

/** Echoes BYTES through one new stream; returns MB/s (10^6 bytes per second). */
async function echoOnce(session: Session): Promise<number> {
  const stream = session.open();
  const chunk = Buffer.alloc(64 * 1024, 0xa5);
  let received = 0;
  const started = performance.now();
  const done = new Promise<void>((resolve, reject) => {
    stream.on('data', (d: Buffer) => (received += d.length));
    stream.on('end', resolve);
    stream.on('error', reject);
  });
  for (let sent = 0; sent < BYTES; sent += chunk.length) {
    if (!stream.write(chunk)) await once(stream, 'drain');
  }
  stream.end();
  await done;
  if (received !== BYTES) throw new Error(`echoed ${received} of ${BYTES} bytes`);
  return BYTES / ((performance.now() - started) / 1000) / 1e6;
}

/** Sequential 100-byte request/echo round trips on one stream; returns round trips per second. */
async function pingPongOnce(session: Session, count = 20_000): Promise<number> {
  const stream = session.open();
  const message = Buffer.alloc(100, 0x5a);
  let pending = 0;
  let wake: (() => void) | null = null;
  stream.on('data', (d: Buffer) => {
    pending -= d.length;
    if (pending <= 0 && wake) wake();
  });
  const started = performance.now();
  for (let i = 0; i < count; i++) {
    pending += message.length;
    const echoed = new Promise<void>((resolve) => (wake = resolve));
    stream.write(message);
    await echoed;
  }
  const perSecond = count / ((performance.now() - started) / 1000);
  stream.end();
  stream.resume();
  return perSecond;
}

async function runs(label: string, once_: () => Promise<number>, unit = 'MB/s'): Promise<void> {
  const figures: number[] = [];
  for (let i = 0; i < RUNS; i++) figures.push(await once_());
  const sorted = [...figures].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)];
  console.log(
    `${label.padEnd(36)} median ${median.toFixed(0).padStart(6)} ${unit}   runs: ${figures.map((f) => f.toFixed(0)).join(', ')}`,
  );
}

async function connectPair(listener: net.Server, sockPath: string): Promise<[net.Socket, net.Socket]> {
  const accepted = once(listener, 'connection') as Promise<[net.Socket]>;
  const a = net.connect(sockPath);
  await once(a, 'connect');
  const [b] = await accepted;
  return [a, b];
}

async function tsInProcess(): Promise<void> {
  const l = await listenUnix();
  const [a, b] = await connectPair(l.server, l.path);
  const client = new Session(a, 'client');
  const server = new Session(b, 'server');
  echoServer(server);
  await echoOnce(client); // warm-up
  await runs('TS client ↔ TS server, 1 process', () => echoOnce(client));
  client.close();
  server.close();
  l.close();
}

async function tsTwoProcesses(): Promise<void> {
  const l = await listenUnix();
  const accepted = once(l.server, 'connection') as Promise<[net.Socket]>;
  const child = spawn(process.execPath, ['--import', 'tsx', SELF, '--echo-server', l.path], {stdio: 'inherit'});
  const [sock] = await accepted;
  const client = new Session(sock, 'client');
  await echoOnce(client);
  await runs('TS client ↔ TS server, 2 processes', () => echoOnce(client));
  await runs('  100 B round trips, 2 processes', () => pingPongOnce(client), 'round trips/s');
  client.close();
  await once(child, 'exit');
  l.close();
}

/** Child mode: dial, serve yamux, echo every stream, exit when the session ends. */
async function echoServerChild(sockPath: string): Promise<void> {
  const sock = net.connect(sockPath);
  await once(sock, 'connect');
  const session = new Session(sock, 'server');
  echoServer(session);
  await once(session, 'close');
}

function goRun(binary: string, args: string[]): {out: () => string; exit: Promise<number | null>} {
  const child = spawn(binary, args, {stdio: ['ignore', 'pipe', 'inherit']});
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  return {out: () => out, exit: new Promise((resolve) => child.on('close', resolve))};
}

function goFigure(out: string): number {
  const m = /^BENCH (\d+) ([\d.]+)$/m.exec(out);
  if (!m) throw new Error(`no BENCH line in Go output: ${out}`);
  return Number(m[1]) / Number(m[2]) / 1e6;
}

async function goClientTsServer(binary: string): Promise<void> {
  await runs('Go client ↔ TS server', async () => {
    const l = await listenUnix();
    const accepted = once(l.server, 'connection') as Promise<[net.Socket]>;
    const go = goRun(binary, ['-role', 'client', '-scenario', 'bench', '-sock', l.path, '-bytes', String(BYTES)]);
    const [sock] = await accepted;
    const session = new Session(sock, 'server');
    echoServer(session);
    await go.exit;
    session.close();
    l.close();
    return goFigure(go.out());
  });
}

async function tsClientGoServer(binary: string): Promise<void> {
  await runs('TS client ↔ Go server', async () => {
    const l = await listenUnix();
    const accepted = once(l.server, 'connection') as Promise<[net.Socket]>;
    const go = goRun(binary, ['-role', 'server', '-scenario', 'bench', '-sock', l.path]);
    const [sock] = await accepted;
    const session = new Session(sock, 'client');
    const figure = await echoOnce(session);
    session.close();
    await go.exit;
    l.close();
    return figure;
  });
}

async function goGo(binary: string): Promise<void> {
  await runs('Go client ↔ Go server (baseline)', async () => {
    const l = await listenUnix();
    const sockPath = path.join(path.dirname(l.path), 'go.sock');
    const server = goRun(binary, ['-listen', '-role', 'server', '-scenario', 'bench', '-sock', sockPath]);
    while (!server.out().includes('LISTENING')) await new Promise((r) => setTimeout(r, 10));
    const client = goRun(binary, ['-role', 'client', '-scenario', 'bench', '-sock', sockPath, '-bytes', String(BYTES)]);
    await client.exit;
    await server.exit;
    l.close();
    return goFigure(client.out());
  });
}

async function main(): Promise<void> {
  const echoIndex = argv.indexOf('--echo-server');
  if (echoIndex >= 0) {
    await echoServerChild(argv[echoIndex + 1]);
    return;
  }
  console.log(`yamux echo throughput: ${MIB} MiB through one stream, ${RUNS} runs, Node ${process.version}`);
  await tsInProcess();
  await tsTwoProcesses();
  const go = ensureGoInterop({install: false});
  if (go.binary === null) {
    console.log(`Go scenarios skipped: ${go.note}`);
    return;
  }
  await goClientTsServer(go.binary);
  await tsClientGoServer(go.binary);
  await goGo(go.binary);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
