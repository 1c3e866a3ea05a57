// gob descriptors of the Mattermost structs we send. gob matches by field name,
// so these carry only the fields we set; names follow Mattermost's (server/public).
// Spec: mattermost-plugin-protocol.md §5.

import {map, slice, struct, type GoType, type StructType} from '../gob/index.ts';

export const StringSlice = slice('string');
export const InterfaceSlice = slice('interface', '[]interface {}');
export const StringInterfaceMap = map('string', 'interface', 'map[string]interface {}');
export const HttpHeader = map('string', StringSlice, 'Header');

export const AppError = struct('AppError', [
  ['Id', 'string'],
  ['Message', 'string'],
  ['DetailedError', 'string'],
  ['RequestId', 'string'],
  ['StatusCode', 'int'],
  ['Where', 'string'],
]);
/** What a Go plugin sends for any error that is not an AppError (registered as *plugin.ErrorString). */
export const ErrorString = struct('ErrorString', [
  ['Code', 'int'],
  ['Err', 'string'],
]);
/** A pointer-to-Config field we always leave nil: a field-less struct is accepted by Go's decoder. */
export const NilConfig = struct('Config', []);

export const FileData = struct('FileData', [
  ['Filename', 'string'],
  ['Body', 'bytes'],
]);
export const PluginClusterEvent = struct('PluginClusterEvent', [
  ['Id', 'string'],
  ['Data', 'bytes'],
]);
export const PluginClusterEventSendOptions = struct('PluginClusterEventSendOptions', [
  ['SendType', 'string'],
  ['TargetId', 'string'],
]);
export const PluginKVSetOptions = struct('PluginKVSetOptions', [
  ['Atomic', 'bool'],
  ['OldValue', 'bytes'],
  ['ExpireInSeconds', 'int'],
]);
export const WebsocketBroadcast = struct('WebsocketBroadcast', [
  ['UserId', 'string'],
  ['ChannelId', 'string'],
  ['TeamId', 'string'],
]);
export const Permission = struct('Permission', [['Id', 'string']]);

/** Z_<Method>Args/Returns: fields named A, B, C… */
export function zArgs(name: string, ...types: GoType[]): StructType {
  return struct(name, types.map((t, i) => [String.fromCharCode(65 + i), t] as const));
}

// Hook replies (the plugin is the server).
export const hookReturns = {
  errorOnly: (name: string) => zArgs(name, 'interface'),
  configurationWillBeSaved: zArgs('Z_ConfigurationWillBeSavedReturns', NilConfig, 'interface'),
  generateSupportData: zArgs('Z_GenerateSupportDataReturns', slice(FileData), 'interface'),
  none: (name: string) => struct(name, []),
};
