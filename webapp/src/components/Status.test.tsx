import {render, screen, within} from '@testing-library/react';
import React from 'react';
import {IntlProvider} from 'react-intl';
import {describe, expect, it} from 'vitest';

import {deferred, fakeServer, json, serverError} from '../../test/helpers.ts';
import type {PluginStatus} from '../types.ts';
import Status from './Status.tsx';

const now = Date.now();

function status(over: Partial<PluginStatus> = {}): PluginStatus {
  return {
    node: 'app-1#abcd',
    isLeader: true,
    leader: {node: 'app-1#abcd', since: now - 600_000, ageMs: 12_000},
    targets: [
      {job: 'mattermost', instance: 'app-1:8067', url: 'http://app-1:8067/metrics', health: 'up', lastScrape: now - 5_000, lastDurationMs: 42, lastError: null, samples: 1234, rejected: 0},
      {job: 'node', instance: 'app-1:9100', url: 'http://app-1:9100/metrics', health: 'down', lastScrape: now - 5_000, lastDurationMs: 3, lastError: 'connect ECONNREFUSED', samples: 0, rejected: 0},
      {job: 'mattermost', instance: 'app-2:8067', url: 'http://app-2:8067/metrics', health: 'unknown', lastScrape: null, lastDurationMs: null, lastError: null, samples: 0, rejected: 0},
    ],
    lastScrape: now - 5_000,
    store: {
      dataDir: '/var/mm/data',
      headSeries: 800,
      headSamples: 90_000,
      headMinTime: now - 3_600_000,
      headMaxTime: now,
      rejectedSamples: 0,
      blocks: 3,
      blockBytes: 3 * 1024 * 1024,
      walBytes: 1024 * 1024,
      lastCut: now - 7_200_000,
      lastCompaction: null,
      lastRetention: null,
      unreadableBlocks: [],
    },
    remote: {
      fileStore: 'local: ./data',
      lastSync: now - 60_000,
      sync: {running: false, lastSuccessAt: now - 60_000, lastError: null, failingBlocks: [], corruptBlocks: []},
      usage: {blocks: 7, partialBlocks: 0, bytes: 10 * 1024 * 1024, oldest: now - 86_400_000, newest: now, dumps: 2, dumpBytes: 2048},
    },
    warnings: {settings: [], metrics: null, fileStore: null},
    ...over,
  };
}

describe('Status', () => {
  it('shows loading until the status arrives', async () => {
    const pending = deferred<Response>();
    fakeServer({'GET /status': () => pending.promise});
    render(<Status />);
    expect(screen.getByTestId('metrics-status')).toHaveProperty('textContent', 'Loading…');
    pending.resolve(json(status()));
    expect(await screen.findAllByTestId('status-target')).toHaveLength(3);
    expect(screen.queryByText('Loading…')).toBeNull();
  });

  it('lists targets with their health and last error, the leader, times and disk use', async () => {
    fakeServer({'GET /status': () => json(status())});
    render(<Status />);
    const rows = await screen.findAllByTestId('status-target');
    expect(rows.map((r) => r.getAttribute('data-health'))).toEqual(['up', 'down', 'unknown']);
    expect(within(rows[0]).getByText('up')).toBeTruthy();
    expect(within(rows[0]).getByText(/42 ms/)).toBeTruthy();
    expect(within(rows[1]).getByTestId('status-target-error').textContent).toBe('connect ECONNREFUSED');
    expect(within(rows[2]).getByText('never')).toBeTruthy();
    expect(screen.getByTestId('status-leader').textContent).toBe('app-1#abcd (this node) (lease renewed 12 sec ago)');
    expect(screen.getByTestId('status-last-scrape').textContent).toBe('5 sec ago');
    expect(screen.getByTestId('status-last-sync').textContent).toBe('1 min ago');
    expect(screen.getByTestId('status-last-cut').textContent).toBe('2 hr ago');
    expect(screen.getByTestId('status-local-disk').textContent).toBe('4 MB (3 blocks 3 MB, write-ahead log 1 MB) in /var/mm/data');
    expect(screen.getByTestId('status-remote-disk').textContent).toBe('10 MB in 7 blocks, 2 dumps (2 kB) — local: ./data');
    expect(screen.queryByTestId('status-warnings')).toBeNull();
  });

  it('shows licence, file store and settings warnings and sync trouble', async () => {
    const s = status({
      warnings: {settings: ['ScrapeIntervalSeconds must be between 1 and 3600, got 0'], metrics: 'Metrics need an Enterprise licence.', fileStore: 'the file store is not usable: bad bucket'},
    });
    s.remote!.sync.lastError = 'upload failed: 503';
    s.remote!.sync.failingBlocks = [{ulid: '01H', since: now, attempts: 3, error: 'x'}];
    s.remote!.usage = {error: 'the file store did not answer in time'};
    s.store!.unreadableBlocks = [{dir: '01BAD', error: 'meta.json: unexpected end'}];
    fakeServer({'GET /status': () => json(s)});
    render(<Status />);
    const warnings = await screen.findByTestId('status-warnings');
    expect(within(warnings).getAllByRole('note').map((n) => n.textContent)).toEqual([
      'Metrics need an Enterprise licence.',
      'the file store is not usable: bad bucket',
      'Settings rejected, the previous ones stay in force: ScrapeIntervalSeconds must be between 1 and 3600, got 0',
      'Unreadable block 01BAD: meta.json: unexpected end',
    ]);
    const remote = screen.getByTestId('status-remote-disk').textContent;
    expect(remote).toContain('Usage unknown: the file store did not answer in time');
    expect(remote).toContain('Last sync error: upload failed: 503');
    expect(remote).toContain('1 block fails to sync');
  });

  it('says when nothing is collected: no targets, no store, no file store, no leader', async () => {
    fakeServer({'GET /status': () => json(status({targets: [], store: null, remote: null, leader: null, lastScrape: null}))});
    render(<Status />);
    expect((await screen.findByTestId('status-no-targets')).textContent).toBe('No targets are scraped from this node.');
    expect(screen.getByTestId('status-leader').textContent).toBe('none — no node is collecting');
    expect(screen.getByTestId('status-local-disk').textContent).toBe('The plugin is not collecting on this node.');
    expect(screen.getByTestId('status-remote-disk').textContent).toBe('No file store: blocks stay on local disk only');
    expect(screen.getByTestId('status-last-scrape').textContent).toBe('never');
  });

  it('shows the server’s error', async () => {
    fakeServer({'GET /status': () => serverError('forbidden: this needs the manage_system permission', 403)});
    render(<Status />);
    expect((await screen.findByTestId('metrics-error')).textContent).toBe('Error: forbidden: this needs the manage_system permission');
    expect(screen.queryByText('Loading…')).toBeNull();
  });

  it('uses the host’s IntlProvider and its translations when there is one', async () => {
    fakeServer({'GET /status': () => json(status())});
    render(
      <IntlProvider locale='de' messages={{'metrics.status.up': 'erreichbar'}} onError={() => {}}>
        <Status />
      </IntlProvider>,
    );
    const rows = await screen.findAllByTestId('status-target');
    expect(within(rows[0]).getByText('erreichbar')).toBeTruthy();
  });
});
