// The dev host in-process with the real plugin (tsx mode, conformance routes),
// driven over real HTTP: users, streaming both ways, metrics listener, settings
// saves, licence switch, crash restart, health check, stop.
import assert from 'node:assert/strict';
import {createHash, randomBytes} from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {after, before, test} from 'node:test';

import {startDevHost, type DevHost} from './devhost.ts';
import type {LogEntry} from './log.ts';

const id = 'com.mattermost.mattermost-plugin-metrics';
let h: DevHost;
let dir = '';
const logs: LogEntry[] = [];

before(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'devhost-e2e-'));
  h = await startDevHost({
    dir,
    port: 0,
    metricsPort: 0,
    pluginExe: 'tsx',
    pluginEnv: {MM_METRICS_CONFORMANCE: '1'},
    logWrite: (line, e) => {
      logs.push(e);
      if (process.env.DEVHOST_TEST_LOG) process.stderr.write(`${line}\n`);
    },
    // A restart window long enough to observe, pings tolerant of a loaded test machine.
    restartDelayMs: 1_000,
    pingIntervalMs: 500,
    pingTimeoutMs: 1_000,
  });
});

after(async () => {
  await h?.stop();
  await fs.rm(dir, {recursive: true, force: true});
});

function get(p: string, user?: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  if (user) headers.set('X-Devhost-User', user);
  return fetch(`${h.url}${p}`, {...init, headers});
}

function waitFor(cond: () => boolean, ms: number, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const start = Date.now();
    const tick = (): void => {
      if (cond()) resolve();
      else if (Date.now() - start > ms) reject(new Error(`timed out waiting for ${what}`));
      else setTimeout(tick, 25);
    };
    tick();
  });
}

async function waitForNewPlugin(oldPid: number | undefined, ms = 15_000): Promise<number> {
  await waitFor(() => h.pluginPid() !== undefined && h.pluginPid() !== oldPid, ms, 'the plugin to come back');
  return h.pluginPid()!;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

void test('the acting user is chosen per request', async () => {
  const base = `/plugins/${id}/conformance/hello`;
  assert.equal(await (await get(base)).text(), `hello ${h.users.admin.id}`);
  assert.equal(await (await get(base, 'admin')).text(), `hello ${h.users.admin.id}`);
  assert.equal(await (await get(base, 'member')).text(), `hello ${h.users.member.id}`);
  assert.equal(await (await get(base, 'anonymous')).text(), 'hello ');
  // A client cannot claim an identity itself.
  const spoofed = await get(base, 'anonymous', {headers: {'Mattermost-User-Id': 'someone', Authorization: 'Bearer x'}});
  assert.equal(await spoofed.text(), 'hello ');
  const bad = await get(base, 'root');
  assert.equal(bad.status, 400);
  await bad.body?.cancel();
});

void test('request bodies stream into the plugin (5 MiB upload)', async () => {
  const body = randomBytes(5 * 1024 * 1024);
  const r = await get(`/plugins/${id}/conformance/echo`, undefined, {method: 'POST', body});
  assert.equal(r.status, 200);
  assert.deepEqual(await r.json(), {bytes: body.length, sha256: createHash('sha256').update(body).digest('hex')});
});

void test('responses stream back (20 MiB download), and an aborted download harms nothing', async () => {
  const n = 20 * 1024 * 1024;
  const r = await get(`/plugins/${id}/conformance/download?bytes=${n}`);
  assert.equal(r.status, 200);
  assert.equal(r.headers.get('content-type'), 'application/octet-stream');
  let total = 0;
  for await (const chunk of r.body as unknown as AsyncIterable<Uint8Array>) {
    for (let i = 0; i < chunk.length; i += 99_991) assert.equal(chunk[i], (total + i) % 251);
    total += chunk.length;
  }
  assert.equal(total, n);

  const ac = new AbortController();
  const partial = await get(`/plugins/${id}/conformance/download?bytes=${n}`, undefined, {signal: ac.signal});
  const reader = partial.body!.getReader();
  await reader.read();
  ac.abort();
  await reader.read().catch(() => {});
  const again = await get(`/plugins/${id}/conformance/hello`);
  assert.equal(again.status, 200);
  await again.text();
});

void test('server routes and 404s', async () => {
  const ping = await get('/api/v4/system/ping');
  assert.deepEqual(await ping.json(), {status: 'OK'});
  const home = await get('/');
  assert.match(await home.text(), /Mattermost dev host/);
  const page = await get(`/admin_console/plugins/plugin_${id}`);
  assert.match(await page.text(), /<script src="\/static\/devhost\/host.js"><\/script>/);
  const other = await get('/plugins/com.example.other/x');
  assert.equal(other.status, 404);
  assert.equal(await other.text(), '404 page not found\n');
  const unknown = await get(`/plugins/${id}/nope`);
  assert.equal(unknown.status, 404);
  assert.deepEqual(await unknown.json(), {error: 'not found: /nope'});
});

void test('ServeMetrics lives on the metrics listener, without a user', async () => {
  const r = await fetch(`${h.metricsUrl}/plugins/${id}/metrics/conformance/hello`);
  assert.equal(r.status, 200);
  assert.equal(await r.text(), 'hello ');
  const main = await fetch(`${h.metricsUrl}/plugins/${id}/conformance/hello`);
  assert.equal(main.status, 404, 'the metrics listener only routes .../metrics');
  await main.text();
  const server = await fetch(`${h.metricsUrl}/metrics`);
  const body = await server.text();
  assert.match(body, /process_start_time_seconds \d+/);
  assert.match(body, /^mattermost_api_time_bucket\{le="0\.005",handler="createPost",/m, 'the synthetic Mattermost server');
});

void test('the conformance API script under the dev host', async () => {
  const r = await get(`/plugins/${id}/conformance/api`, undefined, {method: 'POST'});
  assert.equal(r.status, 200);
  const out = (await r.json()) as Record<string, unknown>;
  assert.equal(out.serverVersion, '10.11.0-devhost');
  assert.equal(out.configDataSource, '*'.repeat(32));
  assert.match(String(out.unsanitizedDataSource), /^postgres:\/\//);
  assert.equal(out.siteURL, `http://localhost:${h.port}`);
  assert.equal(out.metricsListen, `:${h.metricsPort}`);
  assert.equal(out.licenseMetrics, true);
  assert.equal(out.diagnosticId, h.state.diagnosticId);
  assert.equal(out.kvList instanceof Array && out.kvList.join(','), 'k2,mutex_x');
  assert.equal(out.missingMethodError, true);
  // SaveConfig round-trips the whole config through gob and the dev host stores it.
  assert.equal(out.configSaved, true);
  assert.equal(h.config.get().ClusterSettings?.ClusterName, 'conformance-saved');
  // SavePluginConfig in the script is followed by the server's OnConfigurationChange.
  await waitFor(() => (h.api.callCounts.get('LoadPluginConfiguration') ?? 0) >= 2, 5_000, 'OnConfigurationChange');
  assert.deepEqual(h.config.pluginSettings(), {conformance: 'saved', n: 3.5, b: true});
});

void test('licence switch', async () => {
  h.setLicense('none');
  try {
    const out = (await (await get(`/plugins/${id}/conformance/api`, undefined, {method: 'POST'})).json()) as Record<string, unknown>;
    assert.equal(out.licenseId, '');
    assert.equal(out.licenseMetrics, false);
  } finally {
    h.setLicense('enterprise');
  }
});

void test('saving settings like the System Console: ConfigurationWillBeSaved, save, OnConfigurationChange', async () => {
  const loads = h.api.callCounts.get('LoadPluginConfiguration') ?? 0;
  await h.savePluginSettings({scrapeintervalseconds: 30});
  assert.deepEqual(h.config.pluginSettings(), {scrapeintervalseconds: 30});
  const file = JSON.parse(await fs.readFile(path.join(h.dir, 'config.json'), 'utf8')) as {PluginSettings: {Plugins: Record<string, unknown>}};
  assert.deepEqual(file.PluginSettings.Plugins[id], {scrapeintervalseconds: 30});
  assert.equal(h.api.callCounts.get('LoadPluginConfiguration'), loads + 1);
});

void test('health: a killed plugin is restarted; a hung one too; the third failure gives up', async () => {
  const first = h.pluginPid()!;
  process.kill(first, 'SIGKILL');
  await waitFor(() => h.pluginPid() === undefined, 5_000, 'the crash to be noticed');
  const during = await get(`/plugins/${id}/conformance/hello`);
  assert.equal(during.status, 404, 'no plugin, no route (like an inactive plugin)');
  await during.text();
  const second = await waitForNewPlugin(first);
  assert.equal(await (await get(`/plugins/${id}/conformance/hello`)).text(), `hello ${h.users.admin.id}`);
  // Noticed by the exit event, or, on a loaded machine, by the health check first.
  assert.ok(logs.some((e) => e.message === 'plugin process exited' || e.message.startsWith('plugin health check failed')));

  // A stopped process fails Control.Ping: killed and replaced.
  process.kill(second, 'SIGSTOP');
  const third = await waitForNewPlugin(second, 20_000);
  assert.equal(alive(second), false, 'the hung process was killed');
  assert.ok(logs.some((e) => e.message.startsWith('plugin health check failed')));

  process.kill(third, 'SIGKILL');
  await waitFor(() => h.supervisor.state === 'failed', 5_000, 'giving up');
  assert.ok(logs.some((e) => e.message.startsWith('plugin failed to stay running')));
  await h.restartPlugin();
  assert.equal(await (await get(`/plugins/${id}/conformance/hello`, 'member')).text(), `hello ${h.users.member.id}`);
});

void test('stop: OnDeactivate, the process exits, the ports close', async () => {
  const pid = h.pluginPid()!;
  await h.stop();
  assert.equal(alive(pid), false);
  assert.ok(logs.some((e) => e.source === 'plugin' && e.message === 'metrics plugin deactivating'));
  await assert.rejects(fetch(`${h.url}/api/v4/system/ping`));
  await h.stop(); // idempotent
});
