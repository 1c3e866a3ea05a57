// Mattermost-like test data for the PromQL differential test and benchmark: several app
// nodes scraped with jitter, classic histograms with `le` buckets, counters (with a
// restart), gauges, a node that disappears (stale markers), a scrape gap, a series that
// appears late, a NaN gauge sample, and a second job exporting Go metrics.

import fs from 'node:fs';
import path from 'node:path';
import {type Sample, type SeriesInput, openBlock, writeBlock} from '../../tsdb/block/mod.ts';
import {blockSource, mergeSources} from '../../tsdb/querier/mod.ts';
import type {SeriesSource} from '../../tsdb/storage.ts';

const H = 3_600_000;
const MIN = 60_000;

export const LE = ['0.005', '0.01', '0.025', '0.05', '0.1', '0.25', '0.5', '1', '2.5', '5', '10', '+Inf'];
export const HANDLERS = [
  'getPostsForChannelAroundLastUnread',
  'createPost',
  'getUser',
  'getChannel',
  'getPosts',
  'updateStatus',
  'getTeams',
  'viewChannel',
  'getFile',
  'searchPosts',
  'getPreferences',
  'patchPost',
];
export const METHODS = ['PostStore.Get', 'PostStore.Save', 'ChannelStore.Get', 'UserStore.Get', 'TeamStore.GetAll', 'StatusStore.Get', 'PreferenceStore.Get', 'FileInfoStore.Get', 'SessionStore.Get', 'SystemStore.Get', 'ReactionStore.Get'];

export interface FixtureOptions {
  /** First scrape grid time (ms); blocks are 2 h aligned to it. */
  t0: number;
  hours: number;
  nodes?: number;
  /** Scrape interval per node (ms); default 30 s for the first three, 60 s after. */
  intervalMs?: (node: number) => number;
  seed?: number;
  /** Node index that stops (stale markers) at `disappearAtMs` after t0. */
  disappear?: {node: number; afterMs: number};
  /** Node index whose process restarts (counters reset) at `afterMs`. */
  restart?: {node: number; afterMs: number};
  /** Node index with no scrapes in [fromMs, toMs) after t0 (no stale markers: a plain gap). */
  gap?: {node: number; fromMs: number; toMs: number};
  /** Fewer label values, for quick tests. */
  small?: boolean;
}

function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 0x1_0000_0000;
  };
}

interface Builder {
  series: Map<string, {labels: Record<string, string>; samples: Sample[]}>;
}

function push(b: Builder, labels: Record<string, string>, t: number, v: number, stale = false): void {
  const key = JSON.stringify(labels);
  let s = b.series.get(key);
  if (!s) {
    s = {labels, samples: []};
    b.series.set(key, s);
  }
  s.samples.push(stale ? {t, v: 0, stale: true} : {t, v});
}

/** All series of the fixture, samples in time order. */
export function generateFixture(opts: FixtureOptions): SeriesInput[] {
  const nodes = opts.nodes ?? 4;
  const rand = rng(opts.seed ?? 42);
  const b: Builder = {series: new Map()};
  const handlers = opts.small ? HANDLERS.slice(0, 5) : HANDLERS;
  const methods = opts.small ? METHODS.slice(0, 4) : METHODS;
  const end = opts.t0 + opts.hours * H;
  for (let node = 0; node < nodes; node++) {
    const instance = `app-${node + 1}:8067`;
    const base = {instance, job: 'mattermost'};
    const interval = opts.intervalMs?.(node) ?? (node < 3 ? 30_000 : 60_000);
    const phase = 1_000 + node * 7_321;
    // Counter state (reset on restart).
    const counters = new Map<string, number>();
    const add = (labels: Record<string, string>, inc: number): number => {
      const k = JSON.stringify(labels);
      const v = (counters.get(k) ?? 0) + inc;
      counters.set(k, v);
      return v;
    };
    const nodeRate = 0.6 + node * 0.37 + rand() * 0.2;
    const handlerWeight = handlers.map((_, i) => (1 + i * 0.73 + rand()) * nodeRate);
    const methodWeight = methods.map((_, i) => (2 + i * 1.31 + rand()) * nodeRate);
    let restarted = false;
    let gone = false;
    const emitted = new Map<string, Record<string, string>>();
    const emit = (labels: Record<string, string>, t: number, v: number): void => {
      push(b, labels, t, v);
      const key = JSON.stringify(labels);
      if (!emitted.has(key)) emitted.set(key, labels);
    };
    const histogram = (name: string, extra: Record<string, string>, t: number, n: number, scale: number): void => {
      let cum = 0;
      let sum = 0;
      for (let i = 0; i < LE.length; i++) {
        const part = i === LE.length - 1 ? Math.round(n * 0.02) : Math.round(n * Math.exp(-((i - 5 * scale) ** 2) / 6) * (0.7 + rand() * 0.6) * 0.4);
        cum += part;
        sum += part * (i < LE.length - 1 ? Number(LE[i]) * 0.7 : 15);
        emit({__name__: `${name}_bucket`, ...base, ...extra, le: LE[i]}, t, add({n: `${name}_bucket`, ...extra, le: LE[i]}, cum));
      }
      emit({__name__: `${name}_count`, ...base, ...extra}, t, add({n: `${name}_count`, ...extra}, cum));
      emit({__name__: `${name}_sum`, ...base, ...extra}, t, add({n: `${name}_sum`, ...extra}, sum));
    };
    for (let k = 0; ; k++) {
      const t = opts.t0 + phase + k * interval + Math.floor(rand() * 400);
      if (t >= end) break;
      const rel = t - opts.t0;
      if (opts.disappear && opts.disappear.node === node && rel >= opts.disappear.afterMs) {
        if (!gone) {
          gone = true;
          for (const labels of emitted.values()) push(b, labels, t, 0, true);
        }
        continue;
      }
      if (opts.gap && opts.gap.node === node && rel >= opts.gap.fromMs && rel < opts.gap.toMs) continue;
      if (opts.restart && opts.restart.node === node && rel >= opts.restart.afterMs && !restarted) {
        restarted = true;
        counters.clear();
      }
      const dt = interval / 1000;
      emit({__name__: 'mattermost_http_requests_total', ...base}, t, add({n: 'http'}, Math.round(dt * 20 * nodeRate * (0.5 + rand()))));
      handlers.forEach((h, i) => {
        // One handler only appears after the first hour on the first node.
        if (i === handlers.length - 1 && node === 0 && rel < H) return;
        histogram('mattermost_api_time', {handler: h}, t, Math.round(dt * handlerWeight[i] * (0.5 + rand())), 0.6 + (i % 4) * 0.2);
      });
      methods.forEach((m, i) => histogram('mattermost_db_store_time', {method: m}, t, Math.round(dt * methodWeight[i] * (0.5 + rand())), 0.3 + (i % 3) * 0.15));
      histogram('mattermost_cluster_cluster_request_duration_seconds', {}, t, Math.round(dt * 3 * (0.5 + rand())), 0.5);
      for (const db of ['master', 'replica-0', 'replica-1']) {
        emit({__name__: 'go_sql_wait_count_total', ...base, db_name: db}, t, add({n: 'wait', db}, Math.round(rand() * 3)));
        const open = 10 + Math.round(rand() * 20);
        emit({__name__: 'go_sql_open_connections', ...base, db_name: db}, t, open);
        emit({__name__: 'go_sql_in_use_connections', ...base, db_name: db}, t, Math.round(open * rand()));
      }
      for (const name of ['channel', 'user', 'team', 'broadcast_all']) {
        emit({__name__: 'mattermost_websocket_broadcasts_total', ...base, name}, t, add({n: 'bc', name}, Math.round(dt * 4 * rand() * nodeRate)));
      }
      for (const type of ['posted', 'typing', 'status_change', 'channel_viewed']) {
        emit({__name__: 'mattermost_websocket_event_total', ...base, type}, t, add({n: 'ev', type}, Math.round(dt * 6 * rand() * nodeRate)));
      }
      emit({__name__: 'mattermost_websocket_reconnects_total', ...base}, t, add({n: 'rc'}, rand() < 0.3 ? 1 : 0));
      emit({__name__: 'mattermost_process_cpu_seconds_total', ...base}, t, add({n: 'cpu'}, dt * (0.1 + rand() * 0.5)));
      emit({__name__: 'mattermost_db_master_connections_total', ...base}, t, 20 + Math.round(rand() * 10));
      emit({__name__: 'mattermost_db_read_replica_connections_total', ...base}, t, 30 + Math.round(rand() * 15));
      for (const replica of ['replica-0', 'replica-1']) {
        const lag = node === 1 && k === 77 ? NaN : rand() * 0.8;
        emit({__name__: 'mattermost_db_replica_lag_time', ...base, node: replica}, t, lag);
      }
      emit({__name__: 'mattermost_http_websockets_total', ...base}, t, 100 + Math.round(rand() * 50 * nodeRate));
      emit({__name__: 'mattermost_websocket_broadcast_buffer_size', ...base, hub: '0'}, t, Math.round(rand() * 8));
      emit({__name__: 'mattermost_cluster_cluster_health_score', ...base}, t, Math.round(rand() * 100) / 100);
      emit({__name__: 'mattermost_jobs_active', ...base, type: 'data_retention'}, t, rand() < 0.1 ? 1 : 0);
      emit({__name__: 'go_memstats_heap_inuse_bytes', ...base}, t, 1e8 + rand() * 5e7 + node * 1e6);
      emit({__name__: 'go_goroutines', ...base}, t, 150 + Math.round(rand() * 150) + node * 0.001);
      // The Calls plugin's Go metrics share names with the server's (see the spec's panel notes).
      // It is scraped exactly on the grid with a 10-minute gap after the first hour, so
      // range and lookback boundaries fall exactly on samples.
      const grid = opts.t0 + k * interval;
      if (node === 0 && grid < end && !(grid > opts.t0 + H && grid < opts.t0 + H + 10 * MIN)) {
        emit({__name__: 'go_goroutines', instance: 'app-1:8067', job: 'calls'}, grid, 40 + rand() * 10);
        emit({__name__: 'go_memstats_heap_inuse_bytes', instance: 'app-1:8067', job: 'calls'}, grid, 2e7 + rand() * 1e6);
      }
    }
  }
  return [...b.series.values()];
}

/** Writes the fixture as 2 h blocks aligned to t0 into `dataDir`; returns the block dirs. */
export function writeFixtureBlocks(dataDir: string, opts: FixtureOptions): string[] {
  fs.mkdirSync(dataDir, {recursive: true});
  const all = generateFixture(opts);
  const dirs: string[] = [];
  const blockMs = 2 * H;
  const end = opts.t0 + opts.hours * H;
  for (let from = opts.t0; from < end; from += blockMs) {
    const to = Math.min(from + blockMs, end + MIN);
    const part = all
      .map((s) => ({labels: s.labels, samples: [...s.samples].filter((x) => x.t >= from && x.t < to)}))
      .filter((s) => s.samples.length > 0);
    if (part.length === 0) continue;
    dirs.push(writeBlock(dataDir, part, {fsync: false, minTime: from, maxTime: to}).dir);
  }
  return dirs;
}

/** A SeriesSource over the blocks in `dirs` (what the plugin's querier does). */
export function openBlocksSource(dirs: readonly string[]): SeriesSource {
  return mergeSources(dirs.map((d) => blockSource(openBlock(d))));
}

export function blockDirsIn(dataDir: string): string[] {
  return fs
    .readdirSync(dataDir)
    .filter((n) => /^[0-9A-HJKMNP-TV-Z]{26}$/.test(n))
    .map((n) => path.join(dataDir, n));
}
