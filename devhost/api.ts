// The plugin API the dev host serves on the API broker stream (net/rpc service
// "Plugin"), backed by local files. Method names and Z_ field names follow
// server/src/bridge/mattermost/api.ts and spec §5.5. Methods not listed here
// answer net/rpc's "rpc: can't find method Plugin.X", as an older server would.

import {GoInterface, struct, type StructType} from '../server/src/bridge/gob/index.ts';
import {toErrorInterface} from '../server/src/bridge/mattermost/errors.ts';
import {toGoMap, toPlain} from '../server/src/bridge/mattermost/values.ts';
import {AppError, StringInterfaceMap, StringSlice, zArgs} from '../server/src/bridge/mattermost/wiretypes.ts';
import {type RpcHandler, type Typed} from '../server/src/bridge/netrpc/index.ts';
import {ConfigType, gobConfig, type ConfigStore, type JsonObject, type MMConfig} from './config.ts';
import {KVError, type KVStore} from './kvstore.ts';
import {fieldsFromKeyValues, type DevLogger, type Level} from './log.ts';
import {users, type DevState} from './state.ts';

export const serverVersion = '10.11.0-devhost';

// ------------------------------------------------------------ reply types

const Customer = struct('Customer', [
  ['Id', 'string'],
  ['Name', 'string'],
  ['Email', 'string'],
  ['Company', 'string'],
]);
const Features = struct('Features', [
  ['Users', 'int'],
  ['LDAP', 'bool'],
  ['Cluster', 'bool'],
  ['Metrics', 'bool'],
  ['Compliance', 'bool'],
  ['Elasticsearch', 'bool'],
  ['DataRetention', 'bool'],
  ['FutureFeatures', 'bool'],
]);
export const LicenseType = struct('License', [
  ['Id', 'string'],
  ['IssuedAt', 'int'],
  ['StartsAt', 'int'],
  ['ExpiresAt', 'int'],
  ['Customer', Customer],
  ['Features', Features],
  ['SkuName', 'string'],
  ['SkuShortName', 'string'],
  ['IsTrial', 'bool'],
  ['IsGovSku', 'bool'],
]);

// One descriptor object per reply type, so a stream defines each type once.
const R = {
  LoadPluginConfiguration: zArgs('Z_LoadPluginConfigurationArgsReturns', 'bytes'),
  GetConfig: zArgs('Z_GetConfigReturns', ConfigType),
  GetUnsanitizedConfig: zArgs('Z_GetUnsanitizedConfigReturns', ConfigType),
  GetPluginConfig: zArgs('Z_GetPluginConfigReturns', StringInterfaceMap),
  SavePluginConfig: zArgs('Z_SavePluginConfigReturns', AppError),
  SaveConfig: zArgs('Z_SaveConfigReturns', AppError),
  GetLicense: zArgs('Z_GetLicenseReturns', LicenseType),
  IsEnterpriseReady: zArgs('Z_IsEnterpriseReadyReturns', 'bool'),
  GetServerVersion: zArgs('Z_GetServerVersionReturns', 'string'),
  GetDiagnosticId: zArgs('Z_GetDiagnosticIdReturns', 'string'),
  GetTelemetryId: zArgs('Z_GetTelemetryIdReturns', 'string'),
  GetSystemInstallDate: zArgs('Z_GetSystemInstallDateReturns', 'int', AppError),
  GetBundlePath: zArgs('Z_GetBundlePathReturns', 'string', 'interface'),
  LogDebug: zArgs('Z_LogDebugReturns'),
  LogInfo: zArgs('Z_LogInfoReturns'),
  LogWarn: zArgs('Z_LogWarnReturns'),
  LogError: zArgs('Z_LogErrorReturns'),
  KVSet: zArgs('Z_KVSetReturns', AppError),
  KVSetWithExpiry: zArgs('Z_KVSetWithExpiryReturns', AppError),
  KVSetWithOptions: zArgs('Z_KVSetWithOptionsReturns', 'bool', AppError),
  KVCompareAndSet: zArgs('Z_KVCompareAndSetReturns', 'bool', AppError),
  KVCompareAndDelete: zArgs('Z_KVCompareAndDeleteReturns', 'bool', AppError),
  KVGet: zArgs('Z_KVGetReturns', 'bytes', AppError),
  KVDelete: zArgs('Z_KVDeleteReturns', AppError),
  KVDeleteAll: zArgs('Z_KVDeleteAllReturns', AppError),
  KVList: zArgs('Z_KVListReturns', StringSlice, AppError),
  PublishPluginClusterEvent: zArgs('Z_PublishPluginClusterEventReturns', 'interface'),
  PublishWebSocketEvent: zArgs('Z_PublishWebSocketEventReturns'),
  HasPermissionTo: zArgs('Z_HasPermissionToReturns', 'bool'),
} satisfies Record<string, StructType>;

type Method = keyof typeof R;

// Driver replies (db_rpc.go).
const DbStrErrReturn = zArgs('Z_DbStrErrReturn', 'string', 'interface');
const DbErrReturn = zArgs('Z_DbErrReturn', 'interface');

// -------------------------------------------------------------- records

export interface WebSocketEventRecord {
  /** As clients receive it: custom_<plugin id>_<event>. */
  event: string;
  data: Record<string, unknown>;
  broadcast: Record<string, unknown>;
  at: number;
}

export interface ClusterEventRecord {
  id: string;
  data: Buffer;
  sendType: string;
  targetId: string;
  at: number;
}

export interface FakeApiOptions {
  pluginId: string;
  bundlePath: string;
  config: ConfigStore;
  kv: KVStore;
  state: DevState;
  logger: DevLogger;
  /** Called after SavePluginConfig changed the config (the server then runs OnConfigurationChange). */
  onConfigSaved?: () => void;
  /** How many websocket/cluster events to keep. */
  keepEvents?: number;
}

function appError(err: unknown, where: string): Record<string, unknown> {
  if (err instanceof KVError) {
    return {Id: err.id, Message: err.message, DetailedError: '', StatusCode: err.statusCode, Where: err.where};
  }
  return {Id: 'app.plugin_store.save.app_error', Message: 'Failed to save or update the plugin key value', DetailedError: (err as Error)?.message ?? String(err), StatusCode: 500, Where: where};
}

function bytesArg(v: unknown): Buffer | undefined {
  return Buffer.isBuffer(v) ? v : undefined;
}

/** The fake API: construct once per dev host, call handlers() per API stream. */
export class FakeApi {
  readonly webSocketEvents: WebSocketEventRecord[] = [];
  readonly clusterEvents: ClusterEventRecord[] = [];
  /** How often each API method was called (tests). */
  readonly callCounts = new Map<string, number>();
  private readonly keep: number;

  constructor(private readonly o: FakeApiOptions) {
    this.keep = o.keepEvents ?? 100;
  }

  handlers(): Map<string, RpcHandler> {
    const o = this.o;
    const h = new Map<string, RpcHandler>();
    const on = (method: Method, fn: (args: Record<string, unknown>) => unknown): void => {
      h.set(`Plugin.${method}`, async (args): Promise<Typed> => {
        this.callCounts.set(method, (this.callCounts.get(method) ?? 0) + 1);
        const value = await fn((args ?? {}) as Record<string, unknown>);
        return {type: R[method], value: value ?? {}};
      });
    };
    /** A KV call: AppError goes into the named field instead of failing the RPC. */
    const kv = (method: Method, errField: 'A' | 'B', fn: (a: Record<string, unknown>) => Promise<Record<string, unknown>>): void =>
      on(method, async (a) => {
        try {
          return await fn(a);
        } catch (err) {
          return {[errField]: appError(err, method)};
        }
      });

    // configuration
    on('LoadPluginConfiguration', () => ({A: o.config.loadPluginConfiguration()}));
    on('GetConfig', () => ({A: gobConfig(o.config.sanitized())}));
    on('GetUnsanitizedConfig', () => ({A: gobConfig(o.config.get())}));
    on('GetPluginConfig', () => {
      const s = o.config.pluginSettings();
      return {A: s === undefined ? undefined : toGoMap(s)};
    });
    on('SavePluginConfig', async (a) => {
      const settings = (toPlain(a.A) ?? {}) as JsonObject;
      try {
        await o.config.savePluginSettings(settings);
      } catch (err) {
        return {A: {Id: 'app.plugin.config.save.app_error', Message: 'Unable to save the plugin configuration', DetailedError: (err as Error).message, StatusCode: 500, Where: 'SavePluginConfig'}};
      }
      o.logger.info('plugin configuration saved', {keys: Object.keys(settings).join(',')});
      o.onConfigSaved?.();
      return {};
    });

    on('SaveConfig', async (a) => {
      try {
        await o.config.saveConfig((toPlain(a.A) ?? {}) as MMConfig);
      } catch (err) {
        return {A: {Id: 'api.config.update_config.app_error', Message: 'Unable to save the configuration', DetailedError: (err as Error).message, StatusCode: 500, Where: 'SaveConfig'}};
      }
      o.logger.info('server configuration saved');
      o.onConfigSaved?.();
      return {};
    });

    // server information
    on('GetLicense', () => ({A: o.state.licenseValue()}));
    on('IsEnterpriseReady', () => ({A: true}));
    on('GetServerVersion', () => ({A: serverVersion}));
    on('GetDiagnosticId', () => ({A: o.state.diagnosticId}));
    on('GetTelemetryId', () => ({A: o.state.diagnosticId}));
    on('GetSystemInstallDate', () => ({A: o.state.installDate}));
    on('GetBundlePath', () => ({A: o.bundlePath}));

    // logging
    const log = (level: Level) => (a: Record<string, unknown>) => {
      const kvs = Array.isArray(a.B) ? (a.B as unknown[]).map((x) => (x instanceof GoInterface ? toPlain(x) : x)) : [];
      o.logger.log('plugin', level, String(a.A ?? ''), fieldsFromKeyValues(kvs), 'api');
      return {};
    };
    on('LogDebug', log('debug'));
    on('LogInfo', log('info'));
    on('LogWarn', log('warn'));
    on('LogError', log('error'));

    // key-value store
    kv('KVSet', 'A', async (a) => {
      await o.kv.set(String(a.A ?? ''), bytesArg(a.B));
      return {};
    });
    kv('KVSetWithExpiry', 'A', async (a) => {
      await o.kv.set(String(a.A ?? ''), bytesArg(a.B), Number(a.C ?? 0));
      return {};
    });
    kv('KVSetWithOptions', 'B', async (a) => {
      const opt = (a.C ?? {}) as {Atomic?: boolean; OldValue?: Buffer; ExpireInSeconds?: number};
      const ok = await o.kv.setWithOptions(String(a.A ?? ''), bytesArg(a.B), {
        atomic: Boolean(opt.Atomic),
        oldValue: bytesArg(opt.OldValue),
        expireInSeconds: Number(opt.ExpireInSeconds ?? 0),
      });
      return {A: ok};
    });
    kv('KVCompareAndSet', 'B', async (a) => ({A: await o.kv.compareAndSet(String(a.A ?? ''), bytesArg(a.B), bytesArg(a.C))}));
    kv('KVCompareAndDelete', 'B', async (a) => ({A: await o.kv.compareAndDelete(String(a.A ?? ''), bytesArg(a.B))}));
    kv('KVGet', 'B', async (a) => ({A: o.kv.get(String(a.A ?? ''))}));
    kv('KVDelete', 'A', async (a) => {
      await o.kv.delete(String(a.A ?? ''));
      return {};
    });
    kv('KVDeleteAll', 'A', async () => {
      await o.kv.deleteAll();
      return {};
    });
    kv('KVList', 'B', async (a) => ({A: o.kv.list(Number(a.A ?? 0), Number(a.B ?? 0))}));

    // events
    on('PublishPluginClusterEvent', (a) => {
      const ev = (a.A ?? {}) as {Id?: string; Data?: Buffer};
      const opt = (a.B ?? {}) as {SendType?: string; TargetId?: string};
      this.push(this.clusterEvents, {id: ev.Id ?? '', data: ev.Data ?? Buffer.alloc(0), sendType: opt.SendType ?? '', targetId: opt.TargetId ?? '', at: Date.now()});
      o.logger.debug('cluster event published (single node: no other node receives it)', {id: ev.Id ?? '', bytes: ev.Data?.length ?? 0});
      return {};
    });
    on('PublishWebSocketEvent', (a) => {
      const event = `custom_${o.pluginId}_${String(a.A ?? '')}`;
      const data = (toPlain(a.B) ?? {}) as Record<string, unknown>;
      const broadcast = (toPlain(a.C) ?? {}) as Record<string, unknown>;
      this.push(this.webSocketEvents, {event, data, broadcast, at: Date.now()});
      o.logger.debug('websocket event', {event, data: JSON.stringify(data), broadcast: JSON.stringify(broadcast)});
      return {};
    });

    // permissions: the admin has every permission, the member none
    on('HasPermissionTo', (a) => ({A: String(a.A ?? '') === users.admin.id}));
    return h;
  }

  /** The DB driver service (db_rpc.go): the dev host has no database, so connections fail. */
  driverHandlers(): Map<string, RpcHandler> {
    const noDb = toErrorInterface(new Error('devhost: no database (set SqlSettings in config.json and connect directly)'));
    return new Map<string, RpcHandler>([
      ['Plugin.Conn', () => ({type: DbStrErrReturn, value: {A: '', B: noDb}})],
      ['Plugin.ConnPing', () => ({type: DbErrReturn, value: {A: noDb}})],
      ['Plugin.ConnClose', () => ({type: DbErrReturn, value: {}})],
    ]);
  }

  private push<T>(list: T[], item: T): void {
    list.push(item);
    if (list.length > this.keep) list.splice(0, list.length - this.keep);
  }
}
