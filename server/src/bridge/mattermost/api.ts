// A typed client for the Mattermost plugin API (the host's net/rpc service
// "Plugin" on the API broker stream). Spec: mattermost-plugin-protocol.md §5.5.

import {type CompositeType, type GoType, type StructType} from '../gob/index.ts';
import {type RpcClient} from '../netrpc/index.ts';
import type {MattermostConfig} from './config.ts';
import {appErrorFrom, interfaceErrorFrom, PluginApiError} from './errors.ts';
import {toGoInterface, toGoMap, toPlain} from './values.ts';
import {
  InterfaceSlice,
  Permission,
  PluginClusterEvent,
  PluginClusterEventSendOptions,
  PluginKVSetOptions,
  StringInterfaceMap,
  WebsocketBroadcast,
  zArgs,
} from './wiretypes.ts';

export interface License {
  Id?: string;
  SkuName?: string;
  SkuShortName?: string;
  IsTrial?: boolean;
  ExpiresAt?: number;
  Features?: {Metrics?: boolean; Cluster?: boolean; [k: string]: unknown};
  [k: string]: unknown;
}

export interface KVSetOptions {
  atomic?: boolean;
  /** With atomic: the value the key must hold now; null/undefined means "must be absent". */
  oldValue?: Uint8Array | null;
  expireInSeconds?: number;
}

export interface ClusterEventSendOptions {
  sendType?: 'reliable' | 'best_effort';
  /** Empty: every other node. */
  targetId?: string;
}

export interface WebsocketBroadcastTarget {
  userId?: string;
  channelId?: string;
  teamId?: string;
}

export type LogFields = Record<string, unknown>;

type Reply = Record<string, unknown>;

// Argument structs, one per method, defined once so each stream sends each definition once.
const args = {
  none: (name: string) => zArgs(name),
  LoadPluginConfiguration: zArgs('Z_LoadPluginConfigurationArgsArgs'),
  GetConfig: zArgs('Z_GetConfigArgs'),
  GetUnsanitizedConfig: zArgs('Z_GetUnsanitizedConfigArgs'),
  GetPluginConfig: zArgs('Z_GetPluginConfigArgs'),
  SavePluginConfig: zArgs('Z_SavePluginConfigArgs', StringInterfaceMap),
  GetLicense: zArgs('Z_GetLicenseArgs'),
  IsEnterpriseReady: zArgs('Z_IsEnterpriseReadyArgs'),
  GetServerVersion: zArgs('Z_GetServerVersionArgs'),
  GetDiagnosticId: zArgs('Z_GetDiagnosticIdArgs'),
  GetTelemetryId: zArgs('Z_GetTelemetryIdArgs'),
  GetSystemInstallDate: zArgs('Z_GetSystemInstallDateArgs'),
  GetBundlePath: zArgs('Z_GetBundlePathArgs'),
  LogDebug: zArgs('Z_LogDebugArgs', 'string', InterfaceSlice),
  LogInfo: zArgs('Z_LogInfoArgs', 'string', InterfaceSlice),
  LogWarn: zArgs('Z_LogWarnArgs', 'string', InterfaceSlice),
  LogError: zArgs('Z_LogErrorArgs', 'string', InterfaceSlice),
  KVSet: zArgs('Z_KVSetArgs', 'string', 'bytes'),
  KVSetWithExpiry: zArgs('Z_KVSetWithExpiryArgs', 'string', 'bytes', 'int'),
  KVSetWithOptions: zArgs('Z_KVSetWithOptionsArgs', 'string', 'bytes', PluginKVSetOptions),
  KVCompareAndSet: zArgs('Z_KVCompareAndSetArgs', 'string', 'bytes', 'bytes'),
  KVCompareAndDelete: zArgs('Z_KVCompareAndDeleteArgs', 'string', 'bytes'),
  KVGet: zArgs('Z_KVGetArgs', 'string'),
  KVDelete: zArgs('Z_KVDeleteArgs', 'string'),
  KVDeleteAll: zArgs('Z_KVDeleteAllArgs'),
  KVList: zArgs('Z_KVListArgs', 'int', 'int'),
  PublishPluginClusterEvent: zArgs('Z_PublishPluginClusterEventArgs', PluginClusterEvent, PluginClusterEventSendOptions),
  PublishWebSocketEvent: zArgs('Z_PublishWebSocketEventArgs', 'string', StringInterfaceMap, WebsocketBroadcast),
  HasPermissionTo: zArgs('Z_HasPermissionToArgs', 'string', Permission),
} satisfies Record<string, StructType | ((name: string) => StructType)>;

type LogLevel = 'LogDebug' | 'LogInfo' | 'LogWarn' | 'LogError';

/**
 * A model.Config as decoded from the wire, before any conversion: structs are objects, maps are
 * Maps, interface values keep their Go types. Edit it in place and hand it back to saveConfig.
 */
export type RawConfig = Record<string, unknown>;

/** Z_SaveConfigArgs per received Config schema, so each stream defines it once. */
const saveConfigArgs = new WeakMap<object, StructType>();

export class PluginAPI {
  constructor(private readonly rpc: RpcClient) {}

  /** Calls any API method; rejects with RpcServerError (isMissingMethod on older servers). */
  async call(method: string, type: GoType, value: unknown): Promise<Reply> {
    const reply = await this.rpc.call(`Plugin.${method}`, {type, value});
    return (reply ?? {}) as Reply;
  }

  private async callChecked(method: keyof typeof args, value: unknown, errorField?: 'A' | 'B'): Promise<Reply> {
    const type = args[method];
    const reply = await this.call(method, type as StructType, value);
    if (errorField) {
      const err = appErrorFrom(reply[errorField]) ?? interfaceErrorFrom(reply[errorField]);
      if (err) throw err;
    }
    return reply;
  }

  async getServerVersion(): Promise<string> {
    return String((await this.callChecked('GetServerVersion', {})).A ?? '');
  }

  /** The sanitized config: secrets are replaced by asterisks. */
  async getConfig(): Promise<MattermostConfig> {
    return toPlain((await this.callChecked('GetConfig', {})).A ?? {}) as MattermostConfig;
  }

  /** The config with secrets (DSN, S3 keys). Never log it. */
  async getUnsanitizedConfig(): Promise<MattermostConfig> {
    return toPlain((await this.callChecked('GetUnsanitizedConfig', {})).A ?? {}) as MattermostConfig;
  }

  /**
   * Changes the server configuration. The whole model.Config travels back over gob, so it is
   * re-encoded with exactly the schema the server sent (a config has ~100 type definitions and
   * grows with every server version). Returns the config as saved.
   */
  async updateConfig(edit: (config: RawConfig) => void): Promise<MattermostConfig> {
    const reply = await this.rpcCallTyped('GetUnsanitizedConfig', {});
    const configType = (reply.type as StructType).fields?.find(([name]) => name === 'A')?.[1];
    const raw = (reply.value as Reply).A as RawConfig | undefined;
    if (!configType || typeof configType === 'string' || !raw) throw new PluginApiError('the server returned no config');
    edit(raw);
    let argsType = saveConfigArgs.get(configType);
    if (!argsType) {
      argsType = zArgs('Z_SaveConfigArgs', configType as CompositeType);
      saveConfigArgs.set(configType, argsType);
    }
    const saved = await this.call('SaveConfig', argsType, {A: raw});
    const err = appErrorFrom(saved.A) ?? interfaceErrorFrom(saved.A);
    if (err) throw err;
    return toPlain(raw) as MattermostConfig;
  }

  private async rpcCallTyped(method: keyof typeof args, value: unknown): Promise<{type: GoType; value: unknown}> {
    return this.rpc.callTyped(`Plugin.${method}`, {type: args[method] as StructType, value});
  }

  /** Settings defaults overlaid with saved values; Mattermost lower-cases every key. */
  async loadPluginConfiguration(): Promise<Record<string, unknown>> {
    const raw = (await this.callChecked('LoadPluginConfiguration', {})).A;
    if (!raw || (raw as Buffer).length === 0) return {};
    return JSON.parse((raw as Buffer).toString('utf8')) as Record<string, unknown>;
  }

  async getPluginConfig(): Promise<Record<string, unknown>> {
    return (toPlain((await this.callChecked('GetPluginConfig', {})).A) ?? {}) as Record<string, unknown>;
  }

  async savePluginConfig(config: Record<string, unknown>): Promise<void> {
    await this.callChecked('SavePluginConfig', {A: toGoMap(config)}, 'A');
  }

  /** undefined when the server has no licence. */
  async getLicense(): Promise<License | undefined> {
    const a = (await this.callChecked('GetLicense', {})).A;
    return a === undefined ? undefined : (toPlain(a) as License);
  }

  async isEnterpriseReady(): Promise<boolean> {
    return Boolean((await this.callChecked('IsEnterpriseReady', {})).A);
  }

  async getDiagnosticId(): Promise<string> {
    return String((await this.callChecked('GetDiagnosticId', {})).A ?? '');
  }

  async getTelemetryId(): Promise<string> {
    return String((await this.callChecked('GetTelemetryId', {})).A ?? '');
  }

  async getSystemInstallDate(): Promise<number> {
    return Number((await this.callChecked('GetSystemInstallDate', {}, 'B')).A ?? 0);
  }

  async getBundlePath(): Promise<string> {
    return String((await this.callChecked('GetBundlePath', {}, 'B')).A ?? '');
  }

  logDebug(message: string, fields?: LogFields): Promise<void> {
    return this.log('LogDebug', message, fields);
  }
  logInfo(message: string, fields?: LogFields): Promise<void> {
    return this.log('LogInfo', message, fields);
  }
  logWarn(message: string, fields?: LogFields): Promise<void> {
    return this.log('LogWarn', message, fields);
  }
  logError(message: string, fields?: LogFields): Promise<void> {
    return this.log('LogError', message, fields);
  }

  private async log(level: LogLevel, message: string, fields: LogFields = {}): Promise<void> {
    // The server expects alternating string keys and values; stringify like the Go library does.
    const kv = Object.entries(fields).flatMap(([k, v]) => [k, stringifyField(v)]);
    await this.callChecked(level, {A: message, B: kv.map((s) => toGoInterface(s))});
  }

  /** A null or empty value deletes the key (Mattermost semantics). */
  async kvSet(key: string, value: Uint8Array | null): Promise<void> {
    await this.callChecked('KVSet', {A: key, B: value}, 'A');
  }

  async kvSetWithExpiry(key: string, value: Uint8Array | null, expireInSeconds: number): Promise<void> {
    await this.callChecked('KVSetWithExpiry', {A: key, B: value, C: expireInSeconds}, 'A');
  }

  /** Returns whether the value was written (false when an atomic condition failed). */
  async kvSetWithOptions(key: string, value: Uint8Array | null, options: KVSetOptions): Promise<boolean> {
    const reply = await this.callChecked(
      'KVSetWithOptions',
      {A: key, B: value, C: {Atomic: options.atomic ?? false, OldValue: options.oldValue ?? null, ExpireInSeconds: options.expireInSeconds ?? 0}},
      'B',
    );
    return Boolean(reply.A);
  }

  async kvCompareAndSet(key: string, oldValue: Uint8Array | null, newValue: Uint8Array | null): Promise<boolean> {
    return Boolean((await this.callChecked('KVCompareAndSet', {A: key, B: oldValue, C: newValue}, 'B')).A);
  }

  async kvCompareAndDelete(key: string, oldValue: Uint8Array): Promise<boolean> {
    return Boolean((await this.callChecked('KVCompareAndDelete', {A: key, B: oldValue}, 'B')).A);
  }

  /** undefined for a missing key (an empty stored value looks the same). */
  async kvGet(key: string): Promise<Buffer | undefined> {
    const a = (await this.callChecked('KVGet', {A: key}, 'B')).A;
    return a === undefined ? undefined : (a as Buffer);
  }

  async kvDelete(key: string): Promise<void> {
    await this.callChecked('KVDelete', {A: key}, 'A');
  }

  async kvDeleteAll(): Promise<void> {
    await this.callChecked('KVDeleteAll', {}, 'A');
  }

  async kvList(page: number, perPage: number): Promise<string[]> {
    return ((await this.callChecked('KVList', {A: page, B: perPage}, 'B')).A ?? []) as string[];
  }

  async publishPluginClusterEvent(event: {id: string; data: Uint8Array}, options: ClusterEventSendOptions = {}): Promise<void> {
    await this.callChecked(
      'PublishPluginClusterEvent',
      {A: {Id: event.id, Data: event.data}, B: {SendType: options.sendType ?? 'reliable', TargetId: options.targetId ?? ''}},
      'A',
    );
  }

  async publishWebSocketEvent(event: string, payload: Record<string, unknown>, broadcast: WebsocketBroadcastTarget): Promise<void> {
    await this.callChecked('PublishWebSocketEvent', {
      A: event,
      B: toGoMap(payload),
      C: {UserId: broadcast.userId ?? '', ChannelId: broadcast.channelId ?? '', TeamId: broadcast.teamId ?? ''},
    });
  }

  async hasPermissionTo(userId: string, permissionId: string): Promise<boolean> {
    return Boolean((await this.callChecked('HasPermissionTo', {A: userId, B: {Id: permissionId}})).A);
  }
}

function stringifyField(v: unknown): string {
  if (typeof v === 'string') return v;
  if (v instanceof Error) return v.message;
  if (typeof v === 'object' && v !== null) {
    try {
      return JSON.stringify(v);
    } catch {
      return String(v);
    }
  }
  return String(v);
}
