// Scrape targets from the Mattermost config, the plugin settings and what discovery
// found (pure: no I/O; DNS, DB and probes happen in the watcher).
//
// Job names are the Go plugin's (upstream spec §2.3), so dashboards and queries keep
// working: Mattermost app nodes `prometheus`, Calls plugin and rtcd `calls`, node
// exporter `node`. `instance` is always `<node hostname>:<port>` — never `localhost`.

import type {MattermostConfig} from '../bridge/mattermost/config.ts';
import type {ClusterNode} from './discovery.ts';

export const JOB_APP = 'prometheus';
export const JOB_CALLS = 'calls';
export const JOB_NODE_EXPORTER = 'node';
export const CALLS_PLUGIN_ID = 'com.mattermost.calls';
/** Served by Mattermost's metrics listener through the Calls plugin's ServeMetrics hook (MM ≥ 9.4). */
export const CALLS_METRICS_PATH = '/plugins/com.mattermost.calls/metrics';
export const METRICS_PATH = '/metrics';
export const DEFAULT_METRICS_LISTEN_ADDRESS = ':8067';

export interface Target {
  job: string;
  /** `host:port` identity of the scraped process (the `instance` label). */
  instance: string;
  /** What to fetch. */
  url: string;
  /** The target's label set (job, instance). */
  labels: Record<string, string>;
}

/** The plugin settings this module reads (structurally a subset of config/settings.ts Settings). */
export interface TargetSettings {
  enableNodeExporterTargets: boolean;
  nodeExporterPort: number;
}

export interface Topology {
  /** This node's name: ClusterSettings.OverrideHostname or os.hostname(). */
  selfHostname: string;
  /**
   * HA only: live app nodes from ClusterDiscovery. Undefined/empty (discovery failed
   * before any success, or no rows yet) ⇒ this node alone, as in single-node mode.
   */
  nodes?: readonly ClusterNode[];
  /** Addresses the rtcd host resolved to. Undefined ⇒ the host name itself is used. */
  rtcdAddresses?: readonly string[];
  /** Calls plugin running (e.g. from GetPluginStatus). Undefined ⇒ PluginSettings.PluginStates. */
  callsRunning?: boolean;
  /** Drops node-exporter targets for which it returns false (see README: probing). */
  nodeExporterFilter?: (host: string, port: number) => boolean;
}

export class TargetConfigError extends Error {
  override name = 'TargetConfigError';
}

/** Case-insensitive key lookup in a plain object or Map (plugin keys arrive lower-cased). */
export function getCI(obj: unknown, key: string): unknown {
  if (obj == null || typeof obj !== 'object') return undefined;
  const entries: Iterable<[string, unknown]> = obj instanceof Map ? (obj as Map<string, unknown>).entries() : Object.entries(obj);
  const want = key.toLowerCase();
  let found: unknown;
  for (const [k, v] of entries) {
    if (k === key) return v;
    if (found === undefined && k.toLowerCase() === want) found = v;
  }
  return found;
}

/** Go's net.SplitHostPort for a listen address (`:8067`, `host:8067`, `[::1]:8067`). */
export function splitHostPort(address: string): {host: string; port: number} {
  let host: string;
  let portStr: string;
  if (address.startsWith('[')) {
    const close = address.indexOf(']');
    if (close < 0 || address[close + 1] !== ':') throw new TargetConfigError(`address ${JSON.stringify(address)}: missing port or bad [IPv6] syntax`);
    host = address.slice(1, close);
    portStr = address.slice(close + 2);
  } else {
    const colon = address.lastIndexOf(':');
    if (colon < 0) throw new TargetConfigError(`address ${JSON.stringify(address)}: missing port`);
    if (address.indexOf(':') !== colon) throw new TargetConfigError(`address ${JSON.stringify(address)}: too many colons (bracket IPv6 addresses)`);
    host = address.slice(0, colon);
    portStr = address.slice(colon + 1);
  }
  if (!/^\d{1,5}$/.test(portStr) || Number(portStr) < 1 || Number(portStr) > 65535) {
    throw new TargetConfigError(`address ${JSON.stringify(address)}: invalid port`);
  }
  return {host, port: Number(portStr)};
}

/** host:port with brackets for IPv6 literals. */
export function joinHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

const WILDCARD_HOSTS = new Set(['', '0.0.0.0', '::', '[::]']);

/**
 * Where this node's metrics listener is reached from this process: a wildcard listen
 * host (`:8067`, `0.0.0.0`, `::`) or `localhost` ⇒ 127.0.0.1 (no DNS, no firewall, and
 * the only address guaranteed to be bound); a specific address ⇒ that address.
 */
export function localScrapeHost(listenHost: string): string {
  if (WILDCARD_HOSTS.has(listenHost) || listenHost.toLowerCase() === 'localhost') return '127.0.0.1';
  return listenHost;
}

/** The Calls plugin's enabled state from PluginSettings.PluginStates. */
export function callsEnabledInConfig(config: MattermostConfig): boolean {
  const states = getCI(config.PluginSettings, 'PluginStates');
  const calls = getCI(states, CALLS_PLUGIN_ID);
  const enable = getCI(calls, 'Enable');
  return enable === true || enable === 'true';
}

/** The Calls plugin's `rtcdserviceurl` setting ('' if unset). */
export function rtcdServiceUrl(config: MattermostConfig): string {
  const plugins = getCI(config.PluginSettings, 'Plugins');
  const calls = getCI(plugins, CALLS_PLUGIN_ID);
  const url = getCI(calls, 'RTCDServiceURL');
  return typeof url === 'string' ? url.trim() : '';
}

export interface RtcdEndpoint {
  scheme: 'http' | 'https';
  host: string;
  port: number;
}

/**
 * Parses Calls' rtcdserviceurl (`http://[clientID:authKey@]rtcd:8045`). The credentials
 * are dropped: they never reach a target URL, label or log line. Without an explicit
 * port the scheme's default is used (the Go plugin dropped rtcd targets in that case).
 */
export function parseRtcdServiceUrl(raw: string): RtcdEndpoint {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new TargetConfigError('Calls rtcdserviceurl is not a valid URL');
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new TargetConfigError('Calls rtcdserviceurl must be http:// or https://');
  const scheme = u.protocol === 'https:' ? 'https' : 'http';
  const host = u.hostname.replace(/^\[(.*)\]$/, '$1');
  if (host === '') throw new TargetConfigError('Calls rtcdserviceurl has no host');
  const port = u.port !== '' ? Number(u.port) : scheme === 'https' ? 443 : 80;
  return {scheme, host, port};
}

function urlHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

function target(job: string, instance: string, url: string): Target {
  return {job, instance, url, labels: {job, instance}};
}

/** Sorted by job, instance, url: a stable order to compare and emit. */
export function sortTargets(targets: Target[]): Target[] {
  return targets.sort((a, b) => (a.job !== b.job ? (a.job < b.job ? -1 : 1) : a.instance !== b.instance ? (a.instance < b.instance ? -1 : 1) : a.url < b.url ? -1 : a.url > b.url ? 1 : 0));
}

/**
 * The scrape targets.
 *
 *  - single node (ClusterSettings.Enable false), or HA without a discovered node:
 *    this node's metrics listener, scraped at `http://127.0.0.1:<port>/metrics`
 *    (or the listen host if it is a specific address), labelled `instance=<self hostname>:<port>`;
 *  - HA: every discovered node at `http://<Hostname>:<port>/metrics`, `instance=<Hostname>:<port>`;
 *  - Calls running: `<same host:port>/plugins/com.mattermost.calls/metrics` per app node (job `calls`),
 *    and rtcd from rtcdserviceurl: `<scheme>://<address>:<port>/metrics` per resolved address (job `calls`);
 *  - node exporter (EnableNodeExporterTargets): `http://<host>:<NodeExporterPort>/metrics` per app
 *    node and rtcd address (job `node`), minus those `nodeExporterFilter` rejects.
 *
 * Throws TargetConfigError for an unusable MetricsSettings.ListenAddress; a bad
 * rtcdserviceurl only drops the rtcd targets.
 */
export function resolveTargets(config: MattermostConfig, settings: TargetSettings, topology: Topology): Target[] {
  const listen = config.MetricsSettings?.ListenAddress || DEFAULT_METRICS_LISTEN_ADDRESS;
  const {host: listenHost, port} = splitHostPort(listen);
  const ha = config.ClusterSettings?.Enable === true;

  // Each app node: where to reach it and what to call it.
  const appHosts: Array<{urlHost: string; name: string}> = [];
  const nodes = ha ? (topology.nodes ?? []).filter((n) => n.hostname !== '') : [];
  if (nodes.length > 0) {
    for (const n of nodes) appHosts.push({urlHost: n.hostname, name: n.hostname});
  } else {
    appHosts.push({urlHost: localScrapeHost(listenHost), name: topology.selfHostname || localScrapeHost(listenHost)});
  }

  const out: Target[] = [];
  const nodeExporter = (reachHost: string, name: string): void => {
    if (!settings.enableNodeExporterTargets) return;
    const p = settings.nodeExporterPort;
    if (topology.nodeExporterFilter && !topology.nodeExporterFilter(reachHost, p)) return;
    out.push(target(JOB_NODE_EXPORTER, joinHostPort(name, p), `http://${joinHostPort(reachHost, p)}${METRICS_PATH}`));
  };

  const calls = topology.callsRunning ?? callsEnabledInConfig(config);
  for (const h of appHosts) {
    const instance = joinHostPort(h.name, port);
    const base = `http://${joinHostPort(h.urlHost, port)}`;
    out.push(target(JOB_APP, instance, `${base}${METRICS_PATH}`));
    if (calls) out.push(target(JOB_CALLS, instance, `${base}${CALLS_METRICS_PATH}`));
    nodeExporter(h.urlHost, h.name);
  }

  const rtcdRaw = calls ? rtcdServiceUrl(config) : '';
  if (rtcdRaw !== '') {
    let ep: RtcdEndpoint | undefined;
    try {
      ep = parseRtcdServiceUrl(rtcdRaw);
    } catch {
      ep = undefined; // reported by the watcher
    }
    if (ep) {
      for (const addr of topology.rtcdAddresses ?? [ep.host]) {
        out.push(target(JOB_CALLS, joinHostPort(addr, ep.port), `${ep.scheme}://${urlHost(addr)}:${ep.port}${METRICS_PATH}`));
        nodeExporter(addr, addr);
      }
    }
  }

  // Dedupe by (job, url): e.g. rtcd on an app node's address.
  const seen = new Set<string>();
  const unique = out.filter((t) => {
    const k = `${t.job}\0${t.url}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
  return sortTargets(unique);
}
