// The status API through the dev host: every permission case, JSON errors, and a
// status that shows the leader, the scraped target and the store.
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {after, before, test} from 'node:test';

import {startDevHost, type DevHost} from './devhost.ts';

const id = 'com.mattermost.mattermost-plugin-metrics';
let h: DevHost;
let dir = '';

before(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'devhost-api-'));
  h = await startDevHost({dir, port: 0, metricsPort: 0, pluginExe: 'tsx', logWrite: () => {}});
  await h.savePluginSettings({ScrapeIntervalSeconds: 1, ScrapeTimeoutSeconds: 1});
});

after(async () => {
  await h?.stop();
  await fs.rm(dir, {recursive: true, force: true});
});

const get = (p: string, user: 'admin' | 'member' | 'anonymous' = 'admin', method = 'GET') =>
  fetch(`${h.url}/plugins/${id}${p}`, {method, headers: {'X-Devhost-User': user}});

void test('every route needs a signed-in admin; errors are JSON', async () => {
  for (const p of ['/status', '/tsdb/stats']) {
    const anon = await get(p, 'anonymous');
    assert.equal(anon.status, 401);
    assert.equal(anon.headers.get('content-type'), 'application/json');
    assert.match(((await anon.json()) as {error: string}).error, /not authorized/);
    const member = await get(p, 'member');
    assert.equal(member.status, 403);
    assert.match(((await member.json()) as {error: string}).error, /manage_system/);
  }
  const missing = await get('/nope');
  assert.equal(missing.status, 404);
  assert.deepEqual(await missing.json(), {error: 'not found: /nope'});
  const wrong = await get('/status', 'admin', 'DELETE');
  assert.equal(wrong.status, 405);
  assert.equal(wrong.headers.get('allow'), 'GET');
});

void test('status shows the leader, a healthy target with its last scrape, and the store', async () => {
  let body: Record<string, any> = {};
  for (let i = 0; i < 60; i++) {
    body = (await (await get('/status')).json()) as Record<string, any>;
    if (body.targets?.[0]?.health === 'up' && body.store?.headSamples > 0) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(body.isLeader, true);
  assert.equal(body.leader.node, body.node);
  assert.ok(body.leader.ageMs >= 0);
  assert.equal(body.targets.length, 1);
  assert.equal(body.targets[0].job, 'prometheus');
  assert.equal(body.targets[0].health, 'up');
  assert.ok(body.lastScrape > 0);
  assert.ok(body.store.headSeries > 0 && body.store.dataDir.endsWith(path.join('mattermost-plugin-metrics', 'data')));
  assert.deepEqual(body.warnings, {settings: [], metrics: null, fileStore: null});
  assert.match(body.remote.fileStore, /local/);
  assert.ok(body.remote.sync.totals.passes >= 1, JSON.stringify(body.remote.sync));
  assert.equal(body.remote.usage.blocks, 0);
  const stats = (await (await get('/tsdb/stats')).json()) as Record<string, number>;
  assert.ok(stats.num_samples > 0 && stats.num_series > 0 && stats.min_t > 0 && stats.max_t >= stats.min_t);
});
