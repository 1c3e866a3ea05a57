// Errors across the plugin boundary (spec §5.6): error-typed fields are gob
// interfaces; *model.AppError fields are plain struct pointers.

import {GoInterface} from '../gob/index.ts';
import {AppError, ErrorString} from './wiretypes.ts';

/** A *model.AppError returned by the server. */
export class MattermostAppError extends Error {
  override name = 'MattermostAppError';
  constructor(
    readonly id: string,
    message: string,
    readonly detailedError: string,
    readonly statusCode: number,
    readonly where: string,
  ) {
    super(detailedError ? `${message}: ${detailedError}` : message || id);
  }
}

/** An error a plugin API method returned through an `error` interface. */
export class PluginApiError extends Error {
  override name = 'PluginApiError';
  constructor(
    message: string,
    readonly code = 0,
  ) {
    super(message);
  }
}

interface AppErrorFields {
  Id?: string;
  Message?: string;
  DetailedError?: string;
  StatusCode?: number;
  Where?: string;
}

/** Turns a decoded *model.AppError field (absent when nil) into an Error, or undefined. */
export function appErrorFrom(v: unknown): MattermostAppError | undefined {
  if (v === undefined || v === null) return undefined;
  const e = v as AppErrorFields;
  return new MattermostAppError(e.Id ?? '', e.Message ?? '', e.DetailedError ?? '', Number(e.StatusCode ?? 0), e.Where ?? '');
}

/** Turns a decoded `error` interface into an Error, or undefined when nil. */
export function interfaceErrorFrom(v: unknown): Error | undefined {
  if (!(v instanceof GoInterface)) return undefined;
  if (v.name === '*model.AppError') return appErrorFrom(v.value);
  const fields = (v.value ?? {}) as {Err?: string; Code?: number; Message?: string};
  return new PluginApiError(fields.Err ?? fields.Message ?? v.name, Number(fields.Code ?? 0));
}

/** Encodes a JS error for an `error` field, as a Go plugin's encodableError does. */
export function toErrorInterface(err: unknown): GoInterface | null {
  if (err === undefined || err === null) return null;
  if (err instanceof MattermostAppError) {
    return new GoInterface(
      '*model.AppError',
      {Id: err.id, Message: err.message, DetailedError: err.detailedError, StatusCode: err.statusCode, Where: err.where},
      AppError,
    );
  }
  const message = err instanceof Error ? err.message : String(err);
  return new GoInterface('*plugin.ErrorString', {Code: 0, Err: message || 'error'}, ErrorString);
}
