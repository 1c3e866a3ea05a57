// The built main.js as Mattermost loads it: one script, React & co. from window globals,
// no require, registers the plugin, and its settings render with the host's React.
import {execFileSync} from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import {act, render, screen} from '@testing-library/react';
import React from 'react';
import * as ReactDOM from 'react-dom';
import * as ReactIntl from 'react-intl';
import {afterAll, describe, expect, it, vi} from 'vitest';

import {fakeServer, json} from './helpers.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'metrics-webapp-'));
afterAll(() => fs.rmSync(dir, {recursive: true, force: true}));

describe('main.js', () => {
  it('is one self-contained script under 150 KB that registers Status, Stats and Dumps', async () => {
    const outfile = path.join(dir, 'main.js');
    // esbuild refuses to run inside jsdom (its TextEncoder check), so the build is a child process.
    execFileSync(process.execPath, [path.join(__dirname, '../build.mjs'), '--outfile', outfile], {stdio: 'pipe'});
    const bytes = fs.statSync(outfile).size;
    expect(bytes).toBeLessThan(150 * 1024);
    const code = fs.readFileSync(outfile, 'utf8');
    expect(code).not.toMatch(/\brequire\(/);

    Object.assign(window, {React, ReactDOM, ReactIntl});
    const settings = new Map<string, React.ComponentType>();
    const registerPlugin = vi.fn((_id: string, plugin: {initialize: (registry: unknown, store: unknown) => void}) => {
      plugin.initialize({registerAdminConsoleCustomSetting: (key: string, c: React.ComponentType) => settings.set(key, c)}, {getState: () => ({}), dispatch: () => {}});
    });
    vi.stubGlobal('registerPlugin', registerPlugin);
    new Function(code)();
    expect(registerPlugin.mock.calls[0][0]).toBe('com.mattermost.mattermost-plugin-metrics');
    expect([...settings.keys()]).toEqual(expect.arrayContaining(['Status', 'Stats', 'Dumps']));

    fakeServer({'GET /jobs': () => json([{id: 'a'.repeat(26), status: 'success', create_at: 1, min_t: 1, max_t: 2, dump_location: 'x', size: 10}])});
    const Dumps = settings.get('Dumps')!;
    render(<Dumps />);
    await act(async () => {});
    expect((await screen.findByTestId('dump-download')).getAttribute('href')).toBe(`/plugins/com.mattermost.mattermost-plugin-metrics/jobs/download/${'a'.repeat(26)}`);
  });
});
