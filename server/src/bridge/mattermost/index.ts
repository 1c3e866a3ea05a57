// The Mattermost server-plugin runtime. Above this module no code sees gob,
// yamux or net/rpc: a plugin implements MattermostPlugin and calls runPlugin.

import {mattermostHandshake, NotLaunchedAsPluginError, serve} from '../goplugin/index.ts';
import {hooksHandlers, type HookServerState, type MattermostPlugin} from './hooks.ts';
import {PluginLogger} from './log.ts';

export {PluginAPI, type ClusterEventSendOptions, type KVSetOptions, type License, type LogFields, type RawConfig} from './api.ts';
export type {MattermostConfig} from './config.ts';
export {MattermostAppError, PluginApiError} from './errors.ts';
export type {HttpHandler, PluginContext} from './http.ts';
export type {MattermostPlugin, SupportFile} from './hooks.ts';
export {PluginLogger, hclogLine, type Logger} from './log.ts';
export {RpcServerError} from '../netrpc/index.ts';

export interface RunOptions {
  logger?: PluginLogger;
  /** Last words before exit (flush stores, stop timers); bounded so we exit within go-plugin's 2 s. */
  onExit?: () => Promise<void> | void;
  exitBudgetMs?: number;
  exit?: (code: number) => void;
}

/** Starts the go-plugin server for a Mattermost plugin. Resolves once the handshake line is printed. */
export async function runPlugin(plugin: MattermostPlugin, opts: RunOptions = {}): Promise<void> {
  const logger = opts.logger ?? new PluginLogger();
  const exit = opts.exit ?? ((code: number) => process.exit(code));
  // Ctrl-C reaches the whole process group of the server; the host decides when we stop.
  process.on('SIGINT', () => {});
  const state: HookServerState = {};
  let exiting = false;
  const finish = (code: number): void => {
    if (exiting) return;
    exiting = true;
    const hardStop = setTimeout(() => exit(code), opts.exitBudgetMs ?? 1_500);
    hardStop.unref();
    Promise.resolve()
      .then(() => opts.onExit?.())
      .catch((err: Error) => logger.error('shutdown failed', {error: err.message}))
      .finally(() => {
        clearTimeout(hardStop);
        exit(code);
      });
  };
  try {
    const running = await serve({
      handshake: mattermostHandshake,
      plugins: {hooks: (broker) => hooksHandlers(plugin, broker, logger, state)},
      onShutdown: (reason, err) => {
        logger.attach(undefined);
        if (reason === 'disconnected' && err) logger.debug('host connection closed', {error: err.message});
        finish(0);
      },
      log: (level, message, fields) => logger[level](message, fields),
    });
    redirectStdout(() => running.stdoutStream());
  } catch (err) {
    if (err instanceof NotLaunchedAsPluginError) {
      process.stderr.write(err.message.endsWith('\n') ? err.message : `${err.message}\n`);
      exit(1);
      return;
    }
    throw err;
  }
}

/** After the handshake fd 1 belongs to nobody: send stray writes to the host's plugin_stdout stream instead. */
function redirectStdout(stream: () => NodeJS.WritableStream | undefined): void {
  const write = (chunk: unknown, encoding?: unknown, cb?: unknown): boolean => {
    const callback = typeof encoding === 'function' ? encoding : cb;
    const target = stream();
    if (target) target.write(typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array));
    if (typeof callback === 'function') (callback as () => void)();
    return true;
  };
  process.stdout.write = write as typeof process.stdout.write;
}
