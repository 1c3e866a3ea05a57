// Readable log lines for the dev host: `[plugin] info  message k=v`. Parses the
// plugin's stderr the way go-plugin + Mattermost's hclogAdapter do (spec §1.4).

export type Level = 'debug' | 'info' | 'warn' | 'error';
export type Source = 'devhost' | 'plugin';

export interface LogEntry {
  time: number;
  source: Source;
  level: Level;
  message: string;
  fields: Record<string, string>;
  channel?: Channel;
}

const rank: Record<Level, number> = {debug: 0, info: 1, warn: 2, error: 3};

export function isLevel(s: string): s is Level {
  return s in rank;
}

function quote(v: string): string {
  return v === '' || /[\s"=]/.test(v) ? JSON.stringify(v) : v;
}

export function formatEntry(e: Pick<LogEntry, 'source' | 'level' | 'message' | 'fields'>): string {
  const kv = Object.entries(e.fields).map(([k, v]) => `${k}=${quote(v)}`);
  return [`[${e.source}]`, e.level.padEnd(5), e.message, ...kv].join(' ').trimEnd();
}

function stringify(v: unknown): string {
  if (typeof v === 'string') return v;
  if (v === null || v === undefined) return String(v);
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

/** hclog level names as hclogAdapter maps them: trace→debug, unknown→error. */
function hclogLevel(s: unknown): Level {
  switch (String(s).toLowerCase()) {
    case 'trace':
    case 'debug':
      return 'debug';
    case 'info':
      return 'info';
    case 'warn':
      return 'warn';
    default:
      return 'error';
  }
}

/**
 * Stateful parser for the plugin process's stderr lines: hclog JSON, or plain
 * text with an optional [LEVEL] prefix. After a line starting with `panic: ` or
 * `fatal error: ` every later plain line is an error (go-plugin does this).
 */
export class StderrParser {
  private panicking = false;

  parse(line: string): Pick<LogEntry, 'level' | 'message' | 'fields'> {
    if (line.startsWith('{')) {
      try {
        const obj = JSON.parse(line) as Record<string, unknown>;
        if (obj && typeof obj === 'object' && '@message' in obj) {
          const fields: Record<string, string> = {};
          for (const [k, v] of Object.entries(obj)) if (!k.startsWith('@')) fields[k] = stringify(v);
          return {level: hclogLevel(obj['@level']), message: stringify(obj['@message']), fields};
        }
      } catch {
        // not JSON: a plain line
      }
    }
    if (line.startsWith('panic: ') || line.startsWith('fatal error: ')) this.panicking = true;
    if (this.panicking) return {level: 'error', message: line, fields: {}};
    const m = /^\[(TRACE|DEBUG|INFO|WARN|ERROR)\]\s*(.*)$/.exec(line);
    if (m) return {level: hclogLevel(m[1]), message: m[2], fields: {}};
    return {level: 'debug', message: line, fields: {}};
  }
}

/** LogX API args: B is alternating key, value (the Go library stringifies every element). */
export function fieldsFromKeyValues(kv: unknown[]): Record<string, string> {
  const fields: Record<string, string> = {};
  for (let i = 0; i < kv.length; i += 2) {
    if (i + 1 >= kv.length) {
      fields['!BADKEY'] = stringify(kv[i]);
      break;
    }
    fields[stringify(kv[i])] = stringify(kv[i + 1]);
  }
  return fields;
}

/** Where a plugin line came from: its stderr (fd 2), an API LogX call, or the yamux stdout/stderr streams. */
export type Channel = 'stderr' | 'api' | 'plugin_stdout' | 'plugin_stderr';

export interface LoggerOptions {
  /** Entries below this level are not printed (they are still kept in `recent`). */
  level?: Level;
  /** Where printed lines go; default: the plugin's stderr lines and devhost warnings to stderr, the rest to stdout. */
  write?: (line: string, entry: LogEntry) => void;
  /** How many entries `recent` keeps. */
  keep?: number;
}

export class DevLogger {
  readonly recent: LogEntry[] = [];
  private readonly level: Level;
  private readonly write: (line: string, entry: LogEntry) => void;
  private readonly keep: number;
  private readonly listeners = new Set<(e: LogEntry) => void>();

  constructor(opts: LoggerOptions = {}) {
    this.level = opts.level ?? 'debug';
    this.keep = opts.keep ?? 1000;
    this.write =
      opts.write ??
      ((line, e) => {
        const toStderr = e.channel === 'stderr' || (e.source === 'devhost' && rank[e.level] >= rank.warn);
        (toStderr ? process.stderr : process.stdout).write(`${line}\n`);
      });
  }

  log(source: Source, level: Level, message: string, fields: Record<string, unknown> = {}, channel?: Channel): void {
    const f: Record<string, string> = {};
    for (const [k, v] of Object.entries(fields)) if (v !== undefined) f[k] = stringify(v);
    if (channel === 'plugin_stdout' || channel === 'plugin_stderr') f.source = channel;
    const entry: LogEntry = {time: Date.now(), source, level, message, fields: f, channel};
    this.recent.push(entry);
    if (this.recent.length > this.keep) this.recent.splice(0, this.recent.length - this.keep);
    for (const l of this.listeners) l(entry);
    if (rank[level] < rank[this.level]) return;
    this.write(formatEntry(entry), entry);
  }

  /** Called for every entry (tests wait on these). Returns an unsubscribe function. */
  onEntry(listener: (e: LogEntry) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  debug(message: string, fields?: Record<string, unknown>): void {
    this.log('devhost', 'debug', message, fields);
  }
  info(message: string, fields?: Record<string, unknown>): void {
    this.log('devhost', 'info', message, fields);
  }
  warn(message: string, fields?: Record<string, unknown>): void {
    this.log('devhost', 'warn', message, fields);
  }
  error(message: string, fields?: Record<string, unknown>): void {
    this.log('devhost', 'error', message, fields);
  }
}
