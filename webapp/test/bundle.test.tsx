// The built main.js as Mattermost loads it: one script, React & co. from window globals,
// no require, registers the plugin, and its settings render with the host's React. The
// dashboard is a second file, dashboard.js (public/ in the plugin bundle), that main.js's
// Dashboard setting loads when the settings page opens.
import {execFileSync} from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type {AddressInfo} from 'node:net';
import os from 'node:os';
import path from 'node:path';

import {act, render, screen} from '@testing-library/react';
import React from 'react';
import * as ReactDOM from 'react-dom';
import * as ReactIntl from 'react-intl';
import {afterAll, beforeAll, describe, expect, it, onTestFinished, vi} from 'vitest';

import '../src/dashboard/testing/jsdom_polyfills.ts';
import {fakeServer, json} from './helpers.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'metrics-webapp-'));
const mainFile = path.join(dir, 'main.js');
const chunkFile = path.join(dir, 'dashboard.js');
const pluginId = 'com.mattermost.mattermost-plugin-metrics';
afterAll(() => fs.rmSync(dir, {recursive: true, force: true}));

beforeAll(() => {
  // esbuild refuses to run inside jsdom (its TextEncoder check), so the build is a child process.
  execFileSync(process.execPath, [path.join(__dirname, '../build.mjs'), '--outfile', mainFile], {stdio: 'pipe'});
}, 60_000);

/** Runs main.js as the web app does and returns the custom settings it registered. */
function loadMainJs(): Map<string, React.ComponentType<Record<string, unknown>>> {
  Object.assign(window, {React, ReactDOM, ReactIntl});
  const settings = new Map<string, React.ComponentType<Record<string, unknown>>>();
  const registerPlugin = vi.fn((_id: string, plugin: {initialize: (registry: unknown, store: unknown) => void}) => {
    plugin.initialize({registerAdminConsoleCustomSetting: (key: string, c: React.ComponentType<Record<string, unknown>>) => settings.set(key, c)}, {getState: () => ({}), dispatch: () => {}});
  });
  vi.stubGlobal('registerPlugin', registerPlugin);
  new Function(fs.readFileSync(mainFile, 'utf8'))();
  expect(registerPlugin.mock.calls[0][0]).toBe(pluginId);
  return settings;
}

describe('main.js', () => {
  it('is one self-contained script under 150 KB that registers Dashboard, Status, Stats and Dumps', async () => {
    const bytes = fs.statSync(mainFile).size;
    console.info(`main.js: ${bytes} bytes, dashboard.js: ${fs.statSync(chunkFile).size} bytes`);
    expect(bytes).toBeLessThan(150 * 1024);
    const code = fs.readFileSync(mainFile, 'utf8');
    expect(code).not.toMatch(/\brequire\(/);

    const settings = loadMainJs();
    expect([...settings.keys()]).toEqual(['Dashboard', 'Status', 'Stats', 'Dumps']);

    fakeServer({'GET /jobs': () => json([{id: 'a'.repeat(26), status: 'success', create_at: 1, min_t: 1, max_t: 2, dump_location: 'x', size: 10}])});
    const Dumps = settings.get('Dumps')!;
    render(<Dumps />);
    await act(async () => {});
    expect((await screen.findByTestId('dump-download')).getAttribute('href')).toBe(`/plugins/com.mattermost.mattermost-plugin-metrics/jobs/download/${'a'.repeat(26)}`);
  });
});

describe('dashboard.js', () => {
  it('stays out of main.js; main.js loads it by content hash and renders the real dashboard', async () => {
    const main = fs.readFileSync(mainFile, 'utf8');
    const chunk = fs.readFileSync(chunkFile, 'utf8');
    expect(chunk).not.toMatch(/\brequire\(/);
    // uPlot's and prometheus-query's code is only in the chunk.
    for (const marker of ['uplot', 'PrometheusDriver', 'query_range']) {
      expect(main, marker).not.toContain(marker);
      expect(chunk, marker).toContain(marker);
    }
    const hash = crypto.createHash('sha256').update(chunk).digest('hex').slice(0, 16);

    // The chunk's queries are real HTTP (axios through jsdom's XMLHttpRequest) to a stand-in
    // for the plugin's Prometheus API; window.basename points the plugin's URLs at it.
    const queries: string[] = [];
    const api = http.createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      const cors = {'Access-Control-Allow-Origin': '*', 'Access-Control-Allow-Headers': '*', 'Access-Control-Allow-Methods': 'GET, POST'};
      if (req.method === 'OPTIONS') {
        res.writeHead(204, cors);
        res.end();
        return;
      }
      if (url.pathname !== `/plugins/${pluginId}/api/v1/query_range`) {
        res.writeHead(404, cors);
        res.end();
        return;
      }
      queries.push(url.searchParams.get('query') ?? '');
      const start = Number(url.searchParams.get('start'));
      res.writeHead(200, {...cors, 'Content-Type': 'application/json'});
      res.end(JSON.stringify({status: 'success', data: {resultType: 'matrix', result: [{metric: {instance: 'app-1:8067'}, values: [[start, '1'], [start + 60, '2']]}]}}));
    });
    await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve));
    onTestFinished(() => new Promise<void>((resolve) => api.close(() => resolve())));
    const origin = `http://127.0.0.1:${(api.address() as AddressInfo).port}`;
    window.basename = origin;
    onTestFinished(() => {
      delete window.basename;
    });

    const Dashboard = loadMainJs().get('Dashboard')!;
    const {unmount} = render(<Dashboard id='PluginSettings.Plugins.metrics.Dashboard' />);
    expect(screen.getByTestId('metrics-loading').textContent).toBe('Loading the performance dashboard…');
    const scripts = document.querySelectorAll<HTMLScriptElement>('script[data-metrics-dashboard-chunk]');
    expect(scripts).toHaveLength(1);
    expect(scripts[0].getAttribute('src')).toBe(`${origin}/plugins/${pluginId}/public/dashboard.js?v=${hash}`);

    // What the browser does with the script: run dashboard.js, then fire load.
    await act(async () => {
      new Function(chunk)();
      scripts[0].dispatchEvent(new Event('load'));
    });
    expect(await screen.findByRole('group', {name: 'HTTP Requests/s'})).toBeTruthy();
    expect(screen.queryByTestId('metrics-loading')).toBeNull();
    // Every one of the 26 panels drew its answer.
    await vi.waitFor(() => expect(screen.getAllByTestId('uplot-chart')).toHaveLength(26), {timeout: 10_000});
    expect(queries).toContain('sum by (instance) (rate(mattermost_http_requests_total[2m]))');
    unmount();
  }, 30_000);
});
