// The dev host's System Console page (main listener):
//   GET /, /admin_console/...           the page: theme variables, the host bundle, the plugin's settings
//   GET /static/devhost/host.js         devhost/console/host.tsx bundled with esbuild (React & co. from
//                                       node_modules, production builds, as the web app ships them)
//   GET /static/plugins/<id>/main.js    the plugin's webapp bundle, read from disk on each request
//   GET /plugins/<id>/public/<file>     the plugin's public files (dashboard.js), from the webapp
//                                       bundle's directory, before anything reaches ServeHTTP
//   GET /api/devhost/plugin             manifest bits, plugin state, the settings (defaults + saved)
//   PUT /api/devhost/plugin/settings    {settings} → the System Console's save path
// The page sets the devhost_user cookie (admin unless chosen otherwise) so that the plugin's
// own requests from the page reach ServeHTTP as that user.

import {readdirSync, statSync} from 'node:fs';
import fs from 'node:fs/promises';
import type http from 'node:http';
import path from 'node:path';
import {fileURLToPath} from 'node:url';

import * as esbuild from 'esbuild';

import type {JsonObject, Manifest} from './config.ts';
import {servePublicFile} from './http.ts';
import {isUserKind} from './state.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const maxSettingsBody = 1 << 20;

export interface ConsoleContext {
  manifest: Manifest;
  /** Absolute path of the plugin's webapp bundle (main.js). */
  webappBundle: string;
  /**
   * What /plugins/<id>/public/ serves (Mattermost: <plugin dir>/public/); default the webapp
   * bundle's directory, where webapp/build.mjs puts dashboard.js.
   */
  publicDir?: string;
  serverVersion: string;
  /** This plugin's saved settings (PluginSettings.Plugins[id]), keys as saved. */
  savedSettings(): JsonObject | undefined;
  /** The System Console's save: rejects with the plugin's reason. */
  save(settings: JsonObject): Promise<void>;
  pluginState(): string;
}

let hostBundle: Promise<string> | undefined;

/** devhost/console/host.tsx as one minified IIFE (built once per process, ~0.3 s). */
export function buildHostBundle(): Promise<string> {
  hostBundle ??= esbuild
    .build({
      entryPoints: [path.join(here, 'console/host.tsx')],
      bundle: true,
      write: false,
      format: 'iife',
      platform: 'browser',
      target: 'es2020',
      jsx: 'transform',
      jsxFactory: 'React.createElement',
      jsxFragment: 'React.Fragment',
      define: {'process.env.NODE_ENV': '"production"'},
      minify: true,
      legalComments: 'none',
      logLevel: 'silent',
    })
    .then((r) => r.outputFiles[0].text);
  hostBundle.catch(() => {
    hostBundle = undefined; // the next request tries again and shows the error
  });
  return hostBundle;
}

/**
 * True when the webapp bundle or the dashboard chunk beside it (one build makes both) is
 * missing or older than what they are built from (webapp/src, webapp/i18n, webapp/build.mjs,
 * plugin.json) — the check build/dist.sh makes.
 */
export function webappBundleStale(root: string, bundle = path.join(root, 'webapp/dist/main.js')): boolean {
  let built: number;
  try {
    built = Math.min(statSync(bundle).mtimeMs, statSync(path.join(path.dirname(bundle), 'dashboard.js')).mtimeMs);
  } catch {
    return true;
  }
  const newer = (p: string): boolean => {
    let st;
    try {
      st = statSync(p);
    } catch {
      return false;
    }
    if (!st.isDirectory()) return st.mtimeMs > built;
    return readdirSafe(p).some((name) => newer(path.join(p, name)));
  };
  return ['webapp/src', 'webapp/i18n', 'webapp/build.mjs', 'plugin.json'].some((p) => newer(path.join(root, p)));
}

function readdirSafe(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

interface ManifestView {
  name?: string;
  version?: string;
  description?: string;
  settings_schema?: {header?: string; footer?: string; settings?: Array<{key: string; type?: string; default?: unknown}>};
}

/** Schema defaults overlaid with the saved values, keys lower-cased (as the console's state holds them). */
export function effectiveSettings(manifest: Manifest, saved: JsonObject | undefined): JsonObject {
  const out: JsonObject = {};
  for (const s of (manifest as ManifestView).settings_schema?.settings ?? []) {
    if (s.type !== 'custom') out[s.key.toLowerCase()] = (s.default ?? null) as JsonObject[string];
  }
  for (const [k, v] of Object.entries(saved ?? {})) out[k.toLowerCase()] = v;
  return out;
}

/** What the console saves: the saved settings with the page's values over them, one key per setting. */
export function mergeSettings(saved: JsonObject | undefined, fromPage: JsonObject): JsonObject {
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(saved ?? {})) out[k.toLowerCase()] = v;
  for (const [k, v] of Object.entries(fromPage)) out[k.toLowerCase()] = v;
  return out;
}

const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** The Denim theme as the web app applies it (applyTheme): hex and r,g,b forms. */
const theme: Record<string, string> = {
  'sidebar-bg': '#1e325c',
  'sidebar-text': '#ffffff',
  'sidebar-unread-text': '#ffffff',
  'sidebar-text-hover-bg': '#28427b',
  'sidebar-text-active-border': '#5d89ea',
  'sidebar-text-active-color': '#ffffff',
  'sidebar-header-bg': '#192a4d',
  'sidebar-header-text-color': '#ffffff',
  'sidebar-teambar-bg': '#14213e',
  'online-indicator': '#3db887',
  'away-indicator': '#ffbc1f',
  'dnd-indicator': '#d24b4e',
  'mention-bg': '#ffffff',
  'mention-color': '#1e325c',
  'center-channel-bg': '#ffffff',
  'center-channel-color': '#3f4350',
  'new-message-separator': '#cc8f00',
  'link-color': '#386fe5',
  'button-bg': '#1c58d9',
  'button-color': '#ffffff',
  'error-text': '#d24b4e',
  'mention-highlight-bg': '#ffd470',
  'mention-highlight-link': '#1b1d22',
};

function themeVariables(): string {
  const rgb = (hex: string) => [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16)).join(', ');
  const lines: string[] = [];
  for (const [name, hex] of Object.entries(theme)) {
    lines.push(`--${name}: ${hex};`);
    lines.push(`--${name === 'error-text' ? 'error-text-color' : name}-rgb: ${rgb(hex)};`);
  }
  return lines.join(' ');
}

const styles = `
:root { ${themeVariables()} }
* { box-sizing: border-box; }
html, body { margin: 0; height: 100%; }
body { font-family: 'Open Sans', 'Helvetica Neue', Arial, sans-serif; font-size: 14px; line-height: 20px; color: var(--center-channel-color); background: rgba(var(--center-channel-color-rgb), 0.04); }
a { color: var(--link-color); }
.devhost-layout { display: flex; min-height: 100%; }
.admin-sidebar { width: 220px; flex: none; background: var(--sidebar-bg); color: var(--sidebar-text); }
.admin-sidebar header { background: var(--sidebar-header-bg); color: var(--sidebar-header-text-color); padding: 14px 16px; font-weight: 600; font-size: 16px; }
.admin-sidebar .section { padding: 14px 16px 4px; font-size: 12px; text-transform: uppercase; opacity: 0.64; letter-spacing: 0.02em; }
.admin-sidebar .item { display: block; padding: 6px 16px 6px 28px; color: var(--sidebar-text); text-decoration: none; opacity: 0.8; }
.admin-sidebar .item.active { opacity: 1; background: rgba(255, 255, 255, 0.08); border-left: 4px solid var(--sidebar-text-active-border); padding-left: 24px; }
.admin-console { flex: 1; min-width: 0; display: flex; flex-direction: column; }
.admin-console__header { background: var(--center-channel-bg); border-bottom: 1px solid rgba(var(--center-channel-color-rgb), 0.12); padding: 14px 24px; font-size: 20px; font-weight: 600; display: flex; align-items: center; gap: 16px; }
.admin-console__header .devhost-user { margin-left: auto; font-size: 12px; font-weight: 400; }
.admin-console__wrapper { flex: 1; display: flex; flex-direction: column; }
.admin-console__content { padding: 24px; max-width: 1600px; }
.banner { background: var(--center-channel-bg); border: 1px solid rgba(var(--center-channel-color-rgb), 0.12); border-left: 4px solid var(--button-bg); border-radius: 4px; padding: 12px 16px; margin-bottom: 20px; }
.form-horizontal { background: var(--center-channel-bg); border: 1px solid rgba(var(--center-channel-color-rgb), 0.12); border-radius: 4px; padding: 20px 24px; }
.form-group { display: flex; flex-wrap: wrap; margin-bottom: 18px; }
.control-label { font-weight: 600; text-align: right; padding: 6px 16px 0 0; }
.col-sm-4 { width: 33.33%; }
.col-sm-8 { width: 66.66%; }
.devhost-custom { margin-bottom: 18px; }
.help-text { color: rgba(var(--center-channel-color-rgb), 0.72); margin-top: 4px; font-size: 13px; }
.form-control { width: 100%; max-width: 480px; padding: 6px 12px; font: inherit; color: var(--center-channel-color); background: var(--center-channel-bg); border: 1px solid rgba(var(--center-channel-color-rgb), 0.16); border-radius: 4px; }
.form-control:focus { outline: none; border-color: var(--button-bg); box-shadow: inset 0 0 0 1px var(--button-bg); }
.radio-inline { margin-right: 16px; display: inline-flex; align-items: center; gap: 4px; padding-top: 6px; }
.btn { display: inline-block; border: none; border-radius: 4px; padding: 8px 16px; font: inherit; font-weight: 600; cursor: pointer; background: rgba(var(--button-bg-rgb), 0.08); color: var(--button-bg); }
.btn-primary { background: var(--button-bg); color: var(--button-color); }
.btn-danger { background: var(--error-text); color: #fff; }
.btn[disabled] { opacity: 0.48; cursor: not-allowed; }
.admin-console-save { background: var(--center-channel-bg); border-top: 1px solid rgba(var(--center-channel-color-rgb), 0.12); padding: 12px 24px; display: flex; align-items: center; gap: 16px; margin-top: auto; }
.error-message, .devhost-error { color: var(--error-text); }
.devhost-error { margin: 24px; padding: 12px 16px; border: 1px solid var(--error-text); border-radius: 4px; background: rgba(var(--error-text-color-rgb), 0.08); }
.saved-message { color: var(--online-indicator); }
.devhost-missing .help-text { font-style: italic; }
table { border-collapse: collapse; }
`;

export function consolePage(ctx: ConsoleContext, user: string): string {
  const m = ctx.manifest as Manifest & ManifestView;
  const name = escapeHtml(m.name ?? m.id);
  const options = ['admin', 'member', 'anonymous'].map((u) => `<option value="${u}"${u === user ? ' selected' : ''}>${u}</option>`).join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>${name} - System Console - Mattermost dev host</title>
<link rel="icon" href="data:,">
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>${styles}</style>
</head>
<body data-plugin-id="${escapeHtml(m.id)}">
<div class="devhost-layout">
<nav class="admin-sidebar" aria-label="System Console">
<header>System Console</header>
<div class="section">Plugins</div>
<a class="item active" href="/admin_console/plugins/plugin_${escapeHtml(m.id)}">${name}</a>
</nav>
<main class="admin-console">
<div class="admin-console__header"><span>${name}</span>
<label class="devhost-user">Mattermost dev host · acting as
<select id="devhost-user" onchange="document.cookie='devhost_user='+this.value+'; path=/; samesite=lax'; location.reload()">${options}</select>
</label></div>
<div id="root" class="admin-console__wrapper"></div>
</main>
</div>
<script src="/static/devhost/host.js"></script>
</body></html>
`;
}

function send(res: http.ServerResponse, status: number, type: string, body: string | Buffer, extra: Record<string, string> = {}): void {
  res.writeHead(status, {'Content-Type': type, 'Cache-Control': 'no-store', ...extra});
  res.end(body);
}

const sendJSON = (res: http.ServerResponse, status: number, body: unknown): void => send(res, status, 'application/json', JSON.stringify(body));

async function readJSON(req: http.IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > maxSettingsBody) throw new Error('request body too large');
    chunks.push(chunk as Buffer);
  }
  return JSON.parse(Buffer.concat(chunks).toString('utf8'));
}

function cookieUser(req: http.IncomingMessage): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [k, v] = part.split('=').map((s) => s.trim());
    if (k === 'devhost_user' && v && isUserKind(v)) return v;
  }
  return undefined;
}

/**
 * Handles the console's routes; false for anything else (the caller goes on routing).
 * Errors are answered, never thrown.
 */
export function consoleHandler(ctx: ConsoleContext): (req: http.IncomingMessage, res: http.ServerResponse, pathname: string) => boolean {
  const id = ctx.manifest.id;
  const bundlePath = `/static/plugins/${id}/main.js`;
  const publicPrefix = `/plugins/${id}/public/`;
  const publicDir = ctx.publicDir ?? path.dirname(ctx.webappBundle);
  return (req, res, pathname) => {
    const method = req.method ?? 'GET';
    const isGet = method === 'GET' || method === 'HEAD';
    if (pathname.startsWith(publicPrefix)) {
      servePublicFile(req, res, publicDir, pathname.slice(publicPrefix.length));
      return true;
    }
    if (isGet && (pathname === '/' || pathname === '/admin_console' || pathname.startsWith('/admin_console/'))) {
      const user = cookieUser(req);
      // Explicit from the first visit: the plugin's requests from this page act as this user.
      const cookie: Record<string, string> = user ? {} : {'Set-Cookie': 'devhost_user=admin; Path=/; SameSite=Lax'};
      send(res, 200, 'text/html; charset=utf-8', consolePage(ctx, user ?? 'admin'), cookie);
      return true;
    }
    if (isGet && pathname === '/static/devhost/host.js') {
      buildHostBundle().then(
        (js) => send(res, 200, 'text/javascript; charset=utf-8', js),
        (err: Error) => send(res, 500, 'text/plain; charset=utf-8', `building the host bundle failed: ${err.message}\n`),
      );
      return true;
    }
    if (isGet && pathname === bundlePath) {
      fs.readFile(ctx.webappBundle).then(
        (js) => send(res, 200, 'text/javascript; charset=utf-8', js),
        (err: NodeJS.ErrnoException) =>
          send(res, 404, 'text/plain; charset=utf-8', err.code === 'ENOENT' ? `${ctx.webappBundle} does not exist: build it with node webapp/build.mjs\n` : `${err.message}\n`),
      );
      return true;
    }
    if (isGet && pathname === '/api/devhost/plugin') {
      const m = ctx.manifest as Manifest & ManifestView;
      sendJSON(res, 200, {
        id,
        name: m.name ?? id,
        version: m.version ?? '',
        description: m.description ?? '',
        state: ctx.pluginState(),
        user: cookieUser(req) ?? 'admin',
        serverVersion: ctx.serverVersion,
        settingsSchema: m.settings_schema ?? {},
        settings: effectiveSettings(ctx.manifest, ctx.savedSettings()),
      });
      return true;
    }
    if (pathname === '/api/devhost/plugin/settings') {
      if (method !== 'PUT' && method !== 'POST') {
        sendJSON(res, 405, {error: `${method} not allowed: PUT {"settings": {...}}`});
        return true;
      }
      readJSON(req)
        .then(async (body) => {
          const settings = (body as {settings?: unknown} | null)?.settings;
          if (!settings || typeof settings !== 'object' || Array.isArray(settings)) {
            sendJSON(res, 400, {error: 'expected {"settings": {...}}'});
            return;
          }
          try {
            await ctx.save(mergeSettings(ctx.savedSettings(), settings as JsonObject));
          } catch (err) {
            sendJSON(res, 400, {error: (err as Error).message});
            return;
          }
          sendJSON(res, 200, {settings: effectiveSettings(ctx.manifest, ctx.savedSettings())});
        })
        .catch((err: Error) => sendJSON(res, 400, {error: `not a JSON body: ${err.message}`}));
      return true;
    }
    return false;
  };
}
