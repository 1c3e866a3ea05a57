// Query sets for the differential test and the benchmark.

/** The 36 expressions of upstream's dashboard (spec upstream-dashboard.md §1.6). */
export const UPSTREAM_PANEL_QUERIES: readonly string[] = [
  'sum(rate(mattermost_http_requests_total[2m]))',
  'histogram_quantile(0.99, sum(rate(mattermost_api_time_bucket[2m])) by (le))',
  'histogram_quantile(0.50, sum(rate(mattermost_api_time_bucket[2m])) by (le))',
  'topk(10, sum(rate(mattermost_api_time_count[5m])) by (handler))',
  'topk(10, sum(rate(mattermost_api_time_sum[5m])) by (handler) / sum(rate(mattermost_api_time_count[5m])) by (handler))',
  'histogram_quantile(0.99, sum(rate(mattermost_api_time_bucket{handler="getPostsForChannelAroundLastUnread"}[5m])) by (le))',
  'histogram_quantile(0.50, sum(rate(mattermost_api_time_bucket{handler="getPostsForChannelAroundLastUnread"}[5m])) by (le))',
  'histogram_quantile(0.99, sum(rate(mattermost_api_time_bucket{handler="createPost"}[5m])) by (le))',
  'histogram_quantile(0.50, sum(rate(mattermost_api_time_bucket{handler="createPost"}[5m])) by (le))',
  'sum(rate(mattermost_db_store_time_count[5m]))',
  'histogram_quantile(0.99, sum(rate(mattermost_db_store_time_bucket[2m])) by (le))',
  'histogram_quantile(0.50, sum(rate(mattermost_db_store_time_bucket[2m])) by (le))',
  'topk(10, sum(rate(mattermost_db_store_time_count[5m])) by (method))',
  'topk(10, sum(rate(mattermost_db_store_time_sum[5m])) by (method) / sum(rate(mattermost_db_store_time_count[5m])) by (method))',
  'sum(mattermost_db_master_connections_total)',
  'sum(mattermost_db_read_replica_connections_total)',
  'sum(go_sql_open_connections{db_name="master"})',
  'sum(go_sql_in_use_connections{db_name="master"})',
  'sum(rate(go_sql_wait_count_total{db_name="master"}[5m]))',
  'sum(go_sql_open_connections{db_name=~"replica.*"})',
  'sum(go_sql_in_use_connections{db_name=~"replica.*"})',
  'sum(rate(go_sql_wait_count_total{db_name=~"replica.*"}[5m]))',
  'mattermost_db_replica_lag_time',
  'sum(mattermost_http_websockets_total)',
  'sum(mattermost_websocket_broadcast_buffer_size)',
  'sum(rate(mattermost_websocket_broadcasts_total[5m])) by (name)',
  'sum(rate(mattermost_websocket_event_total[5m])) by (type)',
  'sum(increase(mattermost_websocket_reconnects_total[10m]))',
  'mattermost_cluster_cluster_health_score',
  'histogram_quantile(0.99, sum(rate(mattermost_cluster_cluster_request_duration_seconds_bucket[5m])) by (le))',
  'histogram_quantile(0.50, sum(rate(mattermost_cluster_cluster_request_duration_seconds_bucket[5m])) by (le))',
  'sum(rate(mattermost_cluster_cluster_request_duration_seconds_count[5m]))',
  'sum(mattermost_jobs_active)',
  'irate(mattermost_process_cpu_seconds_total[5m]) * 100',
  'go_memstats_heap_inuse_bytes',
  'sum(go_goroutines)',
];

/**
 * Our own set. `$T2H` / `$T5H` are replaced by fixture times (seconds) for `@`.
 * Several are errors on purpose: both sides must refuse them.
 */
export const OWN_QUERIES: readonly string[] = [
  // selectors and matchers
  'go_goroutines',
  'mattermost_http_requests_total',
  '{__name__=~"go_.*", job="mattermost"}',
  '{__name__=~"mattermost_db_.*_connections_total"}',
  'go_sql_open_connections{db_name!="master"}',
  'go_sql_open_connections{db_name!~"rep.*", instance=~"app-[12].*"}',
  'go_sql_open_connections{db_name=~"(?i)MASTER"}',
  'go_goroutines[5m]',
  // rates, counters, resets
  'rate(mattermost_http_requests_total[5m])',
  'rate(mattermost_http_requests_total[1m])',
  'increase(mattermost_http_requests_total[10m])',
  'irate(mattermost_http_requests_total[2m])',
  'rate(mattermost_http_requests_total{instance="app-2:8067"}[10m])',
  'increase(mattermost_http_requests_total{instance="app-2:8067"}[1h])',
  'resets(mattermost_http_requests_total[1h])',
  'delta(go_goroutines[10m])',
  'idelta(go_goroutines[5m])',
  'deriv(go_memstats_heap_inuse_bytes[10m])',
  'predict_linear(go_memstats_heap_inuse_bytes[30m], 3600)',
  'holt_winters(go_goroutines[30m], 0.5, 0.3)',
  'changes(go_goroutines[30m])',
  // *_over_time
  'avg_over_time(go_goroutines[15m])',
  'sum_over_time(go_goroutines[15m])',
  'min_over_time(go_memstats_heap_inuse_bytes[15m])',
  'max_over_time(go_memstats_heap_inuse_bytes[15m])',
  'count_over_time(go_goroutines[15m])',
  'last_over_time(go_goroutines[15m])',
  'quantile_over_time(0.9, go_memstats_heap_inuse_bytes[15m])',
  'stddev_over_time(go_memstats_heap_inuse_bytes[15m])',
  'stdvar_over_time(go_goroutines[15m])',
  'present_over_time(go_goroutines[3m])',
  'absent_over_time(go_goroutines{instance="app-4:8067"}[3m])',
  'absent_over_time(nonexistent_metric[5m])',
  // histograms
  'histogram_quantile(0.9, sum by (le, instance) (rate(mattermost_api_time_bucket[5m])))',
  'histogram_quantile(scalar(vector(0.75)), sum by (le) (rate(mattermost_db_store_time_bucket[5m])))',
  'histogram_quantile(0.99, rate(mattermost_api_time_bucket[5m]))',
  'histogram_quantile(0.5, sum by (le, handler) (increase(mattermost_api_time_bucket[10m])))',
  'histogram_quantile(1.5, sum by (le) (rate(mattermost_api_time_bucket[5m])))',
  // aggregations
  'sum by (instance) (rate(mattermost_api_time_count[5m]))',
  'sum without (handler) (rate(mattermost_api_time_count[5m]))',
  'sum(rate(mattermost_api_time_count[5m])) without (handler, job)',
  'avg by (job) (go_goroutines)',
  'min(go_goroutines)',
  'max by (instance) (go_sql_open_connections)',
  'count(go_goroutines)',
  'count by (instance) (mattermost_http_requests_total)',
  'count_values("value", mattermost_jobs_active)',
  'stddev(go_memstats_heap_inuse_bytes)',
  'stdvar by (job) (go_memstats_heap_inuse_bytes)',
  'group by (instance) (go_goroutines)',
  'quantile(0.9, rate(mattermost_http_requests_total[5m]))',
  'quantile by (job) (0.25, go_memstats_heap_inuse_bytes)',
  'topk(3, rate(mattermost_api_time_count[5m]))',
  'topk(2, go_memstats_heap_inuse_bytes)',
  'bottomk(2, sum by (method) (rate(mattermost_db_store_time_count[5m])))',
  'topk by (instance) (1, rate(mattermost_api_time_count[5m]))',
  // counter ratios and arithmetic
  'sum(rate(mattermost_api_time_sum[5m])) / sum(rate(mattermost_api_time_count[5m]))',
  'rate(mattermost_api_time_sum[5m]) / rate(mattermost_api_time_count[5m])',
  'sum by (instance) (rate(mattermost_db_store_time_count[5m])) / on(instance) sum by (instance) (rate(mattermost_http_requests_total[5m]))',
  '2 * 3 + 4 ^ 2 ^ 0.5 % 3',
  '-go_goroutines ^ 2',
  '-1 ^ 2 + go_goroutines',
  '(1 + 2) * -go_goroutines',
  'go_goroutines % 7',
  'go_memstats_heap_inuse_bytes / 1024 / 1024',
  '10 / (go_goroutines - go_goroutines)',
  // offsets and @
  'sum(rate(mattermost_http_requests_total[5m] offset 1h))',
  'go_goroutines offset 30m',
  'go_goroutines offset -10m',
  'rate(mattermost_http_requests_total[5m]) - rate(mattermost_http_requests_total[5m] offset 1h)',
  'go_goroutines @ $T2H',
  'sum(rate(mattermost_http_requests_total[5m] @ end()))',
  'go_goroutines @ start()',
  'rate(mattermost_http_requests_total[5m] @ $T5H offset 5m)',
  'timestamp(go_goroutines @ $T2H)',
  'go_goroutines - go_goroutines offset 10m',
  'go_goroutines @ $T2H - go_goroutines',
  'sum(go_goroutines) - sum(go_goroutines offset 1h) / 2',
  '-go_goroutines offset 5m',
  'go_goroutines offset 5m @ $T2H',
  'rate(mattermost_http_requests_total[5m] offset 10m @ end())',
  // staleness, gaps, window and lookback boundaries
  'go_goroutines{job="calls"}',
  'count_over_time(go_goroutines{job="calls"}[1m])',
  'rate(go_memstats_heap_inuse_bytes{job="calls"}[1m])',
  'go_goroutines{job="calls"} offset 5m',
  'go_goroutines{instance="app-4:8067"}',
  'last_over_time(go_goroutines{instance="app-4:8067"}[10m])',
  'go_goroutines{instance="app-3:8067"}',
  'rate(mattermost_http_requests_total{instance="app-3:8067"}[5m])',
  // vector matching
  'go_sql_in_use_connections / on(instance, db_name) go_sql_open_connections',
  'go_sql_in_use_connections / ignoring(job) go_sql_open_connections',
  'go_sql_open_connections * on(instance) group_left mattermost_cluster_cluster_health_score',
  'go_sql_open_connections * on(instance) group_left(job) mattermost_cluster_cluster_health_score',
  'mattermost_cluster_cluster_health_score * on(instance) group_right go_sql_open_connections',
  'mattermost_db_replica_lag_time * ignoring(node) group_left mattermost_cluster_cluster_health_score',
  'go_sql_open_connections * ignoring(db_name) go_goroutines',
  // comparisons
  'go_goroutines > 200',
  'go_goroutines > bool 200',
  '200 < go_goroutines',
  '200 < bool go_goroutines',
  'go_sql_open_connections >= on(instance, db_name) go_sql_in_use_connections',
  'go_sql_open_connections > bool on(instance, db_name) go_sql_in_use_connections',
  '1 > bool 2',
  'sum(go_goroutines) == bool sum(go_goroutines)',
  'mattermost_db_replica_lag_time > 0',
  'sum(mattermost_db_replica_lag_time)',
  // set operators
  'go_goroutines and go_memstats_heap_inuse_bytes',
  'go_goroutines and on(instance) (mattermost_cluster_cluster_health_score > 0.5)',
  'go_goroutines or mattermost_http_websockets_total',
  'go_goroutines unless on(instance) (mattermost_cluster_cluster_health_score < 0.5)',
  'go_goroutines{job="calls"} or on(instance) go_goroutines',
  // functions
  'label_replace(go_goroutines, "host", "$1", "instance", "(.*):.*")',
  'label_replace(rate(mattermost_http_requests_total[5m]), "x", "${1}y", "instance", "app-(\\\\d)")',
  'label_replace(go_goroutines, "instance", "", "job", "calls")',
  'label_join(go_goroutines, "id", "/", "job", "instance")',
  'absent(nonexistent_metric{job="x", instance=~"a.*"})',
  'absent(go_goroutines)',
  'abs(-go_goroutines)',
  'clamp_min(go_goroutines, 250)',
  'clamp_max(go_goroutines, 250)',
  'clamp(go_goroutines, 100, 300)',
  'clamp(go_goroutines, 300, 100)',
  'round(rate(mattermost_http_requests_total[5m]), 0.1)',
  'round(go_memstats_heap_inuse_bytes / 1e6)',
  'ceil(rate(mattermost_http_requests_total[5m]))',
  'sqrt(go_goroutines)',
  'ln(go_goroutines)',
  'sort(go_memstats_heap_inuse_bytes)',
  'sort_desc(rate(mattermost_http_requests_total[5m]))',
  'time()',
  'vector(time())',
  'scalar(sum(go_goroutines))',
  'scalar(go_goroutines)',
  'timestamp(go_goroutines)',
  'time() - timestamp(go_goroutines)',
  'timestamp(sum(go_goroutines))',
  'hour()',
  'day_of_week(vector(time()))',
  'minute(timestamp(go_goroutines))',
  'pi()',
  '"a string"',
  '42',
  // subqueries
  'max_over_time(sum(rate(mattermost_http_requests_total[2m]))[30m:1m])',
  'avg_over_time(go_goroutines[10m:])',
  'rate(mattermost_http_requests_total[5m:30s])',
  'min_over_time(rate(mattermost_http_requests_total[1m])[10m:20s] offset 5m)',
  'max_over_time(go_goroutines[20m:2m] @ $T2H)',
  'max_over_time(deriv(rate(mattermost_http_requests_total[2m])[10m:1m])[30m:5m])',
  'sum_over_time(sum(increase(mattermost_websocket_reconnects_total[5m]))[1h:5m])',
  // nesting
  'count(count by (instance) (go_goroutines))',
  'avg by (instance) (rate(mattermost_api_time_count[5m])) > 0.5',
  'sum(rate(mattermost_api_time_count[5m])) by (handler) / ignoring(handler) group_left sum(rate(mattermost_api_time_count[5m]))',
  'topk(3, sum by (handler) (rate(mattermost_api_time_sum[5m])) / sum by (handler) (rate(mattermost_api_time_count[5m])) > 0)',
  // errors both sides must refuse
  'rate({__name__=~"go_sql_.*"}[5m])',
  'go_goroutines * on(job) go_memstats_heap_inuse_bytes',
  'go_goroutines + ignoring(instance) group_left go_memstats_heap_inuse_bytes',
  'topk(1e100, go_goroutines)',
];

/**
 * A random PromQL expression over the fixture's metrics (for differential fuzzing).
 * No topk/bottomk: with tied values Prometheus' own range-query choice depends on Go map
 * order, so no engine can match it step for step.
 */
export function randomQuery(rand: () => number, at: number, depth: number): string {
  const pick = <T>(a: readonly T[]): T => a[Math.floor(rand() * a.length)];
  const counters = ['mattermost_http_requests_total', 'mattermost_api_time_count', 'mattermost_api_time_bucket', 'go_sql_wait_count_total', 'mattermost_websocket_event_total', 'mattermost_process_cpu_seconds_total'];
  const gauges = ['go_goroutines', 'go_sql_open_connections', 'mattermost_db_replica_lag_time', 'mattermost_cluster_cluster_health_score', 'go_memstats_heap_inuse_bytes', 'mattermost_jobs_active'];
  const labels = ['instance', 'job', 'handler', 'db_name', 'le', 'type', 'node'];
  const dur = (): string => pick(['1m', '2m', '5m', '10m', '90s', '1h']);
  const mods = (): string => pick(['', '', '', ' offset 5m', ' offset -3m', ` @ ${at}`, ' @ end()', ' @ start()']);
  const scalar = (d: number): string => pick(['0.5', '2', '100', '-1', d > 0 ? `scalar(${vec(d - 1)})` : '3', 'time()']);
  const vec = (d: number): string => {
    if (d <= 0) return pick(gauges) + mods();
    switch (Math.floor(rand() * 11)) {
      case 0:
        return `${pick(['rate', 'increase', 'irate', 'delta', 'deriv', 'resets', 'changes'])}(${pick(counters)}[${dur()}]${mods()})`;
      case 1:
        return `${pick(['avg_over_time', 'min_over_time', 'max_over_time', 'sum_over_time', 'count_over_time', 'last_over_time', 'stddev_over_time', 'present_over_time'])}(${pick(gauges)}[${dur()}]${mods()})`;
      case 2:
        return `${pick(['sum', 'avg', 'min', 'max', 'count', 'stddev', 'group'])} ${pick(['by', 'without'])} (${pick(labels)}) (${vec(d - 1)})`;
      case 3:
        return `${vec(d - 1)} ${pick(['+', '-', '*', '/', '%', '^'])} ${scalar(d - 1)}`;
      case 4:
        return `${vec(d - 1)} ${pick(['>', '<', '>=', '==', '!='])}${pick(['', ' bool'])} ${pick(['0.5', '100', '1'])}`;
      case 5:
        return `${vec(d - 1)} ${pick(['and', 'or', 'unless'])} ${pick(['on(instance)', 'ignoring(le)', ''])} ${vec(d - 1)}`;
      case 6:
        return `${pick(['abs', 'ceil', 'floor', 'sqrt', 'ln', 'exp', 'sgn', 'timestamp'])}(${vec(d - 1)})`;
      case 7:
        return `histogram_quantile(${pick(['0.5', '0.9', '0.99'])}, sum by (le${pick(['', ', instance', ', handler'])}) (rate(mattermost_api_time_bucket[${dur()}])))`;
      case 8:
        return `${pick(['max_over_time', 'avg_over_time', 'rate'])}((${vec(d - 1)})[${pick(['10m', '30m'])}:${pick(['', '1m', '2m'])}])`;
      case 9:
        return `quantile(${pick(['0.1', '0.5', '0.9'])}, ${vec(d - 1)})`;
      default:
        return `sum by (instance) (${vec(d - 1)}) ${pick(['/', '*', '-', '>'])} on(instance) ${pick(['group_left', ''])} sum by (instance) (${vec(d - 1)})`;
    }
  };
  return vec(depth);
}
