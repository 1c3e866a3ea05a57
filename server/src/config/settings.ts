// The plugin's settings: one table defines each setting's key (as in plugin.json),
// type, default and limits. Mattermost stores keys lower-cased
// (LoadPluginConfiguration) or as saved (ConfigurationWillBeSaved), and the System
// Console may store numbers and booleans as strings: match keys case-insensitively
// and accept both forms.

export interface Settings {
  dbPath: string;
  scrapeIntervalSeconds: number;
  scrapeTimeoutSeconds: number;
  honorLabels: boolean;
  honorTimestamps: boolean;
  bodySizeLimitBytes: number;
  sampleLimit: number;
  labelLimit: number;
  labelNameLengthLimit: number;
  labelValueLengthLimit: number;
  enableNodeExporterTargets: boolean;
  nodeExporterPort: number;
  localRetentionHours: number;
  localRetentionSizeMB: number;
  retentionDurationDays: number;
  fileStoreSyncPeriodMinutes: number;
  fileStoreCleanupPeriodMinutes: number;
  dumpRetentionDays: number;
  dumpRetentionTotalMB: number;
  supportPacketMetricsDays: number;
}

type Kind = 'string' | 'int' | 'bool';

interface Spec<K extends keyof Settings> {
  field: K;
  /** The key in plugin.json's settings_schema. */
  key: string;
  kind: Kind;
  default: Settings[K];
  min?: number;
  max?: number;
  /** What the limit means, for the error message. */
  hint?: string;
}

const GiB = 1024 * 1024 * 1024;

export const settingSpecs: ReadonlyArray<Spec<keyof Settings>> = [
  {field: 'dbPath', key: 'DBPath', kind: 'string', default: 'mattermost-plugin-metrics/data'},
  {field: 'scrapeIntervalSeconds', key: 'ScrapeIntervalSeconds', kind: 'int', default: 60, min: 1, max: 3600},
  {field: 'scrapeTimeoutSeconds', key: 'ScrapeTimeoutSeconds', kind: 'int', default: 10, min: 1, max: 3600},
  {field: 'honorLabels', key: 'HonorLabels', kind: 'bool', default: false},
  {field: 'honorTimestamps', key: 'HonorTimestamps', kind: 'bool', default: true},
  {field: 'bodySizeLimitBytes', key: 'BodySizeLimitBytes', kind: 'int', default: GiB, min: 100, hint: 'smaller bodies are not realistic for /metrics'},
  {field: 'sampleLimit', key: 'SampleLimit', kind: 'int', default: 0, min: 0, hint: '0 means no limit'},
  {field: 'labelLimit', key: 'LabelLimit', kind: 'int', default: 0, min: 0, hint: '0 means no limit'},
  {field: 'labelNameLengthLimit', key: 'LabelNameLengthLimit', kind: 'int', default: 0, min: 0, hint: '0 means no limit'},
  {field: 'labelValueLengthLimit', key: 'LabelValueLengthLimit', kind: 'int', default: 0, min: 0, hint: '0 means no limit'},
  {field: 'enableNodeExporterTargets', key: 'EnableNodeExporterTargets', kind: 'bool', default: true},
  {field: 'nodeExporterPort', key: 'NodeExporterPort', kind: 'int', default: 9100, min: 1, max: 65535},
  {field: 'localRetentionHours', key: 'LocalRetentionHours', kind: 'int', default: 72, min: 3, hint: 'a block needs 3 h of head data'},
  {field: 'localRetentionSizeMB', key: 'LocalRetentionSizeMB', kind: 'int', default: 2048, min: 64},
  {field: 'retentionDurationDays', key: 'RetentionDurationDays', kind: 'int', default: 15, min: 1},
  {field: 'fileStoreSyncPeriodMinutes', key: 'FileStoreSyncPeriodMinutes', kind: 'int', default: 60, min: 1},
  {field: 'fileStoreCleanupPeriodMinutes', key: 'FileStoreCleanupPeriodMinutes', kind: 'int', default: 120, min: 1},
  {field: 'dumpRetentionDays', key: 'DumpRetentionDays', kind: 'int', default: 30, min: 1},
  {field: 'dumpRetentionTotalMB', key: 'DumpRetentionTotalMB', kind: 'int', default: 10240, min: 100},
  {field: 'supportPacketMetricsDays', key: 'SupportPacketMetricsDays', kind: 'int', default: 1, min: 1, max: 30, hint: 'at least one day of metrics goes into the Support Packet'},
];

export const defaultSettings: Readonly<Settings> = Object.freeze(
  Object.fromEntries(settingSpecs.map((s) => [s.field, s.default])) as unknown as Settings,
);

export class SettingsError extends Error {
  override name = 'SettingsError';
  constructor(readonly problems: string[]) {
    super(`invalid plugin settings: ${problems.join('; ')}`);
  }
}

function convert(spec: Spec<keyof Settings>, raw: unknown): {value?: unknown; problem?: string} {
  if (raw === null || raw === undefined || raw === '') return {};
  switch (spec.kind) {
    case 'string':
      return typeof raw === 'string' ? {value: raw.trim()} : {problem: `${spec.key} must be text`};
    case 'bool':
      if (typeof raw === 'boolean') return {value: raw};
      if (raw === 'true' || raw === 'false') return {value: raw === 'true'};
      return {problem: `${spec.key} must be true or false, got ${JSON.stringify(raw)}`};
    case 'int': {
      const n = typeof raw === 'number' ? raw : typeof raw === 'string' && /^\s*-?\d+(\.\d+)?\s*$/.test(raw) ? Number(raw) : NaN;
      if (!Number.isFinite(n) || !Number.isInteger(n)) return {problem: `${spec.key} must be a whole number, got ${JSON.stringify(raw)}`};
      const range = spec.max !== undefined ? `between ${spec.min} and ${spec.max}` : `at least ${spec.min}`;
      if ((spec.min !== undefined && n < spec.min) || (spec.max !== undefined && n > spec.max)) {
        return {problem: `${spec.key} must be ${range}${spec.hint ? ` (${spec.hint})` : ''}, got ${n}`};
      }
      return {value: n};
    }
  }
}

/**
 * Reads settings from a saved or loaded plugin config (keys in any case). Missing
 * values take their defaults; invalid ones are reported, never silently replaced.
 */
export function parseSettings(raw: Readonly<Record<string, unknown>> | undefined): {settings: Settings; problems: string[]} {
  const byKey = new Map(Object.entries(raw ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
  const settings = {...defaultSettings} as Record<keyof Settings, unknown>;
  const problems: string[] = [];
  for (const spec of settingSpecs) {
    const {value, problem} = convert(spec, byKey.get(spec.key.toLowerCase()));
    if (problem) problems.push(problem);
    else if (value !== undefined) settings[spec.field] = value;
  }
  const s = settings as Settings;
  if (s.scrapeTimeoutSeconds > s.scrapeIntervalSeconds) {
    problems.push(`ScrapeTimeoutSeconds (${s.scrapeTimeoutSeconds}) must not exceed ScrapeIntervalSeconds (${s.scrapeIntervalSeconds})`);
  }
  if (s.dbPath === '') problems.push('DBPath must not be empty');
  return {settings: s, problems};
}

/** Like parseSettings, but throws SettingsError listing every problem. */
export function requireValidSettings(raw: Readonly<Record<string, unknown>> | undefined): Settings {
  const {settings, problems} = parseSettings(raw);
  if (problems.length > 0) throw new SettingsError(problems);
  return settings;
}

/** Which settings differ between two configurations (for live re-application and logs). */
export function changedSettings(a: Settings, b: Settings): Array<keyof Settings> {
  return settingSpecs.map((s) => s.field).filter((f) => a[f] !== b[f]);
}
