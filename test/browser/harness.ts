// Browser tests against the dev host: Debian's chromium driven by playwright-core (it never
// downloads a browser), a dev host on free ports with the plugin from this checkout and the
// webapp built from webapp/src, and screenshots of each step in test-artifacts/.

import {spawnSync} from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import {chromium, type Browser, type ConsoleMessage, type Page} from 'playwright-core';

import {repoRoot, startDevHost, type DevHost, type DevHostOptions} from '../../devhost/devhost.ts';
import type {LogEntry} from '../../devhost/log.ts';

export const chromiumPath = '/usr/bin/chromium';
/** ecosystem.md §7: what works headless in a container, without sandbox or GPU. */
export const chromiumArgs = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
];
export const artifactsRoot = path.join(repoRoot, 'test-artifacts');

/**
 * Makes sure /usr/bin/chromium exists (build/chromium-setup.sh when root). Returns a reason
 * to skip only when it truly cannot be installed here; a failing install as root throws.
 */
export function ensureChromium(): string | undefined {
  if (fs.existsSync(chromiumPath)) return undefined;
  if (process.getuid?.() !== 0) return `${chromiumPath} is missing and installing it needs root: run build/chromium-setup.sh as root`;
  const r = spawnSync(path.join(repoRoot, 'build/chromium-setup.sh'), {encoding: 'utf8'});
  if (r.status !== 0) {
    if (/no apt-get/.test(r.stderr)) return r.stderr.trim();
    throw new Error(`build/chromium-setup.sh failed:\n${r.stdout}${r.stderr}`);
  }
  return fs.existsSync(chromiumPath) ? undefined : `build/chromium-setup.sh ran but ${chromiumPath} is still missing`;
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({executablePath: chromiumPath, args: chromiumArgs, timeout: 60_000});
}

/**
 * The webapp built from the current sources into `dir`/webapp (never touches webapp/dist):
 * main.js, and dashboard.js beside it, which the dev host serves as the plugin's public file.
 * A directory of its own, since all of it is public.
 */
export function buildWebapp(dir: string): string {
  const outfile = path.join(dir, 'webapp', 'main.js');
  const r = spawnSync(process.execPath, [path.join(repoRoot, 'webapp/build.mjs'), '--outfile', outfile], {cwd: repoRoot, encoding: 'utf8'});
  if (r.status !== 0) throw new Error(`node webapp/build.mjs failed:\n${r.stdout}${r.stderr}`);
  return outfile;
}

export interface Playground {
  host: DevHost;
  dir: string;
  logs: LogEntry[];
  /** The System Console page of the plugin. */
  consoleUrl: string;
  stop(): Promise<void>;
}

/**
 * A dev host like `make run DEVHOST_PLUGIN_EXE=tsx` (the plugin from this checkout's sources,
 * not a possibly stale build), in a temporary state dir, scraping every second.
 */
export async function startPlayground(options: Partial<DevHostOptions> = {}): Promise<Playground> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'browser-devhost-'));
  const logs: LogEntry[] = [];
  try {
    const webappBundle = buildWebapp(dir);
    const host = await startDevHost({
      dir: path.join(dir, 'state'),
      port: 0,
      metricsPort: 0,
      webappBundle,
      pluginExe: 'tsx',
      logLevel: 'info',
      logWrite: (_line, entry) => logs.push(entry),
      ...options,
    });
    try {
      await host.savePluginSettings({ScrapeIntervalSeconds: 1, ScrapeTimeoutSeconds: 1});
    } catch (err) {
      await host.stop();
      throw err;
    }
    return {
      host,
      dir,
      logs,
      consoleUrl: `${host.url}/admin_console/plugins/plugin_${host.pluginId}`,
      stop: async () => {
        await host.stop();
        fs.rmSync(dir, {recursive: true, force: true});
      },
    };
  } catch (err) {
    fs.rmSync(dir, {recursive: true, force: true});
    throw err;
  }
}

/** Collects console errors and uncaught exceptions of a page. */
export function watchConsole(page: Page): string[] {
  const errors: string[] = [];
  page.on('console', (msg: ConsoleMessage) => {
    if (msg.type() === 'error') errors.push(`console.error: ${msg.text()} (${msg.location().url})`);
  });
  page.on('pageerror', (err) => errors.push(`uncaught: ${err.message}`));
  page.on('requestfailed', (req) => {
    // A download navigation is handed to the download manager and reported as aborted.
    if (!/\/jobs\/download\//.test(req.url())) errors.push(`request failed: ${req.url()} ${req.failure()?.errorText ?? ''}`);
  });
  return errors;
}

/** Numbered screenshots in test-artifacts/browser/<name>/, in the order taken. */
export function screenshotter(name: string): {dir: string; shot(page: Page, step: string): Promise<string>} {
  const dir = path.join(artifactsRoot, 'browser', name);
  fs.rmSync(dir, {recursive: true, force: true});
  fs.mkdirSync(dir, {recursive: true});
  let n = 0;
  return {
    dir,
    async shot(page, step) {
      n++;
      const file = path.join(dir, `${String(n).padStart(2, '0')}-${step}.png`);
      await page.screenshot({path: file, fullPage: true});
      return file;
    },
  };
}
