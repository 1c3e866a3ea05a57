// The Dashboard setting in main.js: it injects dashboard.js once per page, shows a loading
// line, then the real dashboard with the console's props; a failed load shows the reason and
// a retry that injects a fresh script. jsdom fetches no scripts, so each test plays the
// browser: it finds the injected <script>, sets what dashboard.js would set and fires
// load (or error).
import {act, fireEvent, render, screen} from '@testing-library/react';
import React from 'react';
import {afterEach, beforeEach, describe, expect, it} from 'vitest';

import {DASHBOARD_CHUNK_GLOBAL} from '../dashboard/chunk_global.ts';
import type {DashboardProps} from '../dashboard/dashboard.tsx';
import DashboardLoader, {dashboardChunkUrl, resetDashboardChunkForTests} from './DashboardLoader.tsx';

const chunkUrl = '/plugins/com.mattermost.mattermost-plugin-metrics/public/dashboard.js?v=dev';

function FakeDashboard(props: DashboardProps): React.ReactElement {
  return <div data-testid='fake-dashboard'>{`dashboard ${props.id ?? ''} disabled=${String(props.disabled)}`}</div>;
}

function injectedScripts(): HTMLScriptElement[] {
  return [...document.querySelectorAll<HTMLScriptElement>('script[data-metrics-dashboard-chunk]')];
}

/** What the browser does once dashboard.js has run (or failed to). */
async function finishLoad(script: HTMLScriptElement, outcome: 'load' | 'error', provides = true): Promise<void> {
  await act(async () => {
    if (outcome === 'load' && provides) window[DASHBOARD_CHUNK_GLOBAL] = {Dashboard: FakeDashboard};
    script.dispatchEvent(new Event(outcome));
  });
}

beforeEach(() => {
  resetDashboardChunkForTests();
  delete window[DASHBOARD_CHUNK_GLOBAL];
  delete window.basename;
  for (const s of injectedScripts()) s.remove();
});

afterEach(() => {
  delete window[DASHBOARD_CHUNK_GLOBAL];
  delete window.basename;
});

describe('DashboardLoader', () => {
  it('injects dashboard.js once for the page, shows a loading line, then the dashboard with the same props', async () => {
    render(
      <>
        <DashboardLoader id='PluginSettings.Plugins.x.Dashboard' disabled={false} />
        <DashboardLoader id='second' disabled={true} />
      </>,
    );
    expect(screen.getAllByTestId('metrics-loading')[0].textContent).toBe('Loading the performance dashboard…');
    const scripts = injectedScripts();
    expect(scripts).toHaveLength(1);
    expect(scripts[0].getAttribute('src')).toBe(chunkUrl);
    expect(scripts[0].async).toBe(true);
    expect(scripts[0].parentElement).toBe(document.head);

    await finishLoad(scripts[0], 'load');
    expect(screen.getAllByTestId('fake-dashboard').map((e) => e.textContent)).toEqual([
      'dashboard PluginSettings.Plugins.x.Dashboard disabled=false',
      'dashboard second disabled=true',
    ]);
    expect(screen.queryByTestId('metrics-loading')).toBeNull();

    // Opening the page again in the same session does not fetch the chunk again.
    render(<DashboardLoader id='again' />);
    expect(screen.getAllByTestId('fake-dashboard')).toHaveLength(3);
    expect(injectedScripts()).toHaveLength(1);
  });

  it('a failed load says why and offers a retry that injects a fresh script', async () => {
    render(<DashboardLoader />);
    const [first] = injectedScripts();
    await finishLoad(first, 'error');
    const error = await screen.findByTestId('metrics-error');
    expect(error.getAttribute('role')).toBe('alert');
    expect(error.textContent).toContain(`The performance dashboard could not be loaded: ${chunkUrl} did not load`);
    expect(injectedScripts()).toHaveLength(0);

    fireEvent.click(screen.getByTestId('dashboard-retry'));
    expect(screen.getByTestId('metrics-loading')).toBeTruthy();
    expect(screen.queryByTestId('metrics-error')).toBeNull();
    const retried = injectedScripts();
    expect(retried).toHaveLength(1);
    expect(retried[0]).not.toBe(first);
    await finishLoad(retried[0], 'load');
    expect(screen.getByTestId('fake-dashboard')).toBeTruthy();
  });

  it('a script that loads but does not provide the dashboard is an error too', async () => {
    render(<DashboardLoader />);
    await finishLoad(injectedScripts()[0], 'load', false);
    expect((await screen.findByTestId('metrics-error')).textContent).toContain('loaded but did not provide the dashboard');
    expect(screen.getByTestId('dashboard-retry').textContent).toBe('Retry');
  });

  it('an unmounted loader leaves the load to the others and does not update', async () => {
    const {unmount} = render(<DashboardLoader />);
    const [script] = injectedScripts();
    unmount();
    await finishLoad(script, 'load');
    render(<DashboardLoader id='later' />);
    expect(screen.getByTestId('fake-dashboard').textContent).toContain('later');
    expect(injectedScripts()).toHaveLength(1);
  });

  it('asks under the web app\'s basename (Mattermost on a subpath)', () => {
    window.basename = '/chat';
    expect(dashboardChunkUrl()).toBe(`/chat${chunkUrl}`);
    render(<DashboardLoader />);
    expect(injectedScripts()[0].getAttribute('src')).toBe(`/chat${chunkUrl}`);
  });

  it('renders at once when dashboard.js already ran', () => {
    window[DASHBOARD_CHUNK_GLOBAL] = {Dashboard: FakeDashboard};
    render(<DashboardLoader id='now' />);
    expect(screen.getByTestId('fake-dashboard').textContent).toContain('now');
    expect(injectedScripts()).toHaveLength(0);
  });
});
