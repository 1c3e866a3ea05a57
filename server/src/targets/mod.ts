// Target discovery: which endpoints to scrape (Mattermost app nodes, Calls plugin,
// rtcd, node exporters) and keeping that list current. See README.md.

export {
  type DbConnectionSpec,
  DsnError,
  type DsnErrorCode,
  type MysqlConnectionSpec,
  type MysqlTlsMode,
  type PgConnectionSpec,
  type PgSslMode,
  describeSpec,
  parseDataSource,
  parseMysqlDsn,
  parsePostgresDsn,
  redactDataSource,
} from './dsn.ts';
export {
  CDS_OFFLINE_AFTER_MS,
  CDS_TYPE_APP,
  ClusterDiscoveryClient,
  type ClusterDiscoveryOptions,
  type ClusterNode,
  DiscoveryError,
  type DiscoveryErrorCode,
  type NodeDiscovery,
} from './discovery.ts';
export {
  CALLS_METRICS_PATH,
  CALLS_PLUGIN_ID,
  JOB_APP,
  JOB_CALLS,
  JOB_NODE_EXPORTER,
  type Target,
  TargetConfigError,
  type TargetSettings,
  type Topology,
  callsEnabledInConfig,
  parseRtcdServiceUrl,
  resolveTargets,
  rtcdServiceUrl,
} from './resolve.ts';
export {AvailabilityCache, type ProbeFn, tcpProbe} from './probe.ts';
export {TargetWatcher, type TargetWatcherOptions, type TargetWatcherStatus, type TargetsLogger} from './watcher.ts';
