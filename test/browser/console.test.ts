// The plugin's System Console page in a real browser (Debian chromium through playwright-core)
// against the dev host (`make run`'s playground): the page loads without console errors, the
// settings render and save through the plugin's validation, the status shows a healthy
// target, and a dump of the last hour is created, reaches success, downloads through the
// browser, extracts with tar and passes `promtool tsdb analyze`.
// Screenshots of every step: test-artifacts/browser/<test>/.
import assert from 'node:assert/strict';
import {spawnSync} from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {after, before, test} from 'node:test';

import type {Browser, Page} from 'playwright-core';

import {repoRoot} from '../../devhost/devhost.ts';
import {ensureChromium, launchChromium, screenshotter, startPlayground, watchConsole, type Playground} from './harness.ts';

const skip = ensureChromium();
let browser: Browser | undefined;
let playground: Playground | undefined;

before(async () => {
  if (skip) return;
  playground = await startPlayground();
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await playground?.stop();
});

async function openConsole(name: string): Promise<{page: Page; errors: string[]; shot: (step: string) => Promise<string>; close: () => Promise<void>}> {
  const context = await browser!.newContext({viewport: {width: 1280, height: 900}, acceptDownloads: true});
  const page = await context.newPage();
  const errors = watchConsole(page);
  const shots = screenshotter(name);
  await page.goto(playground!.consoleUrl);
  await page.waitForSelector('body[data-ready="true"]', {timeout: 30_000});
  return {page, errors, shot: (step) => shots.shot(page, step), close: () => context.close()};
}

/** Whether the webapp bundle registered a component for this custom setting. */
async function registered(page: Page, key: string): Promise<boolean> {
  return page.evaluate(
    // Runs in the page: window.devhost is set by the host bundle (devhost/console/host.tsx).
    ([id, k]) => Boolean((globalThis as unknown as PageGlobals).devhost.registered.get(id)?.customSettings.has(k.toLowerCase())),
    [playground!.host.pluginId, key] as const,
  );
}

interface PageElement {
  getBoundingClientRect(): {left: number; top: number; right: number; width: number; height: number};
  contains(other: unknown): boolean;
}

interface PageWindow {
  innerWidth: number;
  document: {elementFromPoint(x: number, y: number): unknown};
}

interface PageGlobals {
  devhost: {registered: Map<string, {customSettings: Map<string, unknown>}>};
}

void test('the console page loads without errors, renders the settings and a healthy target', {skip, timeout: 120_000}, async () => {
  const {page, errors, shot, close} = await openConsole('console-loads');
  try {
    await shot('loaded');
    assert.equal(await page.locator('[data-testid="devhost-error"]').count(), 0, 'the host page reported an error');
    // Ordinary settings, bound to the dev host's config (the harness saved 1 s intervals).
    assert.equal(await page.locator('[data-setting="ScrapeIntervalSeconds"] input').inputValue(), '1');
    assert.equal(await page.locator('[data-setting="ScrapeTimeoutSeconds"] input').inputValue(), '1');
    assert.equal(await page.locator('[data-setting="HonorTimestamps"] input[value="true"]').isChecked(), true);
    assert.match((await page.locator('[data-testid="devhost-settings-header"]').textContent()) ?? '', /OpenMetrics/);
    // Every custom setting of plugin.json is drawn by the component the bundle registered.
    const manifest = JSON.parse(fs.readFileSync(path.join(repoRoot, 'plugin.json'), 'utf8')) as {settings_schema: {settings: Array<{key: string; type: string}>}};
    for (const s of manifest.settings_schema.settings.filter((x) => x.type === 'custom')) {
      assert.equal(await registered(page, s.key), true, `the webapp registered no component for the custom setting ${s.key}`);
    }
    const target = page.locator('[data-testid="status-target"][data-health="up"]');
    await target.first().waitFor({timeout: 60_000});
    await page.locator('[data-testid="metrics-stats"]').waitFor({timeout: 30_000});
    await shot('healthy-target');
    assert.deepEqual(errors, []);
  } finally {
    await close();
  }
});

void test('saving settings goes through the plugin: a rejection is shown, a valid change is kept', {skip, timeout: 120_000}, async () => {
  const {page, errors, shot, close} = await openConsole('console-settings-save');
  try {
    const timeout = page.locator('[data-setting="ScrapeTimeoutSeconds"] input');
    await timeout.fill('5');
    await shot('invalid-timeout');
    await page.locator('[data-testid="devhost-save"]').click();
    const rejection = page.locator('[data-testid="devhost-save-error"]');
    await rejection.waitFor({timeout: 30_000});
    assert.match((await rejection.textContent()) ?? '', /ScrapeTimeoutSeconds \(5\) must not exceed ScrapeIntervalSeconds \(1\)/);
    await shot('rejected');
    assert.equal(playground!.host.config.pluginSettings()?.ScrapeTimeoutSeconds ?? playground!.host.config.pluginSettings()?.scrapetimeoutseconds, 1, 'a rejected save changes nothing');

    await page.locator('[data-setting="ScrapeIntervalSeconds"] input').fill('5');
    await page.locator('[data-testid="devhost-save"]').click();
    await page.locator('[data-testid="devhost-saved"]').waitFor({timeout: 30_000});
    await shot('saved');
    const saved = playground!.host.config.pluginSettings() ?? {};
    assert.equal(saved.scrapeintervalseconds, 5);
    assert.equal(saved.scrapetimeoutseconds, 5);
    // Back to one-second scrapes for the other tests.
    await playground!.host.savePluginSettings({...saved, scrapeintervalseconds: 1, scrapetimeoutseconds: 1});
    assert.deepEqual(
      errors.filter((e) => !/status of 400/.test(e)),
      [],
    );
  } finally {
    await close();
  }
});

void test('a dump of the last hour: create, watch it succeed, download, extract, promtool tsdb analyze', {skip, timeout: 300_000}, async () => {
  const {page, errors, shot, close} = await openConsole('dump-flow');
  try {
    // A few scrapes in the store first.
    await page.locator('[data-testid="status-target"][data-health="up"]').first().waitFor({timeout: 60_000});
    await page.waitForTimeout(3_000);
    await page.locator('[data-testid="metrics-dumps"]').scrollIntoViewIfNeeded();
    await shot('before');

    await page.getByTestId('dumps-create').click();
    const dialog = page.getByTestId('dump-dialog');
    await dialog.waitFor();
    await page.getByTestId('dump-preset-1h').click();
    await shot('dialog-last-hour');
    await page.getByTestId('dump-submit').click();
    await dialog.waitFor({state: 'detached', timeout: 30_000});
    await page.getByTestId('dump-job-row').first().waitFor({timeout: 30_000});
    await shot('job-created');

    const done = page.locator('[data-testid="dump-job-row"][data-status="success"]');
    const failed = page.locator('[data-testid="dump-job-row"][data-status="error"]');
    await Promise.race([
      done.first().waitFor({timeout: 180_000}),
      failed
        .first()
        .waitFor({timeout: 180_000})
        .then(async () => {
          throw new Error(`the dump failed: ${await failed.first().textContent()}`);
        }),
    ]);
    await shot('job-success');

    // The console's settings column is narrow: on a small window the table scrolls sideways
    // and the row's actions stay reachable (not clipped by the column).
    for (const width of [1000, 800]) {
      await page.setViewportSize({width, height: 900});
      const action = done.first().getByTestId('dump-download');
      await action.scrollIntoViewIfNeeded();
      // Runs in the page (this file is compiled without the DOM library).
      const reachable = await action.evaluate((node) => {
        const el = node as unknown as PageElement;
        const page = globalThis as unknown as PageWindow;
        const r = el.getBoundingClientRect();
        const hit = page.document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
        return r.width > 0 && r.right <= page.innerWidth && hit !== null && (hit === el || el.contains(hit));
      });
      await shot(`narrow-${width}`);
      assert.ok(reachable, `the Download action is not reachable in a ${width} px window`);
    }
    await page.setViewportSize({width: 1280, height: 900});

    const link = done.first().getByTestId('dump-download');
    assert.match((await link.getAttribute('href')) ?? '', /\/jobs\/download\//);
    const [download] = await Promise.all([page.waitForEvent('download', {timeout: 60_000}), link.click()]);
    const archive = path.join(playground!.dir, download.suggestedFilename() || 'dump.tar.gz');
    await download.saveAs(archive);
    assert.ok(fs.statSync(archive).size > 0, 'the download is empty');
    assert.match(download.suggestedFilename(), /\.tar\.gz$/);
    await shot('downloaded');

    const extracted = path.join(playground!.dir, 'extracted');
    fs.mkdirSync(extracted);
    const tar = spawnSync('tar', ['xzf', archive, '-C', extracted], {encoding: 'utf8'});
    assert.equal(tar.status, 0, `tar xzf failed: ${tar.stderr}`);
    const dataDir = findDataDir(extracted);
    assert.ok(dataDir, `no Prometheus data dir (block dirs with meta.json) in the archive:\n${listTree(extracted).join('\n')}`);
    const analyze = spawnSync('promtool', ['tsdb', 'analyze', dataDir], {encoding: 'utf8', timeout: 120_000});
    assert.equal(analyze.status, 0, `promtool tsdb analyze failed:\n${analyze.stdout}${analyze.stderr}`);
    assert.match(analyze.stdout, /Block ID:/);
    fs.writeFileSync(path.join(path.dirname(await shot('analyzed')), 'promtool-analyze.txt'), analyze.stdout);
    assert.deepEqual(errors, []);
  } finally {
    await close();
  }
});

/** The directory whose children are block dirs (ULID names with a meta.json). */
function findDataDir(root: string): string | undefined {
  const queue = [root];
  while (queue.length > 0) {
    const dir = queue.shift()!;
    const entries = fs.readdirSync(dir, {withFileTypes: true});
    if (entries.some((e) => e.isDirectory() && /^[0-9A-HJKMNP-TV-Z]{26}$/.test(e.name) && fs.existsSync(path.join(dir, e.name, 'meta.json')))) return dir;
    for (const e of entries) if (e.isDirectory()) queue.push(path.join(dir, e.name));
  }
  return undefined;
}

function listTree(root: string): string[] {
  return fs.readdirSync(root, {recursive: true}).map(String).sort();
}
