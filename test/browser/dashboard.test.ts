// The performance dashboard in a real browser (Debian chromium through playwright-core)
// against the dev host: the plugin's settings page loads main.js, whose Dashboard setting
// fetches dashboard.js from the plugin's public/ directory (by content hash, once), and the
// dashboard draws the synthetic Mattermost server's metrics, scraped every second, through
// the plugin's Prometheus-compatible query_range route. Dragging across a chart turns the
// range into an absolute one. No console errors on the way.
// Screenshots: test-artifacts/browser/dashboard/.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import {after, before, test} from 'node:test';

import type {Browser, Locator, Page} from 'playwright-core';

import {ensureChromium, launchChromium, screenshotter, startPlayground, watchConsole, type Playground} from './harness.ts';

const skip = ensureChromium();
let browser: Browser | undefined;
let playground: Playground | undefined;
/** When the dev host began scraping (about). */
let scrapingSince = 0;

before(async () => {
  if (skip) return;
  playground = await startPlayground();
  scrapingSince = Date.now();
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await playground?.stop();
});

/** The panels the proof rests on: request rate and latency quantiles of the synthetic server. */
const provenPanels = ['httpRequests', 'apiLatency'];

/** A panel's chart with at least one labelled series drawn (uPlot's legend lists them). */
function chartWithSeries(panel: Locator): Locator {
  return panel.locator('[data-testid="uplot-chart"] .u-legend .u-series .u-label').filter({hasText: /\S/});
}

/**
 * Range-query points sit on whole minutes (step 60 s), so the first one with two scrapes in
 * its rate window can be up to a minute away: refresh until every proven panel has series.
 */
async function waitForData(page: Page, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const refresh = page.locator('.mm-dash__toolbar button.btn');
  for (;;) {
    const missing: string[] = [];
    for (const id of provenPanels) if ((await chartWithSeries(page.getByTestId(`panel-${id}`)).count()) === 0) missing.push(id);
    if (missing.length === 0) return;
    if (Date.now() > deadline) {
      const texts = await Promise.all(missing.map(async (id) => `${id}: ${(await page.getByTestId(`panel-${id}`).textContent()) ?? ''}`));
      throw new Error(`no series after ${timeoutMs / 1000} s in ${texts.join('; ')}`);
    }
    await page.waitForTimeout(5_000);
    if (await refresh.isEnabled()) await refresh.click();
  }
}

void test('the dashboard loads from public/dashboard.js, draws real data, and drag-to-zoom sets an absolute range', {skip, timeout: 360_000}, async () => {
  const host = playground!.host;
  const chunk = fs.readFileSync(path.join(playground!.dir, 'webapp', 'dashboard.js'));
  const hash = crypto.createHash('sha256').update(chunk).digest('hex').slice(0, 16);
  const chunkPath = `/plugins/${host.pluginId}/public/dashboard.js?v=${hash}`;

  const context = await browser!.newContext({viewport: {width: 1440, height: 1000}});
  const page = await context.newPage();
  const errors = watchConsole(page);
  const shots = screenshotter('dashboard');
  const chunkRequests: string[] = [];
  const queryStatuses: number[] = [];
  page.on('request', (req) => {
    if (req.url().includes('/public/dashboard.js')) chunkRequests.push(new URL(req.url()).pathname + new URL(req.url()).search);
  });
  page.on('response', (res) => {
    if (res.url().includes('/api/v1/query_range')) queryStatuses.push(res.status());
  });
  try {
    const chunkResponse = page.waitForResponse((res) => res.url().includes('/public/dashboard.js'), {timeout: 30_000});
    await page.goto(playground!.consoleUrl);
    await page.waitForSelector('body[data-ready="true"]', {timeout: 30_000});
    const res = await chunkResponse;
    assert.equal(res.status(), 200, `GET ${res.url()}`);
    assert.match(res.headers()['content-type'] ?? '', /javascript/);
    await page.locator('.mm-dash').waitFor({timeout: 30_000});
    await shots.shot(page, 'dashboard-loaded');

    await page.locator('[data-testid="status-target"][data-health="up"]').first().waitFor({timeout: 60_000});
    await waitForData(page, 150_000);
    for (const id of provenPanels) {
      const panel = page.getByTestId(`panel-${id}`);
      assert.equal(await panel.getByText('No data', {exact: true}).count(), 0, `${id} says No data`);
      assert.equal(await panel.locator('[role="alert"]').count(), 0, `${id} shows an error: ${await panel.textContent()}`);
    }
    const drawn = await page.locator('[data-testid="uplot-chart"]').count();
    await page.getByTestId('panel-httpRequests').scrollIntoViewIfNeeded();
    await shots.shot(page, 'dashboard-data');

    // Drag across the newest tenth of the request-rate chart (the hour's only data so far):
    // every panel then shows those ~6 minutes, still with data. An absolute window's points
    // are 60 s apart from its start, so the data must be two minutes old for one to land on it.
    const picker = page.locator('.mm-trp__button');
    const dataAgeMs = 130_000;
    if (Date.now() - scrapingSince < dataAgeMs) await page.waitForTimeout(dataAgeMs - (Date.now() - scrapingSince));
    await page.locator('.mm-dash__toolbar button.btn:not([disabled])').click();
    await page.locator('.mm-dash__toolbar button.btn:not([disabled])').waitFor({timeout: 30_000});
    assert.equal(await picker.getAttribute('aria-label'), 'Time range: Last 1 hour');
    const over = page.getByTestId('panel-httpRequests').locator('.u-over');
    const box = await over.boundingBox();
    assert.ok(box && box.width > 100, `plot area ${JSON.stringify(box)}`);
    const y = box.y + box.height / 2;
    await page.mouse.move(box.x + box.width * 0.9, y);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width - 1, y, {steps: 10});
    await page.mouse.up();
    const absolute = /^Time range: \d{4}-\d\d-\d\d \d\d:\d\d to \d{4}-\d\d-\d\d \d\d:\d\d$/;
    for (let waited = 0; waited < 10_000 && !absolute.test((await picker.getAttribute('aria-label')) ?? ''); waited += 200) await page.waitForTimeout(200);
    assert.match((await picker.getAttribute('aria-label')) ?? '', absolute);
    await page.locator('.mm-dash__toolbar button.btn:not([disabled])').waitFor({timeout: 30_000});
    await waitForData(page, 60_000);
    await page.getByTestId('panel-httpRequests').scrollIntoViewIfNeeded();
    await shots.shot(page, 'zoomed');

    assert.deepEqual(chunkRequests, [chunkPath], 'dashboard.js fetched once, by content hash');
    assert.ok(queryStatuses.length >= 36, `${queryStatuses.length} range queries`);
    assert.deepEqual([...new Set(queryStatuses)], [200], 'every range query answered 200');
    assert.ok(drawn >= 2, `${drawn} charts drawn`);
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});
