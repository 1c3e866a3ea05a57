// The "hooks" plugin the server dispenses: one net/rpc method per hook, plus
// Plugin.Implemented. Spec: mattermost-plugin-protocol.md §1.5, §5.1–§5.4.

import type {MuxBroker} from '../goplugin/index.ts';
import {emptyReply, RpcClient, type RpcHandler, type Typed} from '../netrpc/index.ts';
import {PluginAPI} from './api.ts';
import type {MattermostConfig} from './config.ts';
import {toErrorInterface} from './errors.ts';
import {contextFrom, serveHTTP, type HttpHandler, type PluginContext} from './http.ts';
import type {PluginLogger} from './log.ts';
import {toPlain} from './values.ts';
import {hookReturns, StringSlice} from './wiretypes.ts';

export interface SupportFile {
  filename: string;
  body: Uint8Array;
}

/** What the rest of the plugin implements. Every hook is optional except activation. */
export interface MattermostPlugin {
  /** Called with the API before any other hook that may use it (Go's SetAPI). */
  setAPI(api: PluginAPI): void;
  onActivate(): Promise<void>;
  onDeactivate?(): Promise<void>;
  onConfigurationChange?(): Promise<void>;
  /** Throw to reject the save; the message is shown to the admin. */
  configurationWillBeSaved?(config: MattermostConfig): Promise<void>;
  serveHTTP?: HttpHandler;
  serveMetrics?: HttpHandler;
  onPluginClusterEvent?(context: PluginContext, event: {id: string; data: Buffer}): Promise<void>;
  generateSupportData?(context: PluginContext): Promise<SupportFile[]>;
}

const hookNames: Array<[keyof MattermostPlugin, string]> = [
  ['onDeactivate', 'OnDeactivate'],
  ['onConfigurationChange', 'OnConfigurationChange'],
  ['configurationWillBeSaved', 'ConfigurationWillBeSaved'],
  ['serveHTTP', 'ServeHTTP'],
  ['serveMetrics', 'ServeMetrics'],
  ['onPluginClusterEvent', 'OnPluginClusterEvent'],
  ['generateSupportData', 'GenerateSupportData'],
];

const returns = {
  OnActivate: hookReturns.errorOnly('Z_OnActivateReturns'),
  OnDeactivate: hookReturns.errorOnly('Z_OnDeactivateReturns'),
  OnConfigurationChange: hookReturns.errorOnly('Z_OnConfigurationChangeReturns'),
  OnPluginClusterEvent: hookReturns.none('Z_OnPluginClusterEventReturns'),
};

function errorReply(type: Typed['type'], err: unknown): Typed {
  return {type, value: {A: toErrorInterface(err)}};
}

/** Runs a hook, turning a thrown error into the hook's `error` result. */
async function withErrorResult(type: Typed['type'], fn: () => Promise<void>): Promise<Typed> {
  try {
    await fn();
    return errorReply(type, null);
  } catch (err) {
    return errorReply(type, err);
  }
}

export interface HookServerState {
  api?: PluginAPI;
  driver?: RpcClient;
}

export function hooksHandlers(
  plugin: MattermostPlugin,
  broker: MuxBroker,
  logger: PluginLogger,
  state: HookServerState,
): Map<string, RpcHandler> {
  const implemented = ['OnActivate', ...hookNames.filter(([m]) => typeof plugin[m] === 'function').map(([, n]) => n)];
  const handlers = new Map<string, RpcHandler>([
    ['Plugin.Implemented', () => ({type: StringSlice, value: implemented})],
    [
      'Plugin.OnActivate',
      async (args) => {
        const {APIMuxId = 0, DriverMuxId = 0} = (args ?? {}) as {APIMuxId?: number; DriverMuxId?: number};
        return withErrorResult(returns.OnActivate, async () => {
          // The host gives up accepting after 5 s: dial both before anything else.
          const [apiStream, driverStream] = await Promise.all([
            broker.dial(Number(APIMuxId)),
            DriverMuxId ? broker.dial(Number(DriverMuxId)) : Promise.resolve(undefined),
          ]);
          const api = new PluginAPI(new RpcClient(apiStream));
          state.api = api;
          if (driverStream) state.driver = new RpcClient(driverStream);
          plugin.setAPI(api);
          logger.attach(api);
          // Go's plugin library runs OnConfigurationChange before OnActivate; the server does not.
          await plugin.onConfigurationChange?.();
          await plugin.onActivate();
        });
      },
    ],
  ]);

  if (plugin.onDeactivate) {
    const onDeactivate = plugin.onDeactivate.bind(plugin);
    handlers.set('Plugin.OnDeactivate', () => withErrorResult(returns.OnDeactivate, onDeactivate));
  }
  if (plugin.onConfigurationChange) {
    const onChange = plugin.onConfigurationChange.bind(plugin);
    handlers.set('Plugin.OnConfigurationChange', () => withErrorResult(returns.OnConfigurationChange, onChange));
  }
  if (plugin.configurationWillBeSaved) {
    const willSave = plugin.configurationWillBeSaved.bind(plugin);
    handlers.set('Plugin.ConfigurationWillBeSaved', async (args) => {
      const config = toPlain((args as {A?: unknown})?.A ?? {}) as MattermostConfig;
      try {
        await willSave(config);
        return {type: hookReturns.configurationWillBeSaved, value: {A: null, B: null}};
      } catch (err) {
        return {type: hookReturns.configurationWillBeSaved, value: {A: null, B: toErrorInterface(err)}};
      }
    });
  }
  const http = (handler: HttpHandler): RpcHandler => async (args) => {
    await serveHTTP(broker, args, handler);
    return emptyReply;
  };
  if (plugin.serveHTTP) handlers.set('Plugin.ServeHTTP', http(plugin.serveHTTP.bind(plugin)));
  if (plugin.serveMetrics) handlers.set('Plugin.ServeMetrics', http(plugin.serveMetrics.bind(plugin)));
  if (plugin.onPluginClusterEvent) {
    const onEvent = plugin.onPluginClusterEvent.bind(plugin);
    handlers.set('Plugin.OnPluginClusterEvent', async (args) => {
      const {A, B} = (args ?? {}) as {A?: Parameters<typeof contextFrom>[0]; B?: {Id?: string; Data?: Buffer}};
      try {
        await onEvent(contextFrom(A), {id: B?.Id ?? '', data: B?.Data ?? Buffer.alloc(0)});
      } catch (err) {
        logger.error('cluster event handler failed', {event: B?.Id ?? '', error: (err as Error).message});
      }
      return {type: returns.OnPluginClusterEvent, value: {}};
    });
  }
  if (plugin.generateSupportData) {
    const generate = plugin.generateSupportData.bind(plugin);
    handlers.set('Plugin.GenerateSupportData', async (args) => {
      const {A} = (args ?? {}) as {A?: Parameters<typeof contextFrom>[0]};
      try {
        const files = await generate(contextFrom(A));
        return {
          type: hookReturns.generateSupportData,
          value: {A: files.map((f) => ({Filename: f.filename, Body: f.body})), B: null},
        };
      } catch (err) {
        return {type: hookReturns.generateSupportData, value: {A: [], B: toErrorInterface(err)}};
      }
    });
  }
  return handlers;
}
