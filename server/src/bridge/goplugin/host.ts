// The host side of go-plugin's netrpc protocol, as Mattermost runs it: launch
// the executable, read the handshake line (3 s), dial, open control/stdout/
// stderr streams, dispense "hooks", and stop with Control.Quit then SIGKILL.
// Used by the dev host and by loopback tests; the Go harness stays the arbiter.

import {spawn, type ChildProcess} from 'node:child_process';
import net from 'node:net';
import type {Duplex} from 'node:stream';
import readline from 'node:readline';

import {RpcClient} from '../netrpc/index.ts';
import {Session} from '../yamux/index.ts';
import {MuxBroker} from './broker.ts';
import {mattermostHandshake, type HandshakeConfig} from './handshake.ts';

export interface LaunchOptions {
  executable: string;
  args?: string[];
  /** Added to this process's environment, like go-plugin does. */
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  handshake?: HandshakeConfig;
  startTimeoutMs?: number;
  /** Lines the plugin writes to its stderr (hclog JSON or plain). */
  onStderrLine?: (line: string) => void;
  /** Bytes on the plugin_stdout / plugin_stderr yamux streams. */
  onLogStream?: (source: 'plugin_stdout' | 'plugin_stderr', chunk: Buffer) => void;
  /** Called for every stdout line after the handshake (there should be none). */
  onStrayStdout?: (line: string) => void;
}

export class HandshakeError extends Error {
  override name = 'HandshakeError';
}

export class PluginHost {
  readonly broker: MuxBroker;
  private readonly control: RpcClient;
  readonly exited: Promise<{code: number | null; signal: NodeJS.Signals | null}>;

  private constructor(
    readonly child: ChildProcess,
    readonly session: Session,
    control: Duplex,
    readonly handshakeMs: number,
  ) {
    this.broker = new MuxBroker(session);
    this.control = new RpcClient(control);
    this.exited = new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) resolve({code: child.exitCode, signal: child.signalCode});
      else child.once('exit', (code, signal) => resolve({code, signal}));
    });
    void this.acceptLoop();
  }

  static async launch(opts: LaunchOptions): Promise<PluginHost> {
    const hs = opts.handshake ?? mattermostHandshake;
    const started = performance.now();
    const child = spawn(opts.executable, opts.args ?? [], {
      cwd: opts.cwd,
      env: {
        ...process.env,
        ...opts.env,
        [hs.magicCookieKey]: hs.magicCookieValue,
        PLUGIN_MIN_PORT: '10000',
        PLUGIN_MAX_PORT: '25000',
        PLUGIN_PROTOCOL_VERSIONS: String(hs.appProtocolVersion),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    readline.createInterface({input: child.stderr!}).on('line', (line) => opts.onStderrLine?.(line));
    const lines = readline.createInterface({input: child.stdout!});
    const line = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new HandshakeError('timeout while waiting for plugin to start'));
      }, opts.startTimeoutMs ?? 3_000);
      lines.once('line', (l) => {
        clearTimeout(timer);
        resolve(l);
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new HandshakeError(`plugin exited before the handshake (code ${code})`));
      });
      child.once('error', (err) => {
        clearTimeout(timer);
        reject(new HandshakeError(`cannot start plugin: ${err.message}`));
      });
    });
    const handshakeMs = performance.now() - started;
    lines.on('line', (l) => opts.onStrayStdout?.(l));
    const parts = line.split('|');
    if (parts.length < 5 || parts[0] !== '1' || parts[1] !== String(hs.appProtocolVersion) || parts[4] !== 'netrpc') {
      child.kill('SIGKILL');
      throw new HandshakeError(`unexpected handshake line: ${JSON.stringify(line)}`);
    }
    const conn =
      parts[2] === 'unix'
        ? net.connect(parts[3])
        : net.connect(Number(parts[3].split(':').pop()), parts[3].split(':').slice(0, -1).join(':'));
    await new Promise<void>((resolve, reject) => {
      conn.once('connect', resolve);
      conn.once('error', reject);
    });
    const session = new Session(conn, 'client');
    const control = session.open();
    const stdout = session.open();
    const stderr = session.open();
    stdout.on('data', (c: Buffer) => opts.onLogStream?.('plugin_stdout', c));
    stderr.on('data', (c: Buffer) => opts.onLogStream?.('plugin_stderr', c));
    // These streams end with the session; their errors carry nothing the session's do not.
    for (const s of [stdout, stderr]) s.on('error', () => {});
    return new PluginHost(child, session, control, handshakeMs);
  }

  /** Dispenser.Dispense(name) then dial the returned broker id: a net/rpc client for service "Plugin". */
  async dispense(name: string): Promise<RpcClient> {
    const id = Number(await this.control.call('Dispenser.Dispense', {type: 'string', value: name}));
    return new RpcClient(await this.broker.dial(id));
  }

  async ping(): Promise<void> {
    await this.control.call('Control.Ping', {type: 'bool', value: true});
  }

  /** go-plugin's Kill: Control.Quit, close the session, wait 2 s, then SIGKILL. Returns whether it exited by itself. */
  async kill(graceMs = 2_000): Promise<boolean> {
    try {
      await Promise.race([this.control.call('Control.Quit', {type: 'bool', value: true}), sleep(graceMs)]);
    } catch {
      // the plugin may already be gone
    }
    this.session.close();
    const exitedInTime = await Promise.race([this.exited.then(() => true), sleep(graceMs).then(() => false)]);
    if (!exitedInTime) {
      this.child.kill('SIGKILL');
      await this.exited;
    }
    return exitedInTime;
  }

  private async acceptLoop(): Promise<void> {
    for (;;) {
      try {
        void this.broker.handleInbound(await this.session.accept());
      } catch {
        return;
      }
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms).unref());
}
