// The plugin side of go-plugin's netrpc protocol: handshake, one yamux session,
// the control stream (Dispense, Ping, Quit), the raw stdout/stderr streams, and
// the broker for every later stream. Spec: mattermost-plugin-protocol.md §1, §4.

import type net from 'node:net';
import type {Duplex} from 'node:stream';

import {emptyReply, RpcError, RpcServer, type RpcHandler} from '../netrpc/index.ts';
import {Session} from '../yamux/index.ts';
import {MuxBroker} from './broker.ts';
import {listen, printHandshake, type HandshakeConfig} from './handshake.ts';

/** Builds the net/rpc handlers of a dispensable plugin; the broker lets it dial back to the host. */
export type PluginFactory = (broker: MuxBroker) => ReadonlyMap<string, RpcHandler>;

export interface ServeOptions {
  handshake: HandshakeConfig;
  /** Dispensable plugins by name (Mattermost dispenses "hooks"); each is served as service "Plugin". */
  plugins: Readonly<Record<string, PluginFactory>>;
  /** Called once when the host asks us to quit or the connection is gone; the process should exit soon after. */
  onShutdown: (reason: 'quit' | 'disconnected', err?: Error) => void;
  /** Where diagnostics go before the plugin API exists. */
  log: (level: 'debug' | 'info' | 'warn' | 'error', message: string, fields?: Record<string, unknown>) => void;
}

export interface RunningPlugin {
  socketPath: string;
  /** The yamux stream the host copies into its log as plugin stdout (after the handshake). */
  stdoutStream(): Duplex | undefined;
  stderrStream(): Duplex | undefined;
  close(): void;
}

const uint32 = 'uint' as const;

/**
 * Listens, prints the handshake line, and serves the first connection. Resolves
 * once the line is printed (before the host connects).
 */
export async function serve(opts: ServeOptions): Promise<RunningPlugin> {
  const listening = await listen(opts.handshake);
  let session: Session | undefined;
  let broker: MuxBroker | undefined;
  let stdout: Duplex | undefined;
  let stderr: Duplex | undefined;
  let shutDown = false;
  const shutdown = (reason: 'quit' | 'disconnected', err?: Error): void => {
    if (shutDown) return;
    shutDown = true;
    broker?.close();
    listening.cleanup();
    opts.onShutdown(reason, err);
  };

  listening.server.once('connection', (conn: net.Socket) => {
    // Mattermost connects exactly once; later connections are refused.
    listening.server.close();
    listening.server.on('connection', (extra: net.Socket) => extra.destroy());
    session = new Session(conn, 'server');
    const s = session;
    broker = new MuxBroker(s);
    const b = broker;
    s.on('close', (err?: Error) => shutdown('disconnected', err));
    void acceptStreams(s, b, opts, (o, e) => {
      stdout = o;
      stderr = e;
    }, () => shutdown('quit')).catch((err: Error) => {
      opts.log('error', 'plugin session failed', {error: err.message});
      s.close(err);
    });
  });

  printHandshake(listening.line);
  return {
    socketPath: listening.socketPath,
    stdoutStream: () => stdout,
    stderrStream: () => stderr,
    close: () => {
      session?.close();
      shutdown('quit');
    },
  };
}

async function acceptStreams(
  session: Session,
  broker: MuxBroker,
  opts: ServeOptions,
  setLogStreams: (stdout: Duplex, stderr: Duplex) => void,
  quit: () => void,
): Promise<void> {
  // go-plugin's RPCServer takes the first three streams, by arrival: control, stdout, stderr.
  const control = await session.accept();
  const stdout = await session.accept();
  const stderr = await session.accept();
  // The host only reads these; anything it sends is drained and ignored.
  for (const s of [stdout, stderr]) {
    s.on('data', () => {});
    s.on('error', () => {});
  }
  setLogStreams(stdout, stderr);

  const controlHandlers = new Map<string, RpcHandler>([
    ['Control.Ping', () => emptyReply],
    [
      'Control.Quit',
      () => {
        // Reply first; shut down once the reply is on its way.
        setImmediate(quit);
        return emptyReply;
      },
    ],
    [
      'Dispenser.Dispense',
      (args) => {
        const name = String(args);
        const factory = opts.plugins[name];
        if (!factory) throw new RpcError(`unknown plugin type: ${name}`);
        const id = broker.nextId();
        void broker.accept(id).then(
          (stream) => {
            new RpcServer(stream, factory(broker), (method, err) =>
              opts.log('debug', 'hook call failed', {method, error: String(err)}),
            );
          },
          (err: Error) => opts.log('error', 'host never dialed the dispensed plugin', {error: err.message}),
        );
        return {type: uint32, value: id};
      },
    ],
  ]);
  new RpcServer(control, controlHandlers, (method, err) =>
    opts.log('debug', 'control call failed', {method, error: String(err)}),
  );

  for (;;) {
    let stream: Duplex;
    try {
      stream = await session.accept();
    } catch {
      return; // session closed; the close handler shuts down
    }
    void broker.handleInbound(stream);
  }
}
