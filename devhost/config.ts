// <DEVHOST_DIR>/config.json: a subset of Mattermost's model.Config in its JSON
// form, created with defaults when missing, served over gob by GetConfig
// (sanitized) and GetUnsanitizedConfig. Spec: mattermost-plugin-protocol.md §6.

import {randomBytes} from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';

import {map, struct, type GoType, type StructType} from '../server/src/bridge/gob/index.ts';
import {toGoMap} from '../server/src/bridge/mattermost/values.ts';
import {StringInterfaceMap, StringSlice} from '../server/src/bridge/mattermost/wiretypes.ts';

/** model.FakeSetting: what sanitized secrets read as. */
export const fakeSetting = '********************************';

export type JsonObject = Record<string, unknown>;
export type MMConfig = Record<string, JsonObject>;

export interface ManifestSetting {
  key: string;
  type?: string;
  default?: unknown;
  secret?: boolean;
}

export interface Manifest {
  id: string;
  version?: string;
  server?: {executable?: string; executables?: Record<string, string>};
  settings_schema?: {settings?: ManifestSetting[]};
  [k: string]: unknown;
}

export async function loadManifest(bundleDir: string): Promise<Manifest> {
  return JSON.parse(await fs.readFile(path.join(bundleDir, 'plugin.json'), 'utf8')) as Manifest;
}

// ---------------------------------------------------------------- gob types
// Field types follow model.Config: *string → string, *bool → bool, *int/*int64 → int.
// Go omits nil and zero pointer scalars; the encoder omits undefined/false/0/"".

const S = 'string' as const;
const B = 'bool' as const;
const I = 'int' as const;

function section(name: string, fields: Array<[string, GoType]>): StructType {
  return struct(name, fields);
}

const PluginState = struct('PluginState', [['Enable', B]]);

export const ConfigType: StructType = struct('Config', [
  [
    'ServiceSettings',
    section('ServiceSettings', [
      ['SiteURL', S],
      ['WebsocketURL', S],
      ['ListenAddress', S],
      ['ConnectionSecurity', S],
      ['EnableDeveloper', B],
      ['EnableTesting', B],
      ['EnableInsecureOutgoingConnections', B],
      ['AllowedUntrustedInternalConnections', S],
      ['EnableLocalMode', B],
      ['LocalModeSocketLocation', S],
    ]),
  ],
  ['TeamSettings', section('TeamSettings', [['SiteName', S], ['MaxUsersPerTeam', I]])],
  [
    'SqlSettings',
    section('SqlSettings', [
      ['DriverName', S],
      ['DataSource', S],
      ['DataSourceReplicas', StringSlice],
      ['DataSourceSearchReplicas', StringSlice],
      ['MaxIdleConns', I],
      ['ConnMaxLifetimeMilliseconds', I],
      ['ConnMaxIdleTimeMilliseconds', I],
      ['MaxOpenConns', I],
      ['Trace', B],
      ['AtRestEncryptKey', S],
      ['QueryTimeout', I],
      ['DisableDatabaseSearch', B],
    ]),
  ],
  [
    'LogSettings',
    section('LogSettings', [
      ['EnableConsole', B],
      ['ConsoleLevel', S],
      ['ConsoleJson', B],
      ['EnableFile', B],
      ['FileLevel', S],
      ['FileJson', B],
      ['FileLocation', S],
    ]),
  ],
  [
    'FileSettings',
    section('FileSettings', [
      ['EnableFileAttachments', B],
      ['MaxFileSize', I],
      ['DriverName', S],
      ['Directory', S],
      ['EnablePublicLink', B],
      ['PublicLinkSalt', S],
      ['AmazonS3AccessKeyId', S],
      ['AmazonS3SecretAccessKey', S],
      ['AmazonS3Bucket', S],
      ['AmazonS3PathPrefix', S],
      ['AmazonS3Region', S],
      ['AmazonS3Endpoint', S],
      ['AmazonS3SSL', B],
      ['AmazonS3SignV2', B],
      ['AmazonS3SSE', B],
      ['AmazonS3Trace', B],
      ['AmazonS3RequestTimeoutMilliseconds', I],
      ['AmazonS3UploadPartSizeBytes', I],
      ['DedicatedExportStore', B],
      ['ExportDriverName', S],
      ['ExportDirectory', S],
      ['ExportAmazonS3AccessKeyId', S],
      ['ExportAmazonS3SecretAccessKey', S],
      ['ExportAmazonS3Bucket', S],
      ['ExportAmazonS3PathPrefix', S],
      ['ExportAmazonS3Region', S],
      ['ExportAmazonS3Endpoint', S],
      ['ExportAmazonS3SSL', B],
    ]),
  ],
  [
    'ClusterSettings',
    section('ClusterSettings', [
      ['Enable', B],
      ['ClusterName', S],
      ['OverrideHostname', S],
      ['NetworkInterface', S],
      ['BindAddress', S],
      ['AdvertiseAddress', S],
      ['UseIPAddress', B],
      ['EnableGossipCompression', B],
      ['EnableExperimentalGossipEncryption', B],
      ['ReadOnlyConfig', B],
      ['GossipPort', I],
    ]),
  ],
  [
    'MetricsSettings',
    section('MetricsSettings', [
      ['Enable', B],
      ['BlockProfileRate', I],
      ['ListenAddress', S],
      ['EnableClientMetrics', B],
      ['EnableNotificationMetrics', B],
    ]),
  ],
  [
    'PluginSettings',
    section('PluginSettings', [
      ['Enable', B],
      ['EnableUploads', B],
      ['AllowInsecureDownloadURL', B],
      ['EnableHealthCheck', B],
      ['Directory', S],
      ['ClientDirectory', S],
      ['Plugins', map(S, StringInterfaceMap, 'map[string]map[string]interface {}')],
      ['PluginStates', map(S, PluginState, 'map[string]*model.PluginState')],
      ['EnableMarketplace', B],
      ['RequirePluginSignature', B],
      ['MarketplaceURL', S],
    ]),
  ],
]);

/**
 * A JSON config value → the value the encoder expects for `type`. Values of the
 * wrong JSON type are dropped (they decode as the zero value), like a pointer left nil.
 */
export function toGobValue(type: GoType, v: unknown): unknown {
  if (v === null || v === undefined) return undefined;
  switch (type) {
    case 'string':
      return typeof v === 'string' ? v : undefined;
    case 'bool':
      return typeof v === 'boolean' ? v : undefined;
    case 'int':
    case 'uint':
      return typeof v === 'number' && Number.isInteger(v) ? v : undefined;
    case 'float':
      return typeof v === 'number' ? v : undefined;
    case 'bytes':
      return typeof v === 'string' ? Buffer.from(v) : undefined;
    case 'interface':
    case 'complex':
      return undefined;
  }
  switch (type.kind) {
    case 'struct': {
      if (typeof v !== 'object' || Array.isArray(v)) return {};
      const obj = v as JsonObject;
      const out: JsonObject = {};
      for (const [name, t] of type.fields) {
        const fv = toGobValue(t, obj[name]);
        if (fv !== undefined) out[name] = fv;
      }
      return out;
    }
    case 'slice':
    case 'array':
      return Array.isArray(v) ? v.map((x) => toGobValue(type.elem, x)).filter((x) => x !== undefined) : undefined;
    case 'map': {
      if (typeof v !== 'object' || Array.isArray(v)) return undefined;
      if (type.elem === 'interface') return toGoMap(v as JsonObject);
      const out = new Map<string, unknown>();
      for (const [k, x] of Object.entries(v as JsonObject)) {
        const gx = toGobValue(type.elem, x);
        if (gx !== undefined) out.set(k, gx);
      }
      return out;
    }
    default:
      return undefined;
  }
}

// ---------------------------------------------------------------- defaults

export interface ConfigDefaultsInput {
  dir: string;
  port: number;
  metricsPort: number;
  manifest: Manifest;
}

/** The lower-cased schema defaults, as the System Console would save them. */
export function schemaDefaults(manifest: Manifest): JsonObject {
  const out: JsonObject = {};
  for (const s of manifest.settings_schema?.settings ?? []) {
    if (s.default !== undefined && s.default !== null) out[s.key.toLowerCase()] = s.default;
  }
  return out;
}

export function defaultConfig({dir, port, metricsPort, manifest}: ConfigDefaultsInput): MMConfig {
  return {
    ServiceSettings: {
      SiteURL: `http://localhost:${port}`,
      ListenAddress: `:${port}`,
      ConnectionSecurity: '',
      EnableDeveloper: true,
      EnableTesting: false,
      EnableInsecureOutgoingConnections: false,
      AllowedUntrustedInternalConnections: '',
      EnableLocalMode: false,
    },
    TeamSettings: {SiteName: 'Mattermost dev host', MaxUsersPerTeam: 50},
    SqlSettings: {
      DriverName: 'postgres',
      // A placeholder: the dev host has no database (Mattermost's own default DSN).
      DataSource: 'postgres://mmuser:mostest@localhost/mattermost_test?sslmode=disable&connect_timeout=10&binary_parameters=yes',
      DataSourceReplicas: [],
      DataSourceSearchReplicas: [],
      MaxIdleConns: 20,
      ConnMaxLifetimeMilliseconds: 3600000,
      ConnMaxIdleTimeMilliseconds: 300000,
      MaxOpenConns: 300,
      Trace: false,
      AtRestEncryptKey: randomBytes(16).toString('hex'),
      QueryTimeout: 30,
      DisableDatabaseSearch: false,
    },
    LogSettings: {EnableConsole: true, ConsoleLevel: 'DEBUG', ConsoleJson: false, EnableFile: false, FileLevel: 'INFO', FileJson: true, FileLocation: ''},
    FileSettings: {
      EnableFileAttachments: true,
      MaxFileSize: 104857600,
      DriverName: 'local',
      Directory: path.join(dir, 'filestore'),
      EnablePublicLink: false,
      PublicLinkSalt: randomBytes(16).toString('hex'),
      AmazonS3AccessKeyId: '',
      AmazonS3SecretAccessKey: '',
      AmazonS3Bucket: '',
      AmazonS3PathPrefix: '',
      AmazonS3Region: '',
      AmazonS3Endpoint: 's3.amazonaws.com',
      AmazonS3SSL: true,
      AmazonS3SignV2: false,
      AmazonS3SSE: false,
      AmazonS3Trace: false,
      AmazonS3RequestTimeoutMilliseconds: 30000,
      AmazonS3UploadPartSizeBytes: 5242880,
      DedicatedExportStore: false,
    },
    ClusterSettings: {
      Enable: false,
      ClusterName: 'devhost',
      OverrideHostname: '',
      NetworkInterface: '',
      BindAddress: '',
      AdvertiseAddress: '',
      UseIPAddress: true,
      EnableGossipCompression: true,
      EnableExperimentalGossipEncryption: false,
      ReadOnlyConfig: true,
      GossipPort: 8074,
    },
    MetricsSettings: {Enable: true, BlockProfileRate: 0, ListenAddress: `:${metricsPort}`, EnableClientMetrics: true, EnableNotificationMetrics: true},
    PluginSettings: {
      Enable: true,
      EnableUploads: true,
      AllowInsecureDownloadURL: false,
      EnableHealthCheck: true,
      Directory: path.join(dir, 'plugins'),
      ClientDirectory: path.join(dir, 'client', 'plugins'),
      Plugins: {[manifest.id]: schemaDefaults(manifest)},
      PluginStates: {[manifest.id]: {Enable: true}},
      EnableMarketplace: false,
      RequirePluginSignature: false,
      MarketplaceURL: 'https://api.integrations.mattermost.com',
    },
  };
}

// ------------------------------------------------------------------- store

/** Values the dev host decides at run time (the real ports), laid over the file. */
export interface RuntimeOverrides {
  siteURL?: string;
  listenAddress?: string;
  metricsListenAddress?: string;
}

export interface ConfigStoreOptions extends ConfigDefaultsInput {
  file: string;
}

function clone<T>(v: T): T {
  return structuredClone(v);
}

function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Sections missing from the file get their defaults; the file wins field by field. */
function overlay(defaults: MMConfig, file: JsonObject): MMConfig {
  const out = clone(defaults);
  for (const [name, value] of Object.entries(file)) {
    if (isObject(value) && isObject(out[name])) out[name] = {...out[name], ...value};
    else if (isObject(value)) out[name] = value;
  }
  return out;
}

export class ConfigStore {
  private overrides: RuntimeOverrides = {};
  private chain: Promise<void> = Promise.resolve();

  private constructor(
    private config: MMConfig,
    readonly manifest: Manifest,
    private readonly file: string,
  ) {}

  /** Reads config.json, writing it with defaults first if it does not exist. */
  static async open(opts: ConfigStoreOptions): Promise<ConfigStore> {
    const defaults = defaultConfig(opts);
    let text: string | undefined;
    try {
      text = await fs.readFile(opts.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    let config: MMConfig;
    if (text === undefined) {
      config = defaults;
      await writeJsonAtomic(opts.file, config);
    } else {
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch (err) {
        throw new Error(`${opts.file}: not valid JSON: ${(err as Error).message}`);
      }
      if (!isObject(parsed)) throw new Error(`${opts.file}: expected a JSON object`);
      config = overlay(defaults, parsed);
    }
    const store = new ConfigStore(config, opts.manifest, opts.file);
    await fs.mkdir(String(config.FileSettings?.Directory ?? path.join(opts.dir, 'filestore')), {recursive: true});
    return store;
  }

  setOverrides(o: RuntimeOverrides): void {
    this.overrides = {...o};
  }

  /** The unsanitized config (a copy), with the runtime values applied. */
  get(): MMConfig {
    const c = clone(this.config);
    const o = this.overrides;
    c.ServiceSettings ??= {};
    c.MetricsSettings ??= {};
    if (o.siteURL !== undefined) c.ServiceSettings.SiteURL = o.siteURL;
    if (o.listenAddress !== undefined) c.ServiceSettings.ListenAddress = o.listenAddress;
    if (o.metricsListenAddress !== undefined) c.MetricsSettings.ListenAddress = o.metricsListenAddress;
    return c;
  }

  /** What GetConfig returns: Config.Sanitize for the sections we carry. */
  sanitized(): MMConfig {
    return sanitize(this.get(), this.manifest);
  }

  /** The saved settings of this plugin (PluginSettings.Plugins[id]), or undefined. */
  pluginSettings(): JsonObject | undefined {
    const plugins = this.config.PluginSettings?.Plugins;
    const mine = isObject(plugins) ? plugins[this.manifest.id] : undefined;
    return isObject(mine) ? clone(mine) : undefined;
  }

  /** SavePluginConfig: replaces this plugin's saved settings and writes config.json. */
  async savePluginSettings(settings: JsonObject): Promise<void> {
    const ps = (this.config.PluginSettings ??= {});
    const plugins = isObject(ps.Plugins) ? ps.Plugins : (ps.Plugins = {});
    (plugins as JsonObject)[this.manifest.id] = clone(settings);
    await this.save();
  }

  /** SaveConfig: replaces the whole config (as the System Console's save does) and writes config.json. */
  async saveConfig(next: MMConfig): Promise<void> {
    this.config = clone(next);
    await this.save();
  }

  /** LoadPluginConfiguration: schema defaults (nil when none) overlaid with saved values, keys lower-cased. */
  loadPluginConfiguration(): Buffer {
    const out: JsonObject = {};
    for (const s of this.manifest.settings_schema?.settings ?? []) out[s.key.toLowerCase()] = s.default ?? null;
    for (const [k, v] of Object.entries(this.pluginSettings() ?? {})) out[k.toLowerCase()] = v;
    // encoding/json writes map keys sorted.
    const sorted = Object.fromEntries(Object.keys(out).sort().map((k) => [k, out[k]]));
    return Buffer.from(JSON.stringify(sorted));
  }

  private save(): Promise<void> {
    const snapshot = clone(this.config);
    const p = this.chain.then(() => writeJsonAtomic(this.file, snapshot));
    this.chain = p.catch(() => {});
    return p;
  }
}

export function sanitize(input: MMConfig, manifest?: Manifest): MMConfig {
  const c = clone(input);
  const sql = c.SqlSettings;
  if (sql) {
    if (typeof sql.DataSource === 'string') sql.DataSource = fakeSetting;
    if (typeof sql.AtRestEncryptKey === 'string') sql.AtRestEncryptKey = fakeSetting;
    for (const k of ['DataSourceReplicas', 'DataSourceSearchReplicas']) {
      if (Array.isArray(sql[k])) sql[k] = (sql[k] as unknown[]).map(() => fakeSetting);
    }
  }
  const files = c.FileSettings;
  if (files) {
    if (typeof files.PublicLinkSalt === 'string') files.PublicLinkSalt = fakeSetting;
    for (const k of ['AmazonS3SecretAccessKey', 'ExportAmazonS3SecretAccessKey']) {
      if (typeof files[k] === 'string' && files[k] !== '') files[k] = fakeSetting;
    }
  }
  // Plugin settings marked secret in the manifest.
  const plugins = c.PluginSettings?.Plugins;
  if (manifest && isObject(plugins) && isObject(plugins[manifest.id])) {
    const mine = plugins[manifest.id] as JsonObject;
    for (const s of manifest.settings_schema?.settings ?? []) {
      if (!s.secret) continue;
      for (const k of Object.keys(mine)) if (k.toLowerCase() === s.key.toLowerCase() && mine[k] !== '') mine[k] = fakeSetting;
    }
  }
  return c;
}

/** The gob value of a config for ConfigType. */
export function gobConfig(c: MMConfig): unknown {
  return toGobValue(ConfigType, c);
}

export async function writeJsonAtomic(file: string, data: unknown): Promise<void> {
  await fs.mkdir(path.dirname(file), {recursive: true});
  const tmp = `${file}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  const fh = await fs.open(tmp, 'w');
  try {
    await fh.writeFile(`${JSON.stringify(data, null, 2)}\n`);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await fs.rename(tmp, file);
}
