// A synthetic Mattermost server for the dev host's GET /metrics: the metric families of
// server/enterprise/metrics/metrics.go (names, types, label names, default buckets) with
// traffic that changes over time, so the plugin has something realistic to scrape and
// every panel of the upstream dashboard (spec upstream-dashboard.md §1.6) has data.
//
// Traffic is simulated when scraped: each render advances the model by the time since the
// previous one, so the values do not depend on how often anyone scrapes. A seeded PRNG keeps
// runs reproducible. `series` scales the two dominant families (mattermost_api_time,
// mattermost_db_store_time) so the body has roughly that many series, for benchmarks.

import {Counter, Gauge, Histogram, Registry, Summary} from 'prom-client';

export interface SyntheticOptions {
  /** Approximate number of series in the exposition (default 2,500; at least 600). */
  series?: number;
  /** Milliseconds since the epoch (tests move it by hand). */
  now?: () => number;
  seed?: number;
}

export const defaultSeries = 2_500;
/** Series that do not scale: everything but api_time and store_time (measured in the test). */
const fixedSeriesEstimate = 265;
const seriesPerHistogram = 14; // 11 default buckets + +Inf, _sum, _count
/** Longest stretch simulated in one go: a scrape after a pause does not replay hours of traffic. */
const maxStepSeconds = 300;

/** Real api4 handler names first (the dashboard queries createPost and getPostsForChannelAroundLastUnread). */
const knownHandlers = [
  'getPostsForChannelAroundLastUnread', 'createPost', 'getMe', 'getPostThread', 'viewChannel', 'getChannelMembersForUser',
  'getUsersByIds', 'getTeamsForUser', 'getPostsForChannel', 'getStatusesByIds', 'getChannelsForTeamForUser',
  'getPreferences', 'saveReaction', 'getFileInfosForPost', 'getUserByUsername', 'autocompleteUsers', 'searchPostsInTeamForUser',
  'updatePost', 'deletePost', 'getChannelByName', 'getUnreadsForTeam', 'getThreadsForUser', 'getCategoriesForTeamForUser',
  'updateUserStatus', 'getClientConfig', 'getClientLicense', 'uploadFileStream', 'getFileThumbnail', 'getFile',
  'getTeamMembersForUser', 'getProfileImage', 'getEmojiList', 'getChannelStats', 'getUsersByGroupChannelIds',
  'patchChannel', 'createDirectChannel', 'addChannelMember', 'getGroupsByUserIdPaginated', 'executeCommand',
  'listAutocompleteCommands', 'getRecentSearches', 'connectWebSocket', 'getTopChannelsForUserSince', 'getDrafts',
  'upsertDraft', 'getChannelBookmarks', 'getAllChannels', 'getSidebarCategories', 'markChannelsAsViewed',
];
const verbs = ['get', 'create', 'update', 'patch', 'delete', 'search', 'list'];
const nouns = [
  'Channel', 'Team', 'User', 'Post', 'File', 'Emoji', 'Webhook', 'Command', 'Preference', 'Reaction', 'Thread', 'Group',
  'Role', 'Scheme', 'Bot', 'Job', 'Plugin', 'License', 'Config', 'Status', 'Draft', 'Bookmark', 'Category', 'Session', 'Audit',
];
const suffixes = ['', 's', 'ById', 'ForTeam', 'Stats', 'Members', 'ByName'];

const knownStoreMethods = [
  'PostStore.GetPostsSince', 'PostStore.Get', 'PostStore.Save', 'PostStore.GetPostsBefore', 'PostStore.GetPostsAfter',
  'ChannelStore.GetMember', 'ChannelStore.Get', 'ChannelStore.GetChannels', 'ChannelStore.UpdateLastViewedAt',
  'ChannelStore.GetMembersForUser', 'UserStore.Get', 'UserStore.GetProfileByIds', 'UserStore.GetAllProfiles',
  'SessionStore.Get', 'SessionStore.UpdateLastActivityAt', 'StatusStore.Get', 'StatusStore.SaveOrUpdate',
  'TeamStore.GetTeamsForUser', 'TeamStore.GetMember', 'PreferenceStore.GetAll', 'ReactionStore.Save',
  'FileInfoStore.GetForPost', 'ThreadStore.GetThreadsForUser', 'ThreadStore.MaintainMembership', 'SystemStore.Get',
  'LicenseStore.Get', 'RoleStore.GetByNames', 'SchemeStore.Get', 'GroupStore.GetGroups', 'ChannelStore.GetByName',
];
const stores = [
  'Post', 'Channel', 'User', 'Session', 'Status', 'Team', 'Preference', 'Reaction', 'FileInfo', 'Thread', 'System',
  'License', 'Role', 'Scheme', 'Group', 'Webhook', 'Command', 'Emoji', 'Job', 'Audit', 'Bot', 'Draft', 'Compliance', 'Token',
];
const storeOps = [
  'Get', 'Save', 'Update', 'Delete', 'GetAll', 'GetForUser', 'GetByIds', 'Count', 'Search', 'GetMany', 'PermanentDelete',
  'GetSince', 'Patch', 'Analytics', 'GetForExport', 'Cleanup',
];

const websocketEvents = [
  'posted', 'post_edited', 'post_deleted', 'typing', 'status_change', 'channel_viewed', 'reaction_added', 'reaction_removed',
  'user_updated', 'preferences_changed', 'thread_updated', 'thread_read_changed', 'channel_member_updated', 'hello',
  'multiple_channels_viewed', 'new_user', 'user_added', 'user_removed', 'channel_created', 'channel_updated',
  'direct_added', 'group_added', 'emoji_added', 'license_changed', 'config_changed', 'plugin_statuses_changed',
  'sidebar_category_updated', 'draft_created', 'draft_updated', 'draft_deleted', 'persistent_notification_triggered',
  'ephemeral_message', 'response', 'post_unread', 'channel_bookmark_created', 'user_role_updated', 'team_member_role_updated',
  'memberrole_updated', 'role_updated', 'open_dialog', 'update_team', 'leave_team', 'added_to_team', 'user_activation_status_change',
  'received_group', 'received_group_associated_to_team', 'hosted_customer_signup_progress_updated', 'other',
];
const clusterEvents = [
  'publish', 'update_status', 'invalidate_all_caches', 'invalidate_cache_for_reactions', 'invalidate_cache_for_channel_members_notify_props',
  'invalidate_cache_for_channel_by_name', 'invalidate_cache_for_channel', 'invalidate_cache_for_channel_guest_count',
  'invalidate_cache_for_user', 'invalidate_cache_for_user_teams', 'clear_session_cache_for_user', 'clear_session_cache_for_all_users',
  'install_plugin', 'remove_plugin', 'plugin_event', 'invalidate_cache_for_terms_of_service', 'busy_state_changed', 'other',
];
const jobTypes = [
  'data_retention', 'message_export', 'elasticsearch_post_indexing', 'ldap_sync', 'migrations', 'plugins', 'expiry_notify',
  'product_notices', 'active_users', 'import_process', 'export_process', 'cloud', 'resend_invitation_email', 'extract_content',
  'last_accessible_post', 'refresh_post_stats',
];
const cacheNames = ['Post', 'Channel', 'User', 'Profile By Ids', 'Session', 'Status', 'Team', 'Role', 'Scheme', 'Webhook', 'Emoji', 'Reaction'];

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface ApiLabelSet {
  labels: {handler: string; method: string; status_code: string; origin_client: string; page_load_context: string};
  weight: number;
  medianSeconds: number;
}

interface StoreLabelSet {
  labels: {method: string; success: string};
  weight: number;
  medianSeconds: number;
}

function httpMethod(handler: string): string {
  if (/^(create|save|upload|execute|add|upsert|search|autocomplete|mark|connect)/.test(handler)) return handler.startsWith('connect') ? 'GET' : 'POST';
  if (/^update/.test(handler)) return 'PUT';
  if (/^patch/.test(handler)) return 'PATCH';
  if (/^delete/.test(handler)) return 'DELETE';
  return 'GET';
}

function handlerNames(): string[] {
  const out = [...knownHandlers];
  const seen = new Set(out);
  for (const suffix of suffixes) {
    for (const noun of nouns) {
      for (const verb of verbs) {
        const name = `${verb}${noun}${suffix}`;
        if (!seen.has(name)) {
          seen.add(name);
          out.push(name);
        }
      }
    }
  }
  return out;
}

function storeMethodNames(): string[] {
  const out = [...knownStoreMethods];
  const seen = new Set(out);
  for (const op of storeOps) {
    for (const store of stores) {
      const name = `${store}Store.${op}`;
      if (!seen.has(name)) {
        seen.add(name);
        out.push(name);
      }
    }
  }
  return out;
}

/**
 * The api_time label sets in order of importance, as many as asked for: every handler's
 * successful web requests first, then other clients, then errors — so a small server still
 * has the handlers the dashboard needs, and a big one has the long tail.
 */
function apiLabelSets(count: number, random: () => number): ApiLabelSet[] {
  const handlers = handlerNames();
  const variants: Array<{client: string; status: (h: string, m: string) => string; share: number; context?: string}> = [
    {client: 'web', status: (_h, m) => (m === 'POST' ? '201' : '200'), share: 1},
    {client: 'mobile', status: (_h, m) => (m === 'POST' ? '201' : '200'), share: 0.5},
    {client: 'desktop', status: (_h, m) => (m === 'POST' ? '201' : '200'), share: 0.35},
    {client: 'web', status: () => '200', share: 0.15, context: 'page_load'},
    {client: 'web', status: () => '404', share: 0.02},
    {client: 'mobile', status: () => '401', share: 0.01},
    {client: '', status: () => '200', share: 0.05},
    {client: 'web', status: () => '403', share: 0.01},
    {client: 'desktop', status: () => '500', share: 0.002},
    {client: 'mobile', status: () => '400', share: 0.01},
  ];
  const out: ApiLabelSet[] = [];
  const base = handlers.map((_h, i) => ({popularity: 1 / (i + 1) ** 0.9, median: 0.004 + random() * 0.06}));
  base[0].median = 0.08; // getPostsForChannelAroundLastUnread: the channel load
  base[1].median = 0.05; // createPost
  outer: for (const v of variants) {
    for (let i = 0; i < handlers.length; i++) {
      if (out.length >= count) break outer;
      const method = httpMethod(handlers[i]);
      out.push({
        labels: {handler: handlers[i], method, status_code: v.status(handlers[i], method), origin_client: v.client, page_load_context: v.context ?? ''},
        weight: base[i].popularity * v.share,
        medianSeconds: v.status(handlers[i], method).startsWith('4') ? base[i].median / 3 : base[i].median,
      });
    }
  }
  return out;
}

function storeLabelSets(count: number, random: () => number): StoreLabelSet[] {
  const methods = storeMethodNames();
  const out: StoreLabelSet[] = [];
  for (const success of ['true', 'false']) {
    for (let i = 0; i < methods.length && out.length < count; i++) {
      out.push({
        labels: {method: methods[i], success},
        weight: (1 / (i + 1) ** 0.8) * (success === 'true' ? 1 : 0.005),
        medianSeconds: 0.0005 + random() * 0.01,
      });
    }
  }
  return out;
}

/** A Poisson-ish count with mean `mean` (normal approximation above 30). */
function countFor(mean: number, random: () => number): number {
  if (mean <= 0) return 0;
  if (mean > 30) return Math.max(0, Math.round(mean + Math.sqrt(mean) * (random() + random() + random() - 1.5) * 2));
  let k = 0;
  let p = Math.exp(-mean);
  let cumulative = p;
  const u = random();
  while (u > cumulative && k < 200) {
    k++;
    p *= mean / k;
    cumulative += p;
  }
  return k;
}

/** A log-normal latency around `median`. */
function latency(median: number, random: () => number): number {
  const gaussian = (random() + random() + random() + random() - 2) * 1.7;
  return median * Math.exp(0.6 * gaussian);
}

export class SyntheticServer {
  readonly registry = new Registry();
  readonly apiLabelSetCount: number;
  readonly storeLabelSetCount: number;
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly startedAt: number;
  private last: number;
  private readonly api: ApiLabelSet[];
  private readonly store: StoreLabelSet[];
  private readonly apiWeight: number;
  private readonly storeWeight: number;
  private readonly m;
  private state = {heapBase: 180e6, heapGrowth: 0, goroutines: 350, wsConnections: {web: 60, mobile: 25, desktop: 15}, sqlWait: 0};

  constructor(options: SyntheticOptions = {}) {
    const series = Math.max(600, Math.round(options.series ?? defaultSeries));
    this.now = options.now ?? Date.now;
    this.random = mulberry32(options.seed ?? 7);
    this.startedAt = this.now();
    this.last = this.startedAt;
    const histograms = Math.max(2, Math.round((series - fixedSeriesEstimate) / seriesPerHistogram));
    // About 60/40 between the two, as on a busy server; the store's methods run out first.
    this.store = storeLabelSets(Math.round(histograms * 0.4), this.random);
    this.api = apiLabelSets(histograms - this.store.length, this.random);
    this.apiLabelSetCount = this.api.length;
    this.storeLabelSetCount = this.store.length;
    this.apiWeight = this.api.reduce((s, l) => s + l.weight, 0);
    this.storeWeight = this.store.reduce((s, l) => s + l.weight, 0);
    this.m = this.register();
    for (const l of this.api) this.m.apiTime.zero(l.labels);
    for (const l of this.store) this.m.storeTime.zero(l.labels);
    // A first stretch of traffic, so the very first scrape already shows rates and latencies.
    this.simulate(60, this.startedAt);
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** Advances the simulated traffic to now and renders the Prometheus text exposition. */
  async metrics(): Promise<string> {
    const now = this.now();
    const seconds = Math.min(maxStepSeconds, Math.max(0, (now - this.last) / 1000));
    this.last = Math.max(this.last, now);
    if (seconds > 0) this.simulate(seconds, now);
    return this.registry.metrics();
  }

  private register() {
    const r = this.registry;
    const c = (name: string, help: string, labelNames: string[] = []) => new Counter({name, help, labelNames, registers: [r]});
    const g = (name: string, help: string, labelNames: string[] = []) => new Gauge({name, help, labelNames, registers: [r]});
    const sqlLabels = ['db_name'];
    return {
      apiTime: new Histogram({
        name: 'mattermost_api_time',
        help: 'Time to execute the api handler',
        labelNames: ['handler', 'method', 'status_code', 'origin_client', 'page_load_context'],
        registers: [r],
      }),
      storeTime: new Histogram({name: 'mattermost_db_store_time', help: 'Time to execute the store method', labelNames: ['method', 'success'], registers: [r]}),
      httpRequests: c('mattermost_http_requests_total', 'The total number of http API requests.'),
      httpErrors: c('mattermost_http_errors_total', 'The total number of http API errors.'),
      websockets: g('mattermost_http_websockets_total', 'The total number of websocket connections to this server.', ['origin_client']),
      posts: c('mattermost_post_total', 'The total number of posts created.'),
      postWebhooks: c('mattermost_post_webhooks_total', 'Total number of webhook posts.'),
      postEmails: c('mattermost_post_emails_sent_total', 'The total number of emails sent because a post was made.'),
      postPushes: c('mattermost_post_pushes_sent_total', 'The total number of mobile push notifications sent because a post was made.'),
      postBroadcasts: c('mattermost_post_broadcasts_total', 'The total number of websocket broadcasts sent because a post was made.'),
      postFiles: c('mattermost_post_file_attachments_total', 'The total number of file attachments created because a post was made.'),
      wsBroadcasts: c('mattermost_websocket_broadcasts_total', 'The total number of websocket broadcasts sent.', ['name']),
      wsEvents: c('mattermost_websocket_event_total', 'The total number of websocket events sent.', ['type']),
      wsReconnects: c('mattermost_websocket_reconnects_total', 'The total number of websocket reconnect attempts.', ['type']),
      wsBufferSize: g('mattermost_websocket_broadcast_buffer_size', 'Number of events in the websocket broadcasts buffer waiting to be processed.', ['hub']),
      wsBufferUsers: g('mattermost_websocket_broadcast_buffer_users_registered', 'Number of users registered in a broadcast buffer hub.', ['hub']),
      dbMaster: g('mattermost_db_master_connections_total', 'The total number of connections to the master database.'),
      dbReplica: g('mattermost_db_read_replica_connections_total', 'The total number of connections to all the read replica databases.'),
      dbSearchReplica: g('mattermost_db_search_replica_connections_total', 'The total number of connections to all the search replica databases.'),
      replicaLagAbs: g('mattermost_db_replica_lag_abs', 'An abstract unit for measuring replica lag.', ['node']),
      replicaLagTime: g('mattermost_db_replica_lag_time', 'A time unit for measuring replica lag.', ['node']),
      activeUsers: g('mattermost_db_active_users', 'The total number of active users.'),
      clusterHealth: g('mattermost_cluster_cluster_health_score', 'A score that gives an idea of how well it is meeting the soft-real-time requirements of the gossip protocol.'),
      clusterRequests: c('mattermost_cluster_cluster_requests_total', 'The total number of inter-node requests.'),
      clusterDuration: new Histogram({name: 'mattermost_cluster_cluster_request_duration_seconds', help: 'The total duration in seconds of the inter-node cluster requests.', registers: [r]}),
      clusterEvents: c('mattermost_cluster_cluster_event_type_totals', 'The total number of cluster requests sent for any type.', ['name']),
      logins: c('mattermost_login_logins_total', 'The total number of successful logins.'),
      loginFails: c('mattermost_login_logins_fail_total', 'The total number of failed logins.'),
      cacheHits: c('mattermost_cache_mem_hit_total', 'The total number of cache hits for a specific cache.', ['name']),
      cacheMisses: c('mattermost_cache_mem_miss_total', 'The total number of cache misses for a specific cache.', ['name']),
      jobsActive: g('mattermost_jobs_active', 'Number of active jobs', ['type']),
      serverStart: g('mattermost_system_server_start_time', 'The time the server started.'),
      cpu: c('mattermost_process_cpu_seconds_total', 'Total user and system CPU time spent in seconds.'),
      openFds: g('mattermost_process_open_fds', 'Number of open file descriptors.'),
      maxFds: g('mattermost_process_max_fds', 'Maximum number of open file descriptors.'),
      rss: g('mattermost_process_resident_memory_bytes', 'Resident memory size in bytes.'),
      vsz: g('mattermost_process_virtual_memory_bytes', 'Virtual memory size in bytes.'),
      processStart: g('mattermost_process_start_time_seconds', 'Start time of the process since unix epoch in seconds.'),
      goroutines: g('go_goroutines', 'Number of goroutines that currently exist.'),
      threads: g('go_threads', 'Number of OS threads created.'),
      goInfo: g('go_info', 'Information about the Go environment.', ['version']),
      gcDuration: new Summary({name: 'go_gc_duration_seconds', help: 'A summary of the pause duration of garbage collection cycles.', percentiles: [0, 0.25, 0.5, 0.75, 1], registers: [r]}),
      heapInuse: g('go_memstats_heap_inuse_bytes', 'Number of heap bytes that are in use.'),
      heapAlloc: g('go_memstats_heap_alloc_bytes', 'Number of heap bytes allocated and still in use.'),
      alloc: g('go_memstats_alloc_bytes', 'Number of bytes allocated and still in use.'),
      allocTotal: c('go_memstats_alloc_bytes_total', 'Total number of bytes allocated, even if freed.'),
      heapObjects: g('go_memstats_heap_objects', 'Number of allocated objects.'),
      heapIdle: g('go_memstats_heap_idle_bytes', 'Number of heap bytes waiting to be used.'),
      heapSys: g('go_memstats_heap_sys_bytes', 'Number of heap bytes obtained from system.'),
      stackInuse: g('go_memstats_stack_inuse_bytes', 'Number of bytes in use by the stack allocator.'),
      sys: g('go_memstats_sys_bytes', 'Number of bytes obtained from system.'),
      nextGc: g('go_memstats_next_gc_bytes', 'Number of heap bytes when next garbage collection will take place.'),
      lastGc: g('go_memstats_last_gc_time_seconds', 'Number of seconds since 1970 of last garbage collection.'),
      gomaxprocs: g('go_sched_gomaxprocs_threads', 'The current runtime.GOMAXPROCS setting.'),
      sqlMaxOpen: g('go_sql_max_open_connections', 'Maximum number of open connections to the database.', sqlLabels),
      sqlOpen: g('go_sql_open_connections', 'The number of established connections both in use and idle.', sqlLabels),
      sqlInUse: g('go_sql_in_use_connections', 'The number of connections currently in use.', sqlLabels),
      sqlIdle: g('go_sql_idle_connections', 'The number of idle connections.', sqlLabels),
      sqlWaitCount: c('go_sql_wait_count_total', 'The total number of connections waited for.', sqlLabels),
      sqlWaitDuration: c('go_sql_wait_duration_seconds_total', 'The total time blocked waiting for a new connection.', sqlLabels),
      sqlMaxIdleClosed: c('go_sql_max_idle_closed_total', 'The total number of connections closed due to SetMaxIdleConns.', sqlLabels),
      sqlMaxIdleTimeClosed: c('go_sql_max_idle_time_closed_total', 'The total number of connections closed due to SetConnMaxIdleTime.', sqlLabels),
      sqlMaxLifetimeClosed: c('go_sql_max_lifetime_closed_total', 'The total number of connections closed due to SetConnMaxLifetime.', sqlLabels),
    };
  }

  /** Load between ~0.4 and ~1.6: a 10-minute wave (visible while watching) on a daily one. */
  private load(nowMs: number): number {
    const t = nowMs / 1000;
    return 1 + 0.35 * Math.sin((2 * Math.PI * t) / 600) + 0.25 * Math.sin((2 * Math.PI * t) / 86_400);
  }

  private simulate(seconds: number, nowMs: number): void {
    const {m, random, state} = this;
    const load = this.load(nowMs);
    const jitter = () => 0.85 + random() * 0.3;

    // API: ~25 requests/s at average load, more for bigger (benchmark) servers.
    const apiRate = 25 * load * Math.max(1, this.api.length / 150);
    let requests = 0;
    let errors = 0;
    let created = 0;
    for (const l of this.api) {
      const n = countFor((apiRate * seconds * l.weight) / this.apiWeight, random);
      if (n === 0) continue;
      const hist = m.apiTime.labels(l.labels);
      for (let i = 0; i < n; i++) hist.observe(latency(l.medianSeconds * (0.7 + 0.3 * load), random));
      requests += n;
      if (Number(l.labels.status_code) >= 400) errors += n;
      if (l.labels.handler === 'createPost' && l.labels.status_code.startsWith('2')) created += n;
    }
    m.httpRequests.inc(requests);
    m.httpErrors.inc(errors);

    // Store calls: several per API request.
    const storeRate = apiRate * 6;
    for (const l of this.store) {
      const n = countFor((storeRate * seconds * l.weight) / this.storeWeight, random);
      if (n === 0) continue;
      const hist = m.storeTime.labels(l.labels);
      for (let i = 0; i < n; i++) hist.observe(latency(l.medianSeconds * load, random));
    }

    m.posts.inc(created);
    m.postBroadcasts.inc(created);
    m.postPushes.inc(Math.round(created * 0.4 * jitter()));
    m.postEmails.inc(Math.round(created * 0.05 * jitter()));
    m.postWebhooks.inc(countFor(0.02 * seconds, random));
    m.postFiles.inc(Math.round(created * 0.1 * jitter()));

    for (const client of ['web', 'mobile', 'desktop'] as const) {
      const target = {web: 60, mobile: 25, desktop: 15}[client] * load;
      state.wsConnections[client] = Math.max(0, Math.round(state.wsConnections[client] + (target - state.wsConnections[client]) * 0.3 + (random() - 0.5) * 4));
      m.websockets.set({origin_client: client}, state.wsConnections[client]);
    }
    const connections = state.wsConnections.web + state.wsConnections.mobile + state.wsConnections.desktop;
    websocketEvents.forEach((name, i) => {
      const rate = (created * 3 + seconds * connections * 0.05) / (i + 1) ** 1.2;
      m.wsBroadcasts.inc({name}, countFor(rate, random));
      m.wsEvents.inc({type: name}, countFor(rate * 1.5, random));
    });
    m.wsReconnects.inc({type: 'success'}, countFor(0.01 * seconds, random));
    m.wsReconnects.inc({type: 'failure'}, countFor(0.001 * seconds, random));
    for (let hub = 0; hub < 8; hub++) {
      m.wsBufferSize.set({hub: String(hub)}, countFor(load * 2, random));
      m.wsBufferUsers.set({hub: String(hub)}, Math.round(connections / 8));
    }

    const masterOpen = Math.min(300, Math.round(20 + 15 * load + random() * 6));
    const masterInUse = Math.min(masterOpen, Math.round(4 * load + random() * 4));
    m.dbMaster.set(masterOpen);
    m.dbReplica.set(Math.round(masterOpen * 1.4));
    m.dbSearchReplica.set(0);
    m.activeUsers.set(Math.round(connections * 2.5));
    for (const node of ['replica-1', 'replica-2']) {
      m.replicaLagAbs.set({node}, Math.round(random() * 50 * load));
      m.replicaLagTime.set({node}, +(random() * 0.2 * load).toFixed(4));
    }
    const sql: Array<[string, number, number]> = [
      ['master', masterOpen, masterInUse],
      ['replica-1', Math.round(masterOpen * 0.7), Math.round(masterInUse * 0.8)],
      ['replica-2', Math.round(masterOpen * 0.7), Math.round(masterInUse * 0.7)],
    ];
    for (const [db_name, open, inUse] of sql) {
      m.sqlMaxOpen.set({db_name}, 300);
      m.sqlOpen.set({db_name}, open);
      m.sqlInUse.set({db_name}, inUse);
      m.sqlIdle.set({db_name}, open - inUse);
      const waits = countFor(0.05 * seconds * load * load, random);
      m.sqlWaitCount.inc({db_name}, waits);
      m.sqlWaitDuration.inc({db_name}, waits * 0.002);
      m.sqlMaxIdleClosed.inc({db_name}, countFor(0.01 * seconds, random));
      m.sqlMaxIdleTimeClosed.inc({db_name}, countFor(0.005 * seconds, random));
      m.sqlMaxLifetimeClosed.inc({db_name}, countFor(0.002 * seconds, random));
    }

    m.clusterHealth.set(0);
    const clusterRequests = countFor(2 * seconds * load, random);
    m.clusterRequests.inc(clusterRequests);
    for (let i = 0; i < Math.min(clusterRequests, 500); i++) m.clusterDuration.observe(latency(0.004, random));
    clusterEvents.forEach((name, i) => m.clusterEvents.inc({name}, countFor((clusterRequests * 0.5) / (i + 1), random)));

    m.logins.inc(countFor(0.05 * seconds * load, random));
    m.loginFails.inc(countFor(0.004 * seconds, random));
    cacheNames.forEach((name, i) => {
      const lookups = countFor((apiRate * seconds * 2) / (i + 1), random);
      const misses = Math.round(lookups * 0.04 * jitter());
      m.cacheHits.inc({name}, lookups - misses);
      m.cacheMisses.inc({name}, misses);
    });
    jobTypes.forEach((type, i) => m.jobsActive.set({type}, i < 3 && random() < 0.3 * load ? 1 : 0));

    m.serverStart.set(Math.floor(this.startedAt / 1000));
    m.cpu.inc(seconds * (0.12 + 0.18 * load) * jitter());
    m.openFds.set(Math.round(120 + connections * 1.1));
    m.maxFds.set(1_048_576);
    m.processStart.set(Math.floor(this.startedAt / 1000));

    // Go heap: grows with traffic, drops at each GC (a sawtooth).
    state.heapGrowth += seconds * 3e6 * load * jitter();
    const gcs = Math.floor(state.heapGrowth / 120e6);
    for (let i = 0; i < Math.max(gcs, countFor(seconds / 20, random)); i++) m.gcDuration.observe(latency(0.0004, random));
    if (gcs > 0) {
      state.heapGrowth -= gcs * 120e6;
      m.lastGc.set(nowMs / 1000);
    }
    const heap = state.heapBase + state.heapGrowth;
    m.heapInuse.set(Math.round(heap));
    m.heapAlloc.set(Math.round(heap * 0.92));
    m.alloc.set(Math.round(heap * 0.92));
    m.allocTotal.inc(Math.round(seconds * 3e6 * load));
    m.heapObjects.set(Math.round(heap / 96));
    m.heapIdle.set(Math.round(90e6 - state.heapGrowth * 0.3));
    m.heapSys.set(Math.round(heap + 90e6));
    m.stackInuse.set(Math.round(state.goroutines * 8192));
    m.sys.set(Math.round(heap + 140e6));
    m.nextGc.set(Math.round(state.heapBase + 120e6));
    m.gomaxprocs.set(4);
    state.goroutines = Math.round(300 + connections * 2 + 60 * load + (random() - 0.5) * 20);
    m.goroutines.set(state.goroutines);
    m.threads.set(18);
    m.goInfo.set({version: 'go1.24.6'}, 1);
    m.rss.set(Math.round(heap + 160e6));
    m.vsz.set(Math.round(2.4e9 + heap));
  }
}

/** DEVHOST_SERIES: a positive number of series, else a clear error. */
export function parseSeriesKnob(value: string | undefined): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 600 || n > 5_000_000) throw new Error(`DEVHOST_SERIES=${value}: use a number of series between 600 and 5000000`);
  return Math.round(n);
}
