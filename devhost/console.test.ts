// The console's routes without a browser or a plugin: the page, the host bundle, the plugin's
// webapp bundle and public files, the settings as the page sees them, and the save path with
// its errors.
// The page itself runs in test/browser/console.test.ts.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import type {AddressInfo} from 'node:net';
import os from 'node:os';
import path from 'node:path';
import {after, before, test} from 'node:test';

import type {JsonObject, Manifest} from './config.ts';
import {consoleHandler, effectiveSettings, mergeSettings, webappBundleStale} from './console.ts';
import {publicFilePath} from './http.ts';

const manifest: Manifest = {
  id: 'com.example.plugin',
  name: 'Example',
  version: '1.2.3',
  settings_schema: {
    settings: [
      {key: 'Stats', type: 'custom'},
      {key: 'IntervalSeconds', type: 'number', default: 60},
      {key: 'Enabled', type: 'bool', default: true},
    ],
  },
};

let saved: JsonObject | undefined = {IntervalSeconds: 15};
let server: http.Server;
let url = '';
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'devhost-console-'));
const bundle = path.join(dir, 'main.js');

before(async () => {
  const handle = consoleHandler({
    manifest,
    webappBundle: bundle,
    serverVersion: '10.11.0-devhost',
    savedSettings: () => saved,
    save: async (settings) => {
      if (Number(settings.intervalseconds) < 1) throw new Error('the plugin rejected the configuration: IntervalSeconds must be at least 1');
      saved = settings;
    },
    pluginState: () => 'active',
  });
  server = http.createServer((req, res) => {
    if (!handle(req, res, new URL(req.url ?? '/', 'http://x').pathname)) {
      res.writeHead(418);
      res.end('not mine');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  await new Promise((resolve) => server.close(resolve));
  fs.rmSync(dir, {recursive: true, force: true});
});

void test('settings: schema defaults under the saved values, keys lower-cased; saves merge', () => {
  assert.deepEqual(effectiveSettings(manifest, {IntervalSeconds: 15, Other: 'x'}), {intervalseconds: 15, enabled: true, other: 'x'});
  assert.deepEqual(mergeSettings({IntervalSeconds: 15, Other: 'x'}, {intervalseconds: 30, enabled: false}), {intervalseconds: 30, other: 'x', enabled: false});
});

void test('the page sets the admin cookie on the first visit and keeps a chosen user', async () => {
  const first = await fetch(`${url}/admin_console/plugins/plugin_com.example.plugin`);
  assert.equal(first.status, 200);
  assert.equal(first.headers.get('set-cookie'), 'devhost_user=admin; Path=/; SameSite=Lax');
  const html = await first.text();
  assert.match(html, /data-plugin-id="com.example.plugin"/);
  assert.match(html, /<script src="\/static\/devhost\/host.js"><\/script>/);
  assert.match(html, /--button-bg: #1c58d9;/);
  assert.match(html, /--error-text-color-rgb: 210, 75, 78;/);
  const member = await fetch(`${url}/`, {headers: {cookie: 'devhost_user=member'}});
  assert.equal(member.headers.get('set-cookie'), null);
  assert.match(await member.text(), /<option value="member" selected>/);
  const other = await fetch(`${url}/elsewhere`);
  assert.equal(other.status, 418);
  await other.text();
});

void test('the host bundle carries the globals and registerPlugin', {timeout: 60_000}, async () => {
  const r = await fetch(`${url}/static/devhost/host.js`);
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type') ?? '', /javascript/);
  const js = await r.text();
  for (const s of ['registerPlugin', 'registerAdminConsoleCustomSetting', 'ReactIntl', 'ReactRedux']) assert.ok(js.includes(s), `${s} missing`);
});

void test("the plugin's bundle is read from disk on each request, with a hint when missing", async () => {
  const missing = await fetch(`${url}/static/plugins/com.example.plugin/main.js`);
  assert.equal(missing.status, 404);
  assert.match(await missing.text(), /build it with node webapp\/build.mjs/);
  fs.writeFileSync(bundle, 'window.registerPlugin("com.example.plugin", {});');
  const ok = await fetch(`${url}/static/plugins/com.example.plugin/main.js`);
  assert.equal(ok.status, 200);
  assert.match(await ok.text(), /registerPlugin/);
});

void test("the plugin's public files come from the bundle's directory, like Mattermost's <plugin dir>/public/", async () => {
  fs.writeFileSync(path.join(dir, 'dashboard.js'), 'window.mattermostPluginMetricsDashboard = {};');
  fs.mkdirSync(path.join(dir, 'sub'), {recursive: true});
  fs.writeFileSync(path.join(dir, 'sub', 'a b.css'), '.x{}');
  const publicUrl = `${url}/plugins/com.example.plugin/public`;

  const js = await fetch(`${publicUrl}/dashboard.js?v=0123456789abcdef`);
  assert.equal(js.status, 200);
  assert.equal(js.headers.get('content-type'), 'text/javascript; charset=utf-8');
  assert.equal(await js.text(), 'window.mattermostPluginMetricsDashboard = {};');
  const modified = js.headers.get('last-modified') ?? '';
  assert.ok(modified, 'Last-Modified');
  const notModified = await fetch(`${publicUrl}/dashboard.js`, {headers: {'if-modified-since': modified}});
  assert.equal(notModified.status, 304);
  const head = await fetch(`${publicUrl}/dashboard.js`, {method: 'HEAD'});
  assert.equal(head.status, 200);
  assert.equal(head.headers.get('content-length'), String('window.mattermostPluginMetricsDashboard = {};'.length));
  const css = await fetch(`${publicUrl}/sub/a%20b.css`);
  assert.equal(css.status, 200);
  assert.equal(css.headers.get('content-type'), 'text/css; charset=utf-8');
  await css.text();
  const post = await fetch(`${publicUrl}/dashboard.js`, {method: 'POST', body: 'x'});
  assert.equal(post.status, 405);
  await post.text();

  // Nothing outside the directory, and no directories: 404 as Mattermost answers.
  fs.writeFileSync(path.join(path.dirname(dir), `${path.basename(dir)}-secret.txt`), 'secret');
  try {
    for (const rest of ['', 'sub/', 'sub', 'missing.js', `..%2f${path.basename(dir)}-secret.txt`, 'sub%2f..%2f..%2fx', '%5c..%5cx', '%00.js', '%E0%A4%A']) {
      const r = await fetch(`${publicUrl}/${rest}`);
      assert.equal(r.status, 404, `public/${rest}`);
      assert.doesNotMatch(await r.text(), /secret/, `public/${rest}`);
    }
  } finally {
    fs.rmSync(path.join(path.dirname(dir), `${path.basename(dir)}-secret.txt`), {force: true});
  }
});

void test('public file paths: only files under the directory, whatever the encoding', () => {
  const root = path.join(os.tmpdir(), 'public-root');
  assert.equal(publicFilePath(root, 'dashboard.js'), path.join(root, 'dashboard.js'));
  assert.equal(publicFilePath(root, 'a/b%20c.css'), path.join(root, 'a', 'b c.css'));
  for (const rest of ['', 'a/', '../x', 'a/../../x', '%2e%2e/x', '..%2fx', 'a/%2E%2E/%2e%2e/x', './x', 'a//b', '%2fetc%2fpasswd', '/etc/passwd', '..\\x', '%5c..%5cx', 'x%00.js', '%E0%A4%A']) {
    assert.equal(publicFilePath(root, rest), undefined, rest);
  }
});

void test('GET the plugin, PUT its settings: rejections are 400 with the reason and change nothing', async () => {
  const info = (await (await fetch(`${url}/api/devhost/plugin`, {headers: {cookie: 'devhost_user=member'}})).json()) as Record<string, unknown>;
  assert.equal(info.id, 'com.example.plugin');
  assert.equal(info.user, 'member');
  assert.equal(info.state, 'active');
  assert.deepEqual(info.settings, {intervalseconds: 15, enabled: true});

  const put = (body: string) => fetch(`${url}/api/devhost/plugin/settings`, {method: 'PUT', headers: {'Content-Type': 'application/json'}, body});
  const rejected = await put(JSON.stringify({settings: {intervalseconds: 0}}));
  assert.equal(rejected.status, 400);
  assert.deepEqual(await rejected.json(), {error: 'the plugin rejected the configuration: IntervalSeconds must be at least 1'});
  assert.deepEqual(saved, {IntervalSeconds: 15});

  const accepted = await put(JSON.stringify({settings: {intervalseconds: 30, enabled: false}}));
  assert.equal(accepted.status, 200);
  assert.deepEqual(await accepted.json(), {settings: {intervalseconds: 30, enabled: false}});
  assert.deepEqual(saved, {intervalseconds: 30, enabled: false});

  const garbage = await put('{nope');
  assert.equal(garbage.status, 400);
  assert.match(((await garbage.json()) as {error: string}).error, /^not a JSON body/);
  const shapeless = await put('[1]');
  assert.equal(shapeless.status, 400);
  assert.deepEqual(await shapeless.json(), {error: 'expected {"settings": {...}}'});
  const wrongMethod = await fetch(`${url}/api/devhost/plugin/settings`);
  assert.equal(wrongMethod.status, 405);
  await wrongMethod.text();
});

void test('the webapp bundle is stale when main.js or dashboard.js is missing or older than their sources', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'devhost-stale-'));
  try {
    fs.mkdirSync(path.join(root, 'webapp/src/components'), {recursive: true});
    fs.writeFileSync(path.join(root, 'webapp/src/components/A.tsx'), 'x');
    assert.equal(webappBundleStale(root), true, 'missing');
    fs.mkdirSync(path.join(root, 'webapp/dist'));
    fs.writeFileSync(path.join(root, 'webapp/dist/main.js'), 'x');
    const t = Date.now() / 1000;
    fs.utimesSync(path.join(root, 'webapp/src/components/A.tsx'), t - 100, t - 100);
    fs.utimesSync(path.join(root, 'webapp/dist/main.js'), t - 50, t - 50);
    assert.equal(webappBundleStale(root), true, 'dashboard.js missing');
    fs.writeFileSync(path.join(root, 'webapp/dist/dashboard.js'), 'x');
    fs.utimesSync(path.join(root, 'webapp/dist/dashboard.js'), t - 150, t - 150);
    assert.equal(webappBundleStale(root), true, 'dashboard.js older than a source');
    fs.utimesSync(path.join(root, 'webapp/dist/dashboard.js'), t - 50, t - 50);
    assert.equal(webappBundleStale(root), false, 'fresh');
    fs.utimesSync(path.join(root, 'webapp/src/components/A.tsx'), t, t);
    assert.equal(webappBundleStale(root), true, 'a newer source');
  } finally {
    fs.rmSync(root, {recursive: true, force: true});
  }
});
