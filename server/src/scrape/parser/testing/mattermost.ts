// Deterministic Mattermost-like expositions (families from spec/upstream-dashboard.md §2):
// mattermost_api_time and mattermost_db_store_time histograms dominate, plus counters,
// gauges, the Go/process collectors and a go_gc_duration_seconds summary.
// Used by tests and bench/scrape-parse.ts.

export interface MattermostOptions {
  /** Approximate number of samples (default 15 000). */
  series?: number;
  /** 'text' (client_golang text 0.0.4) or 'openmetrics' (client_golang OpenMetrics: _total, _created, # EOF). */
  format?: 'text' | 'openmetrics';
  seed?: number;
}

export function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 4294967296;
  };
}

const BUCKETS = ['0.005', '0.01', '0.025', '0.05', '0.1', '0.25', '0.5', '1', '2.5', '5', '10', '+Inf'];
const HANDLERS = [
  'getPostsForChannelAroundLastUnread', 'createPost', 'getUser', 'getTeamsForUser', 'getChannelMembersForUser',
  'viewChannel', 'getPostThread', 'updatePost', 'searchPosts', 'getFileInfo', 'getPreferences', 'patchChannel',
  'getUsersByIds', 'getChannelsForTeamForUser', 'getTeamMember', 'saveReaction', 'deleteReaction', 'getEmojiList',
  'getClientConfig', 'getClientLicense', 'getStatusesByIds', 'autocompleteUsers', 'getChannelByName', 'getFlaggedPosts',
];
const METHODS = ['GET', 'POST', 'PUT', 'DELETE'];
const STATUS = ['200', '201', '400', '403', '404', '500'];
const ORIGIN = ['webapp', 'mobile', 'desktop', ''];
const PAGE = ['page_load', 'team_switch', 'channel_switch', ''];
const STORE = [
  'PostStore.GetPosts', 'PostStore.Save', 'ChannelStore.Get', 'ChannelStore.GetMember', 'UserStore.Get',
  'UserStore.GetProfileByIds', 'TeamStore.GetMember', 'PreferenceStore.GetCategory', 'StatusStore.Get',
  'ReactionStore.GetForPost', 'FileInfoStore.GetForPost', 'SessionStore.Get', 'ThreadStore.GetThreadsForUser',
  'ChannelStore.GetChannels', 'SystemStore.Get', 'LicenseStore.Get', 'WebhookStore.GetIncoming', 'EmojiStore.Get',
];

function fmt(v: number): string {
  // Go's strconv 'g'-like shortest form is what client_golang prints; JS shortest round-trip matches for our values.
  return String(v);
}

export function mattermostExposition(opts: MattermostOptions = {}): string {
  const target = opts.series ?? 15000;
  const om = opts.format === 'openmetrics';
  const r = rng(opts.seed ?? 42);
  const out: string[] = [];
  let count = 0;
  const created = (): string => (1767225600 + Math.floor(r() * 86400)).toFixed(1).replace(/\.0$/, '.0');
  const help = (name: string, type: string, text: string): void => {
    out.push(`# HELP ${name} ${text}`, `# TYPE ${name} ${type}`);
  };
  const lbl = (pairs: [string, string][]): string =>
    pairs.length === 0 ? '' : '{' + pairs.map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`).join(',') + '}';

  const counter = (name: string, text: string, sets: [string, string][][]): void => {
    help(name, 'counter', text);
    for (const ls of sets) {
      out.push(`${name}${om ? '_total' : ''}${lbl(ls)} ${Math.floor(r() * 1e6)}`);
      count++;
      if (om) {
        out.push(`${name}_created${lbl(ls)} ${created()}`);
        count++;
      }
    }
  };
  const gauge = (name: string, text: string, sets: [string, string][][]): void => {
    help(name, 'gauge', text);
    for (const ls of sets) {
      out.push(`${name}${lbl(ls)} ${fmt(Math.round(r() * 1e4) / 100)}`);
      count++;
    }
  };
  const histogram = (name: string, text: string, sets: [string, string][][]): void => {
    help(name, 'histogram', text);
    for (const ls of sets) {
      let c = 0;
      for (const b of BUCKETS) {
        c += Math.floor(r() * 50);
        out.push(`${name}_bucket${lbl([...ls, ['le', om && b !== '+Inf' && !b.includes('.') ? b + '.0' : b]])} ${c}`);
      }
      out.push(`${name}_sum${lbl(ls)} ${fmt(Math.round(r() * 1e6) / 1000)}`, `${name}_count${lbl(ls)} ${c}`);
      count += BUCKETS.length + 2;
      if (om) {
        out.push(`${name}_created${lbl(ls)} ${created()}`);
        count++;
      }
    }
  };

  // Fixed families.
  counter('mattermost_http_requests', 'The total number of http API requests.', [[]]);
  counter('mattermost_http_errors', 'The total number of http API errors.', [[]]);
  counter('mattermost_post', 'The total number of posts created.', [[]]);
  gauge('mattermost_http_websockets', 'The total number of websocket connections to this server.', ORIGIN.slice(0, 3).map((o) => [['origin_client', o]]));
  gauge('mattermost_db_master_connections', 'The total number of connections to the master database.', [[]]);
  gauge('mattermost_db_replica_lag_time', 'Replica lag time.', [[['node', 'replica-1']], [['node', 'replica-2']]]);
  gauge('mattermost_cluster_cluster_health_score', 'Health score.', [[]]);
  gauge('mattermost_websocket_broadcast_buffer_size', 'Broadcast buffer size.', Array.from({length: 16}, (_, i) => [['hub', String(i)]]));
  counter('mattermost_websocket_event', 'Websocket events.', ['posted', 'typing', 'status_change', 'channel_viewed', 'reaction_added'].map((t) => [['type', t]]));
  gauge('mattermost_jobs_active', 'Active jobs.', ['data_retention', 'message_export', 'elasticsearch_post_indexing', 'ldap_sync'].map((t) => [['type', t]]));
  gauge('go_sql_open_connections', 'The number of established connections both in use and idle.', [[['db_name', 'master']], [['db_name', 'replica-0']]]);
  counter('mattermost_process_cpu_seconds', 'Total user and system CPU time spent in seconds.', [[]]);
  gauge('go_goroutines', 'Number of goroutines that currently exist.', [[]]);
  gauge('go_memstats_heap_inuse_bytes', 'Number of heap bytes that are in use.', [[]]);
  gauge('go_info', 'Information about the Go environment.', [[['version', 'go1.22.5']]]);
  help('go_gc_duration_seconds', 'summary', 'A summary of the pause duration of garbage collection cycles.');
  for (const q of ['0', '0.25', '0.5', '0.75', '1']) out.push(`go_gc_duration_seconds{quantile="${q}"} ${fmt(r() / 1000)}`);
  out.push(`go_gc_duration_seconds_sum ${fmt(r())}`, `go_gc_duration_seconds_count ${Math.floor(r() * 1e5)}`);
  count += 7;
  if (om) {
    out.push(`go_gc_duration_seconds_created ${created()}`);
    count++;
  }
  // Dominant families: store_time then api_time until the target is reached.
  const per = BUCKETS.length + 2 + (om ? 1 : 0);
  const storeSets: [string, string][][] = [];
  const apiSets: [string, string][][] = [];
  const remaining = Math.max(0, target - count);
  const storeN = Math.floor((remaining * 0.4) / per);
  const apiN = Math.floor((remaining * 0.6) / per);
  for (let i = 0; storeSets.length < storeN; i++) {
    storeSets.push([
      ['method', `${STORE[i % STORE.length]}${i >= STORE.length ? String(Math.floor(i / STORE.length)) : ''}`],
      ['success', i % 7 === 0 ? 'false' : 'true'],
    ]);
  }
  for (let i = 0; apiSets.length < apiN; i++) {
    const h = HANDLERS[i % HANDLERS.length] + (i >= HANDLERS.length * 8 ? String(Math.floor(i / (HANDLERS.length * 8))) : '');
    apiSets.push([
      ['handler', h],
      ['method', METHODS[Math.floor(i / HANDLERS.length) % METHODS.length]],
      ['origin_client', ORIGIN[Math.floor(i / (HANDLERS.length * 4)) % ORIGIN.length]],
      ['page_load_context', PAGE[Math.floor(i / (HANDLERS.length * 2)) % PAGE.length]],
      ['status_code', STATUS[i % STATUS.length]],
    ]);
  }
  histogram('mattermost_db_store_time', 'Time to execute the store method', storeSets);
  histogram('mattermost_api_time', 'Time to execute the api handler', apiSets);
  if (om) out.push('# EOF');
  return out.join('\n') + '\n';
}
