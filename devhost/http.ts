// The dev host's HTTP side. Main listener (like Mattermost's :8065):
//   /plugins/<id>/public/<file> → a static file, never the plugin (ServePluginPublicRequest):
//                              Mattermost serves <plugin dir>/public/, the dev host the webapp's
//                              dist dir (dashboard.js); routed by console.ts, served by
//                              servePublicFile below
//   /plugins/<id>[/...]      → Plugin.ServeHTTP, prefix stripped (servePluginRequest in
//                              server/channels/app/plugin_requests.go)
//   /api/v4/system/ping      → {"status":"OK"}
//   /api/v4/system/support_packet → the plugin's GenerateSupportData files as a tar (admin only)
//   /, /admin_console/...    → the System Console page (console.ts), or a placeholder without one
// Metrics listener (like Mattermost's MetricsSettings.ListenAddress, :8067):
//   /plugins/<id>/metrics... → Plugin.ServeMetrics, prefix /plugins/<id>/metrics stripped, no user
//   /metrics                 → the server's metrics (synthetic.ts), or a few fake ones without them
// The acting user comes from the X-Devhost-User header (or a devhost_user cookie):
// admin (default) | member | anonymous.

import {createReadStream} from 'node:fs';
import fsp from 'node:fs/promises';
import http from 'node:http';
import type {AddressInfo} from 'node:net';
import path from 'node:path';
import {PassThrough} from 'node:stream';

import {callServeHTTP, type HostRequest, type HostResponseSink} from '../server/src/bridge/mattermost/host.ts';
import {canonicalHeaderKey} from '../server/src/bridge/mattermost/http.ts';
import type {DevLogger} from './log.ts';
import type {ActivePlugin} from './plugin.ts';
import {generateSupportData, supportPacketTar} from './support.ts';
import {isUserKind, newId, users, type UserKind} from './state.ts';

export const userHeader = 'x-devhost-user';
export const userCookie = 'devhost_user';
/** model.SessionCookieToken: the session cookie Mattermost removes before calling the plugin. */
const sessionCookie = 'MMAUTHTOKEN';

export interface HttpOptions {
  pluginId: string;
  host: string;
  port: number;
  metricsPort: number;
  logger: DevLogger;
  /** The running plugin, or undefined while it is starting, restarting or failed. */
  plugin: () => ActivePlugin | undefined;
  /** Extra fake server metrics lines (Prometheus text) for GET /metrics. */
  extraMetrics?: () => string;
  /** The server's GET /metrics (replaces the few fake lines). */
  serverMetrics?: () => Promise<{contentType: string; body: string}>;
  /** More routes on the main listener (the console page): true when it answered. */
  console?: (req: http.IncomingMessage, res: http.ServerResponse, pathname: string) => boolean;
}

export interface HttpServers {
  port: number;
  metricsPort: number;
  close(): Promise<void>;
}

// ------------------------------------------------------------ pure helpers

/** Which dev host user a request acts as; undefined for an unknown value. */
export function actingUser(headers: http.IncomingHttpHeaders): UserKind | undefined {
  const h = headers[userHeader];
  const fromHeader = Array.isArray(h) ? h[0] : h;
  const fromCookie = parseCookies(headers.cookie).find(([k]) => k === userCookie)?.[1];
  const v = (fromHeader ?? fromCookie ?? 'admin').trim().toLowerCase();
  return isUserKind(v) ? v : undefined;
}

export function parseCookies(header: string | string[] | undefined): Array<[string, string]> {
  const all = Array.isArray(header) ? header.join('; ') : (header ?? '');
  const out: Array<[string, string]> = [];
  for (const part of all.split(';')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    out.push([part.slice(0, eq).trim(), part.slice(eq + 1).trim()]);
  }
  return out;
}

/**
 * rawHeaders → Go's http.Header (canonical keys, values in order) minus what Go's
 * server moves out of the map (Host, Transfer-Encoding) and what the dev host adds.
 */
export function goHeaders(rawHeaders: string[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const key = canonicalHeaderKey(rawHeaders[i]);
    if (key === 'Host' || key === 'Transfer-Encoding' || key === 'X-Devhost-User') continue;
    (out[key] ??= []).push(rawHeaders[i + 1]);
  }
  return out;
}

/** What Mattermost's servePluginRequest does to the headers: no spoofed identity, no credentials. */
export function stripForPlugin(headers: Record<string, string[]>, userId: string | undefined): Record<string, string[]> {
  const out = {...headers};
  delete out['Mattermost-User-Id'];
  delete out['Mattermost-Plugin-Id'];
  delete out.Authorization;
  delete out.Referer;
  if (out.Cookie) {
    const kept = parseCookies(out.Cookie).filter(([k]) => k !== sessionCookie && k !== userCookie);
    delete out.Cookie;
    if (kept.length > 0) out.Cookie = [kept.map(([k, v]) => `${k}=${v}`).join('; ')];
  }
  if (userId) out['Mattermost-User-Id'] = [userId];
  return out;
}

/** Mattermost re-encodes the query without access_token (url.Values.Encode sorts by key). */
export function pluginQuery(search: string): string {
  const q = new URLSearchParams(search);
  q.delete('access_token');
  q.sort();
  const s = q.toString();
  return s ? `?${s}` : '';
}

/** The part of `pathname` after `prefix` when it matches Mattermost's route, else undefined. */
export function stripPrefix(pathname: string, prefix: string, exactOrSlash: boolean): string | undefined {
  if (!pathname.startsWith(prefix)) return undefined;
  const rest = pathname.slice(prefix.length);
  if (exactOrSlash && rest !== '' && !rest.startsWith('/')) return undefined;
  return rest;
}

/** Go's DetectContentType, reduced to the cases a plugin response hits. */
export function sniffContentType(chunk: Buffer): string {
  const head = chunk.subarray(0, 512);
  const text = head.toString('latin1').trimStart().toLowerCase();
  if (/^(<!doctype html|<html|<head|<body|<script|<div|<p[ >]|<h1|<table|<a[ >]|<br|<title|<style|<iframe|<font|<b[ >]|<!--)/.test(text)) return 'text/html; charset=utf-8';
  if (text.startsWith('<?xml')) return 'text/xml; charset=utf-8';
  if (head.subarray(0, 5).toString('latin1') === '%PDF-') return 'application/pdf';
  if (head[0] === 0x1f && head[1] === 0x8b && head[2] === 0x08) return 'application/x-gzip';
  if (head.subarray(0, 4).toString('latin1') === 'PK\x03\x04') return 'application/zip';
  if (head[0] === 0x89 && head.subarray(1, 4).toString('latin1') === 'PNG') return 'image/png';
  for (const b of head) if (b <= 0x08 || b === 0x0b || (b >= 0x0e && b <= 0x1a) || (b >= 0x1c && b <= 0x1f)) return 'application/octet-stream';
  return 'text/plain; charset=utf-8';
}

// ---------------------------------------------------------------- serving

const publicContentTypes: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.html': 'text/html; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
};

/**
 * The file under `dir` that the part of a public URL after `/plugins/<id>/public/` names, or
 * undefined when it names none: a directory (trailing slash), an escape from `dir` (`..`,
 * encoded or not, a backslash, an absolute path) or a bad escape. Mattermost cleans the path
 * and answers 404 unless it stays under the plugin's public/.
 */
export function publicFilePath(dir: string, encodedRest: string): string | undefined {
  let rest: string;
  try {
    rest = decodeURIComponent(encodedRest);
  } catch {
    return undefined;
  }
  if (rest === '' || rest.endsWith('/') || rest.includes('\\') || rest.includes('\0')) return undefined;
  const segments = rest.split('/');
  if (segments.some((s) => s === '' || s === '.' || s === '..')) return undefined;
  const root = path.resolve(dir);
  const file = path.resolve(root, ...segments);
  return file.startsWith(root + path.sep) ? file : undefined;
}

/** GET/HEAD of a plugin's public file from `dir`, like http.ServeFile (404 for anything else there). */
export function servePublicFile(req: http.IncomingMessage, res: http.ServerResponse, dir: string, encodedRest: string): void {
  req.resume();
  const method = req.method ?? 'GET';
  if (method !== 'GET' && method !== 'HEAD') {
    res.writeHead(405, {'Content-Type': 'text/plain; charset=utf-8', Allow: 'GET, HEAD'});
    res.end(`${method} not allowed on a public file\n`);
    return;
  }
  const file = publicFilePath(dir, encodedRest);
  if (!file) {
    notFound(res);
    return;
  }
  fsp.stat(file).then(
    (st) => {
      if (!st.isFile()) {
        notFound(res);
        return;
      }
      const modified = new Date(Math.floor(st.mtimeMs / 1000) * 1000);
      const since = Date.parse(String(req.headers['if-modified-since'] ?? ''));
      const headers = {
        'Content-Type': publicContentTypes[path.extname(file).toLowerCase()] ?? 'application/octet-stream',
        'Last-Modified': modified.toUTCString(),
      };
      if (Number.isFinite(since) && modified.getTime() <= since) {
        res.writeHead(304, headers);
        res.end();
        return;
      }
      res.writeHead(200, {...headers, 'Content-Length': String(st.size)});
      if (method === 'HEAD') {
        res.end();
        return;
      }
      createReadStream(file)
        .on('error', () => res.destroy())
        .pipe(res);
    },
    () => notFound(res),
  );
}

function notFound(res: http.ServerResponse): void {
  // http.NotFound
  res.writeHead(404, {'Content-Type': 'text/plain; charset=utf-8', 'X-Content-Type-Options': 'nosniff'});
  res.end('404 page not found\n');
}

/** GET /api/v4/system/support_packet: Plugin.GenerateSupportData, the files as a tar (support.ts). */
async function serveSupportPacket(o: HttpOptions, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  req.resume();
  if (actingUser(req.headers) !== 'admin') {
    sendJSON(res, 403, {error: 'the support packet needs a system admin (X-Devhost-User: admin)'});
    return;
  }
  const plugin = o.plugin();
  if (!plugin) {
    sendJSON(res, 503, {error: 'the plugin is not running'});
    return;
  }
  try {
    const data = await generateSupportData(plugin);
    o.logger.info('support packet generated', {files: data.files.length, ms: data.ms, error: data.error ?? ''});
    const tar = supportPacketTar(data);
    res.writeHead(200, {'Content-Type': 'application/x-tar', 'Content-Length': String(tar.length), 'Content-Disposition': 'attachment; filename="support_packet.tar"'});
    res.end(tar);
  } catch (err) {
    o.logger.error('Plugin failed to GenerateSupportData, RPC call failed', {error: (err as Error).message});
    sendJSON(res, 500, {error: `GenerateSupportData failed: ${(err as Error).message}`});
  }
}

function sendJSON(res: http.ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, {'Content-Type': 'application/json'});
  res.end(JSON.stringify(body));
}

/** A response sink that writes to `res` with backpressure, sniffing Content-Type like Go. */
function responseSink(res: http.ServerResponse): HostResponseSink & {finish(): void} {
  let head: {status: number; headers: Map<string, string[]>} | undefined;
  const flushHead = (first: Buffer | undefined): void => {
    if (res.headersSent) return;
    const h = head ?? {status: 200, headers: new Map<string, string[]>()};
    res.statusCode = h.status >= 200 ? h.status : 200;
    let hasType = false;
    for (const [k, v] of h.headers) {
      if (k.toLowerCase() === 'content-type') hasType = true;
      try {
        res.setHeader(k, v.length === 1 ? v[0] : v);
      } catch {
        // a header Node refuses (invalid characters) is dropped
      }
    }
    const nosniff = h.headers.get('X-Content-Type-Options')?.includes('nosniff');
    if (!hasType && !nosniff && first && first.length > 0) res.setHeader('Content-Type', sniffContentType(first));
  };
  return {
    writeHead(status, headers) {
      head = {status, headers};
    },
    async write(chunk) {
      if (res.destroyed) throw new Error('client connection closed');
      flushHead(chunk);
      if (res.write(chunk)) return;
      await new Promise<void>((resolve, reject) => {
        const done = (err?: Error): void => {
          res.off('drain', onDrain);
          res.off('close', onClose);
          if (err) reject(err);
          else resolve();
        };
        const onDrain = (): void => done();
        const onClose = (): void => done(new Error('client connection closed'));
        res.once('drain', onDrain);
        res.once('close', onClose);
      });
    },
    finish() {
      flushHead(undefined);
      res.end();
    },
  };
}

async function servePlugin(
  o: HttpOptions,
  method: 'Plugin.ServeHTTP' | 'Plugin.ServeMetrics',
  req: http.IncomingMessage,
  res: http.ServerResponse,
  hostReq: Omit<HostRequest, 'body'>,
): Promise<void> {
  const plugin = o.plugin();
  const hook = method === 'Plugin.ServeHTTP' ? 'ServeHTTP' : 'ServeMetrics';
  if (!plugin || !plugin.implemented.has(hook)) {
    req.resume();
    notFound(res);
    return;
  }
  // The body goes through a PassThrough: the body server may destroy its source, which must
  // not be the socket (keep-alive connections outlive the request).
  const body = new PassThrough();
  req.pipe(body);
  const sink = responseSink(res);
  const started = performance.now();
  try {
    await callServeHTTP(plugin.hooks, plugin.host.broker, {...hostReq, body}, sink, method);
    sink.finish();
  } catch (err) {
    if (res.destroyed || req.destroyed) {
      // The client went away mid-response; the plugin's failed Write ended its handler.
      o.logger.debug('client closed the connection', {hook, path: hostReq.url, error: (err as Error).message});
      return;
    }
    o.logger.error(`Plugin failed to ${hook}, RPC call failed`, {error: (err as Error).message, path: hostReq.url});
    if (!res.headersSent) {
      res.writeHead(500, {'Content-Type': 'text/plain; charset=utf-8', 'X-Content-Type-Options': 'nosniff'});
      res.end('500 internal error\n');
    } else {
      res.destroy();
    }
  } finally {
    req.unpipe(body);
    body.destroy();
  }
  o.logger.debug(`${req.method} ${hostReq.requestURI ?? hostReq.url}`, {status: res.statusCode, ms: Math.round(performance.now() - started), hook});
}

function remote(req: http.IncomingMessage): {remoteAddr: string; ip: string} {
  const ip = req.socket.remoteAddress ?? '127.0.0.1';
  const port = req.socket.remotePort ?? 0;
  return {ip, remoteAddr: ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`};
}

const placeholderPage = (o: HttpOptions): string => `<!doctype html>
<html><head><meta charset="utf-8"><title>Mattermost dev host</title></head>
<body style="font-family: sans-serif; margin: 2em">
<h1>Mattermost dev host</h1>
<p>Plugin <code>${o.pluginId}</code>: ${o.plugin() ? 'running' : 'not running'}.</p>
<ul>
<li>Plugin HTTP: <code>/plugins/${o.pluginId}/…</code> (header <code>X-Devhost-User: admin|member|anonymous</code>)</li>
<li>Plugin metrics: <code>http://${o.host}:${o.metricsPort}/plugins/${o.pluginId}/metrics</code></li>
</ul>
</body></html>
`;

export function mainHandler(o: HttpOptions): http.RequestListener {
  const prefix = `/plugins/${o.pluginId}`;
  return (req, res) => {
    const rawUrl = req.url ?? '/';
    const q = rawUrl.indexOf('?');
    const pathname = q < 0 ? rawUrl : rawUrl.slice(0, q);
    const search = q < 0 ? '' : rawUrl.slice(q);
    if (o.console?.(req, res, pathname)) return;
    if (pathname === '/' && (req.method === 'GET' || req.method === 'HEAD')) {
      res.writeHead(200, {'Content-Type': 'text/html; charset=utf-8'});
      res.end(placeholderPage(o));
      return;
    }
    if (pathname === '/api/v4/system/ping') {
      sendJSON(res, 200, {status: 'OK'});
      return;
    }
    if (pathname === '/api/v4/system/support_packet' && req.method === 'GET') {
      void serveSupportPacket(o, req, res);
      return;
    }
    const rest = stripPrefix(pathname, prefix, true);
    if (rest === undefined) {
      req.resume();
      notFound(res);
      return;
    }
    const kind = actingUser(req.headers);
    if (!kind) {
      sendJSON(res, 400, {error: `unknown ${userHeader}: use admin, member or anonymous`});
      return;
    }
    const user = kind === 'anonymous' ? undefined : users[kind];
    const {ip, remoteAddr} = remote(req);
    const headers = stripForPlugin(goHeaders(req.rawHeaders), user?.id);
    void servePlugin(o, 'Plugin.ServeHTTP', req, res, {
      method: req.method ?? 'GET',
      url: rest + pluginQuery(search),
      requestURI: rawUrl,
      headers,
      host: req.headers.host ?? `${o.host}:${o.port}`,
      remoteAddr,
      sessionId: user?.sessionId ?? '',
      requestId: newId(),
      ipAddress: ip,
      acceptLanguage: headers['Accept-Language']?.[0] ?? '',
      userAgent: headers['User-Agent']?.[0] ?? '',
    });
  };
}

const startedAt = Date.now();

export function metricsHandler(o: HttpOptions): http.RequestListener {
  const prefix = `/plugins/${o.pluginId}/metrics`;
  return (req, res) => {
    const rawUrl = req.url ?? '/';
    const q = rawUrl.indexOf('?');
    const pathname = q < 0 ? rawUrl : rawUrl.slice(0, q);
    const search = q < 0 ? '' : rawUrl.slice(q);
    if (pathname === '/metrics') {
      if (!o.serverMetrics) {
        res.writeHead(200, {'Content-Type': 'text/plain; version=0.0.4; charset=utf-8'});
        res.end(fakeServerMetrics(o));
        return;
      }
      o.serverMetrics().then(
        ({contentType, body}) => {
          res.writeHead(200, {'Content-Type': contentType});
          res.end(body);
        },
        (err: Error) => {
          o.logger.error('server metrics failed', {error: err.message});
          res.writeHead(500, {'Content-Type': 'text/plain; charset=utf-8'});
          res.end(`${err.message}\n`);
        },
      );
      return;
    }
    const rest = stripPrefix(pathname, prefix, false);
    if (rest === undefined) {
      req.resume();
      notFound(res);
      return;
    }
    // Mattermost's metrics router passes the request on with an empty Context and no
    // authentication; it does not strip headers, so never trust Mattermost-User-Id here.
    const {remoteAddr} = remote(req);
    void servePlugin(o, 'Plugin.ServeMetrics', req, res, {
      method: req.method ?? 'GET',
      url: rest + search,
      requestURI: rawUrl,
      headers: goHeaders(req.rawHeaders),
      host: req.headers.host ?? `${o.host}:${o.metricsPort}`,
      remoteAddr,
    });
  };
}

function fakeServerMetrics(o: HttpOptions): string {
  const mem = process.memoryUsage();
  const cpu = process.cpuUsage();
  const lines = [
    '# HELP mattermost_devhost_info The dev host standing in for the Mattermost server.',
    '# TYPE mattermost_devhost_info gauge',
    `mattermost_devhost_info{plugin_running="${o.plugin() ? 'true' : 'false'}"} 1`,
    '# HELP process_start_time_seconds Start time of the process since unix epoch in seconds.',
    '# TYPE process_start_time_seconds gauge',
    `process_start_time_seconds ${Math.floor(startedAt / 1000)}`,
    '# HELP process_resident_memory_bytes Resident memory size in bytes.',
    '# TYPE process_resident_memory_bytes gauge',
    `process_resident_memory_bytes ${mem.rss}`,
    '# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.',
    '# TYPE process_cpu_seconds_total counter',
    `process_cpu_seconds_total ${((cpu.user + cpu.system) / 1e6).toFixed(3)}`,
  ];
  const extra = o.extraMetrics?.() ?? '';
  return `${lines.join('\n')}\n${extra}`;
}

function listen(server: http.Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function closeServer(server: http.Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeIdleConnections();
    // Streams still in flight get a moment, then the sockets go.
    setTimeout(() => server.closeAllConnections(), 1_000).unref();
  });
}

/** Binds both listeners (port 0 = any free port). */
export async function startHttp(o: HttpOptions): Promise<HttpServers> {
  const main = http.createServer(mainHandler(o));
  const metrics = http.createServer(metricsHandler(o));
  const port = await listen(main, o.host, o.port);
  let metricsPort: number;
  try {
    metricsPort = await listen(metrics, o.host, o.metricsPort);
  } catch (err) {
    await closeServer(main);
    throw err;
  }
  o.port = port;
  o.metricsPort = metricsPort;
  return {
    port,
    metricsPort,
    close: async () => {
      await Promise.all([closeServer(main), closeServer(metrics)]);
    },
  };
}
