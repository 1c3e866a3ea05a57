// Plugin logging: hclog JSON lines on stderr until the API is up (go-plugin
// parses them into the server log), then the API's LogX methods. Spec §1.4.

import type {LogFields, PluginAPI} from './api.ts';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
}

/** go-plugin accepts @timestamp only in Go's layout with exactly six fractional digits. */
export function hclogTimestamp(d = new Date()): string {
  return d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

export function hclogLine(level: LogLevel, message: string, fields: LogFields = {}): string {
  const extra: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(fields)) {
    if (k.startsWith('@')) continue;
    extra[k] = v instanceof Error ? v.message : typeof v === 'bigint' ? v.toString() : v;
  }
  return `${JSON.stringify({'@level': level, '@message': message, '@timestamp': hclogTimestamp(), ...extra})}\n`;
}

/** A logger that writes to stderr until `attach` gives it the plugin API. */
export class PluginLogger implements Logger {
  private api: PluginAPI | undefined;

  constructor(private readonly writeStderr: (line: string) => void = (line) => process.stderr.write(line)) {}

  attach(api: PluginAPI | undefined): void {
    this.api = api;
  }

  debug(message: string, fields?: LogFields): void {
    this.emit('debug', message, fields);
  }
  info(message: string, fields?: LogFields): void {
    this.emit('info', message, fields);
  }
  warn(message: string, fields?: LogFields): void {
    this.emit('warn', message, fields);
  }
  error(message: string, fields?: LogFields): void {
    this.emit('error', message, fields);
  }

  private emit(level: LogLevel, message: string, fields?: LogFields): void {
    const api = this.api;
    if (!api) {
      this.writeStderr(hclogLine(level, message, fields));
      return;
    }
    const send =
      level === 'debug' ? api.logDebug : level === 'info' ? api.logInfo : level === 'warn' ? api.logWarn : api.logError;
    send.call(api, message, fields).catch(() => this.writeStderr(hclogLine(level, message, fields)));
  }
}
