// The dashboard's sections, panels and PromQL (26 panels, 36 queries; spec §1.6).
//
// Differences from upstream, on purpose:
// - Totals that differ per node (HTTP requests, DB calls, WebSocket connections,
//   goroutines) are split `by (instance)`, so an HA cluster shows one line per node.
// - Go runtime metrics are limited to `job="prometheus"` (the Mattermost app targets):
//   node exporter and the Calls plugin export `go_*` too and would mix processes.
// - Replica lag is labelled by `node` (the replica) and `instance` (the app node).

export type Unit = 'bytes' | '%' | 's' | 'req/s' | 'calls/s' | 'msg/s' | 'events/s' | '';

export type Labels = Record<string, string>;

export interface QueryDef {
  expr: string;
  legend: (labels: Labels) => string;
}

export interface PanelDef {
  /** Stable id, also the react-intl id suffix (`dashboard.panel.<id>`). */
  id: string;
  title: string;
  unit?: Unit;
  queries: readonly QueryDef[];
}

export interface SectionDef {
  /** Stable id, also the react-intl id suffix (`dashboard.section.<id>`). */
  id: string;
  title: string;
  panels: readonly PanelDef[];
}

/** A legend that is always the same text (series of a single-series query). */
export function fixed(text: string): (labels: Labels) => string {
  return () => text;
}

/** The values of the given labels, joined with " / "; the first label name if all are missing. */
export function byLabel(...names: string[]): (labels: Labels) => string {
  return (labels) => {
    const parts = names.map((n) => labels[n]).filter((v): v is string => v !== undefined && v !== '');
    return parts.length > 0 ? parts.join(' / ') : names[0];
  };
}

const APP = 'job="prometheus"';

const quantiles = (bucketSelector: string, window: string): QueryDef[] => [
  {expr: `histogram_quantile(0.99, sum(rate(${bucketSelector}[${window}])) by (le))`, legend: fixed('p99')},
  {expr: `histogram_quantile(0.50, sum(rate(${bucketSelector}[${window}])) by (le))`, legend: fixed('p50')},
];

const pool = (dbName: string): QueryDef[] => [
  {expr: `sum(go_sql_open_connections{db_name${dbName}})`, legend: fixed('open')},
  {expr: `sum(go_sql_in_use_connections{db_name${dbName}})`, legend: fixed('in use')},
  {expr: `sum(rate(go_sql_wait_count_total{db_name${dbName}}[5m]))`, legend: fixed('waiting')},
];

export const SECTIONS: readonly SectionDef[] = [
  {
    id: 'http',
    title: 'HTTP / API',
    panels: [
      {id: 'httpRequests', title: 'HTTP Requests/s', unit: 'req/s', queries: [
        {expr: 'sum by (instance) (rate(mattermost_http_requests_total[2m]))', legend: byLabel('instance')},
      ]},
      {id: 'apiLatency', title: 'API Latency', unit: 's', queries: quantiles('mattermost_api_time_bucket', '2m')},
      {id: 'topApiCount', title: 'Top 10 API Requests by Count', unit: 'req/s', queries: [
        {expr: 'topk(10, sum(rate(mattermost_api_time_count[5m])) by (handler))', legend: byLabel('handler')},
      ]},
      {id: 'topApiDuration', title: 'Top 10 API Requests by Duration', unit: 's', queries: [
        {
          expr: 'topk(10, sum(rate(mattermost_api_time_sum[5m])) by (handler) / sum(rate(mattermost_api_time_count[5m])) by (handler))',
          legend: byLabel('handler'),
        },
      ]},
      {id: 'channelLoad', title: 'Channel Load Duration', unit: 's',
        queries: quantiles('mattermost_api_time_bucket{handler="getPostsForChannelAroundLastUnread"}', '5m')},
      {id: 'createPost', title: 'Create Post Duration', unit: 's',
        queries: quantiles('mattermost_api_time_bucket{handler="createPost"}', '5m')},
    ],
  },
  {
    id: 'database',
    title: 'Database',
    panels: [
      {id: 'dbCalls', title: 'DB Calls/s', unit: 'calls/s', queries: [
        {expr: 'sum by (instance) (rate(mattermost_db_store_time_count[5m]))', legend: byLabel('instance')},
      ]},
      {id: 'storeLatency', title: 'Store Latency', unit: 's', queries: quantiles('mattermost_db_store_time_bucket', '2m')},
      {id: 'topDbCount', title: 'Top 10 DB Calls by Count', unit: 'calls/s', queries: [
        {expr: 'topk(10, sum(rate(mattermost_db_store_time_count[5m])) by (method))', legend: byLabel('method')},
      ]},
      {id: 'topDbDuration', title: 'Top 10 DB Calls by Duration', unit: 's', queries: [
        {
          expr: 'topk(10, sum(rate(mattermost_db_store_time_sum[5m])) by (method) / sum(rate(mattermost_db_store_time_count[5m])) by (method))',
          legend: byLabel('method'),
        },
      ]},
      {id: 'dbConnections', title: 'DB Connections', queries: [
        {expr: 'sum(mattermost_db_master_connections_total)', legend: fixed('master')},
        {expr: 'sum(mattermost_db_read_replica_connections_total)', legend: fixed('replica')},
      ]},
      {id: 'poolMaster', title: 'Connection Pool (Master)', queries: pool('="master"')},
      {id: 'poolReplica', title: 'Connection Pool (Replica)', queries: pool('=~"replica.*"')},
      {id: 'replicaLag', title: 'Replica Lag', unit: 's', queries: [
        {expr: 'mattermost_db_replica_lag_time', legend: byLabel('node', 'instance')},
      ]},
    ],
  },
  {
    id: 'websocket',
    title: 'WebSocket',
    panels: [
      {id: 'wsConnections', title: 'WebSocket Connections', queries: [
        {expr: 'sum by (instance) (mattermost_http_websockets_total)', legend: byLabel('instance')},
      ]},
      {id: 'wsBuffer', title: 'WebSocket Buffer Size', queries: [
        {expr: 'sum(mattermost_websocket_broadcast_buffer_size)', legend: fixed('buffer')},
      ]},
      {id: 'wsBroadcasts', title: 'WebSocket Broadcasts/s', unit: 'msg/s', queries: [
        {expr: 'sum(rate(mattermost_websocket_broadcasts_total[5m])) by (name)', legend: byLabel('name')},
      ]},
      {id: 'wsEvents', title: 'WebSocket Events/s', unit: 'events/s', queries: [
        {expr: 'sum(rate(mattermost_websocket_event_total[5m])) by (type)', legend: byLabel('type')},
      ]},
      {id: 'wsReconnects', title: 'WebSocket Reconnects', queries: [
        {expr: 'sum(increase(mattermost_websocket_reconnects_total[10m]))', legend: fixed('reconnects')},
      ]},
    ],
  },
  {
    id: 'cluster',
    title: 'Cluster',
    panels: [
      {id: 'clusterHealth', title: 'Cluster Health Score', queries: [
        {expr: 'mattermost_cluster_cluster_health_score', legend: byLabel('instance')},
      ]},
      {id: 'clusterDuration', title: 'Cluster Request Duration', unit: 's',
        queries: quantiles('mattermost_cluster_cluster_request_duration_seconds_bucket', '5m')},
      {id: 'clusterRequests', title: 'Cluster Requests/s', unit: 'req/s', queries: [
        {expr: 'sum(rate(mattermost_cluster_cluster_request_duration_seconds_count[5m]))', legend: fixed('total')},
      ]},
    ],
  },
  {
    id: 'jobs',
    title: 'Jobs',
    panels: [
      {id: 'activeJobs', title: 'Active Jobs', queries: [
        {expr: 'sum(mattermost_jobs_active)', legend: fixed('active')},
      ]},
    ],
  },
  {
    id: 'runtime',
    title: 'Process / Runtime',
    panels: [
      {id: 'cpu', title: 'CPU Utilization', unit: '%', queries: [
        {expr: 'irate(mattermost_process_cpu_seconds_total[5m]) * 100', legend: byLabel('instance')},
      ]},
      {id: 'heap', title: 'Heap In Use', unit: 'bytes', queries: [
        {expr: `go_memstats_heap_inuse_bytes{${APP}}`, legend: byLabel('instance')},
      ]},
      {id: 'goroutines', title: 'Goroutines', queries: [
        {expr: `sum by (instance) (go_goroutines{${APP}})`, legend: byLabel('instance')},
      ]},
    ],
  },
];

/** Every query of every panel, in display order (what one refresh fetches). */
export function allQueries(sections: readonly SectionDef[] = SECTIONS): string[] {
  return sections.flatMap((s) => s.panels.flatMap((p) => p.queries.map((q) => q.expr)));
}
