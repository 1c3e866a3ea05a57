import {act, fireEvent, render, screen, waitFor, within} from '@testing-library/react';
import React from 'react';
import {afterEach, describe, expect, it, vi} from 'vitest';

import {base, deferred, fakeServer, json, serverError, type Call} from '../../test/helpers.ts';
import {fromLocalInput, toLocalInput} from '../format.ts';
import type {DumpJob} from '../types.ts';
import Dumps, {activeRefreshMs, idleRefreshMs} from './Dumps.tsx';

const hour = 3_600_000;
const t0 = new Date(2025, 4, 6, 10, 0).getTime();

function job(over: Partial<DumpJob> & Pick<DumpJob, 'id' | 'status'>): DumpJob {
  return {create_at: t0, min_t: t0 - 2 * hour, max_t: t0 - hour, requested_min_t: t0 - 2 * hour, requested_max_t: t0 - hour, dump_location: '', ...over};
}

const pendingJob = job({id: 'p'.repeat(26), status: 'pending'});
const runningJob = job({id: 'r'.repeat(26), status: 'in_progress', progress: 0.42, nodes: ['app-1', 'app-2']});
const doneJob = job({
  id: 's'.repeat(26),
  status: 'success',
  size: 5 * 1024 * 1024,
  actual_min_t: t0 - 2 * hour + 15_000,
  actual_max_t: t0 - hour - 15_000,
  nodes: ['app-1'],
  file_name: 'dump.tar.gz',
  dump_location: 'mattermost-plugin-metrics/dump/s/dump.tar.gz',
});
const failedJob = job({id: 'e'.repeat(26), status: 'error', error: 'the file store did not answer: 503'});

const rows = (): HTMLElement[] => screen.queryAllByTestId('dump-job-row');
const row = (id: string): HTMLElement => rows().find((r) => r.getAttribute('data-job-id') === id)!;

afterEach(() => {
  vi.useRealTimers();
  delete (document as {hidden?: boolean}).hidden;
});

describe('Dumps: states', () => {
  it('shows loading, then the empty state with Remove All disabled', async () => {
    const list = deferred<Response>();
    fakeServer({'GET /jobs': () => list.promise});
    render(<Dumps />);
    expect(screen.getByTestId('metrics-loading')).toBeTruthy();
    list.resolve(json([]));
    expect((await screen.findByTestId('dumps-empty')).textContent).toContain('No dumps yet');
    expect(screen.getByTestId('dumps-remove-all')).toHaveProperty('disabled', true);
    expect(screen.getByTestId('dumps-create')).toHaveProperty('disabled', false);
  });

  it('treats a null list (upstream with no jobs) as empty', async () => {
    fakeServer({'GET /jobs': () => json(null)});
    render(<Dumps />);
    expect(await screen.findByTestId('dumps-empty')).toBeTruthy();
  });

  it('shows the server’s error when the list cannot be loaded', async () => {
    fakeServer({'GET /jobs': () => serverError('dump jobs are not available: the file store is not usable (see /status)', 503)});
    render(<Dumps />);
    expect((await screen.findByTestId('metrics-error')).textContent).toBe('Error: dump jobs are not available: the file store is not usable (see /status)');
    expect(screen.queryByTestId('metrics-loading')).toBeNull();
  });

  it('shows each status: scheduled, running with progress, ready with download, failed with the reason', async () => {
    fakeServer({'GET /jobs': () => json([runningJob, pendingJob, doneJob, failedJob])});
    render(<Dumps />);
    await screen.findAllByTestId('dump-job-row');
    expect(rows().map((r) => r.getAttribute('data-status'))).toEqual(['in_progress', 'pending', 'success', 'error']);

    const pending = row(pendingJob.id);
    expect(within(pending).getByText('Scheduled')).toBeTruthy();
    expect(within(pending).getByTestId('dump-cancel')).toBeTruthy();
    expect(within(pending).queryByTestId('dump-download')).toBeNull();
    expect(within(pending).queryByTestId('dump-remove')).toBeNull();

    const running = row(runningJob.id);
    expect(within(running).getByText('In progress')).toBeTruthy();
    expect(within(running).getByRole('progressbar').getAttribute('aria-valuenow')).toBe('42');
    expect(within(running).getByTestId('dump-progress-text').textContent).toBe('42%');
    expect(within(running).getByTestId('dump-nodes').textContent).toBe('app-1app-2');
    expect(within(running).getByTestId('dump-cancel')).toBeTruthy();

    const done = row(doneJob.id);
    const link = within(done).getByTestId('dump-download');
    expect(link.tagName).toBe('A');
    expect(link.getAttribute('href')).toBe(`${base}/jobs/download/${doneJob.id}`);
    expect(link.getAttribute('download')).toBe('dump.tar.gz');
    expect(within(done).getByTestId('dump-size').textContent).toBe('5 MB');
    expect(within(done).getByTestId('dump-actual-range').textContent).toMatch(/^Data: May 6(, 2025)?, 08:00 AM – May 6(, 2025)?, 08:59 AM$/);
    expect(within(done).getByText(/^Requested: /)).toBeTruthy();
    expect(within(done).getByTestId('dump-remove')).toBeTruthy();
    expect(within(done).queryByTestId('dump-cancel')).toBeNull();

    const failed = row(failedJob.id);
    expect(within(failed).getByText('Failed')).toBeTruthy();
    expect(within(failed).getByTestId('dump-error-reason').textContent).toBe('the file store did not answer: 503');
    expect(within(failed).getByTestId('dump-remove')).toBeTruthy();
    expect(within(failed).queryByTestId('dump-download')).toBeNull();
  });

  it('shows the warning of a dump that may be incomplete, with its download link', async () => {
    const warning = 'the scraping node did not flush within 30 s: the newest samples may be missing';
    fakeServer({'GET /jobs': () => json([{...doneJob, warning}])});
    render(<Dumps />);
    const r = await screen.findByTestId('dump-job-row');
    expect(within(r).getByTestId('dump-warning').textContent).toBe(warning);
    expect(within(r).getByTestId('dump-download')).toBeTruthy();
  });

  it('shows an expired dump without a download link', async () => {
    fakeServer({'GET /jobs': () => json([{...doneJob, expired: true, expired_at: t0, expired_reason: 'dump retention: older than 30 days'}])});
    render(<Dumps />);
    const r = await screen.findByTestId('dump-job-row');
    expect(r.getAttribute('data-status')).toBe('success');
    expect(within(r).getByText('Expired')).toBeTruthy();
    expect(within(r).getByTestId('dump-expired-reason').textContent).toBe('The file was deleted (dump retention: older than 30 days).');
    expect(within(r).queryByTestId('dump-download')).toBeNull();
    expect(within(r).getByTestId('dump-remove')).toBeTruthy();
  });

  it('says when a finished dump found no data in its range', async () => {
    fakeServer({'GET /jobs': () => json([{...doneJob, actual_min_t: 0, actual_max_t: 0, size: 300}])});
    render(<Dumps />);
    expect((await screen.findByTestId('dump-actual-range')).textContent).toBe('Data: none in this range');
  });
});

describe('Dumps: create dialog', () => {
  async function openDialog(routes: Record<string, (c: Call) => Response | Promise<Response>> = {}) {
    const server = fakeServer({'GET /jobs': () => json([]), ...routes});
    render(<Dumps />);
    await screen.findByTestId('dumps-empty');
    // A click focuses a button in the browser; fireEvent does not.
    screen.getByTestId('dumps-create').focus();
    fireEvent.click(screen.getByTestId('dumps-create'));
    const dialog = screen.getByTestId('dump-dialog');
    const from = within(dialog).getByTestId('dump-from') as HTMLInputElement;
    const to = within(dialog).getByTestId('dump-to') as HTMLInputElement;
    return {server, dialog, from, to, submit: within(dialog).getByTestId('dump-submit') as HTMLButtonElement};
  }

  it('opens with the last 24 hours, labelled inputs and focus inside', async () => {
    const {dialog, from, to, submit} = await openDialog();
    expect(dialog.getAttribute('role')).toBe('dialog');
    expect(dialog.getAttribute('aria-modal')).toBe('true');
    expect(from.type).toBe('datetime-local');
    expect(screen.getByLabelText('From')).toBe(from);
    expect(screen.getByLabelText('To')).toBe(to);
    expect(fromLocalInput(to.value) - fromLocalInput(from.value)).toBe(24 * hour);
    expect(Math.abs(fromLocalInput(to.value) - Date.now())).toBeLessThan(61_000);
    expect(submit.disabled).toBe(false);
    expect(dialog.contains(document.activeElement)).toBe(true);
    expect(screen.getByTestId('dump-preset-24h').getAttribute('aria-pressed')).toBe('true');
  });

  it('fills the range from each preset', async () => {
    const {from, to} = await openDialog();
    for (const [key, span] of [
      ['1h', hour],
      ['24h', 24 * hour],
      ['3d', 72 * hour],
      ['7d', 168 * hour],
    ] as const) {
      fireEvent.click(screen.getByTestId(`dump-preset-${key}`));
      expect(fromLocalInput(to.value) - fromLocalInput(from.value), key).toBe(span);
      expect(screen.getByTestId(`dump-preset-${key}`).getAttribute('aria-pressed')).toBe('true');
    }
  });

  it('validates the range: start after end, empty, in the future, too long', async () => {
    const {from, to, submit} = await openDialog();
    const end = Math.floor(Date.now() / 60_000) * 60_000 - hour;
    fireEvent.change(to, {target: {value: toLocalInput(end)}});
    fireEvent.change(from, {target: {value: toLocalInput(end + 60_000)}});
    expect(screen.getByTestId('dump-validation').textContent).toBe('The start must be before the end.');
    expect(from.getAttribute('aria-invalid')).toBe('true');
    expect(submit.disabled).toBe(true);

    fireEvent.change(from, {target: {value: ''}});
    expect(screen.getByTestId('dump-validation').textContent).toBe('Enter a valid start date and time.');

    fireEvent.change(from, {target: {value: toLocalInput(end - hour)}});
    fireEvent.change(to, {target: {value: toLocalInput(Date.now() + 2 * hour)}});
    expect(screen.getByTestId('dump-validation').textContent).toBe('The end is in the future.');
    expect(to.getAttribute('aria-invalid')).toBe('true');

    fireEvent.change(to, {target: {value: toLocalInput(end)}});
    fireEvent.change(from, {target: {value: toLocalInput(end - 32 * 24 * hour)}});
    expect(screen.getByTestId('dump-validation').textContent).toBe('A dump covers at most 31 days.');
    expect(submit.disabled).toBe(true);

    fireEvent.click(screen.getByTestId('dump-preset-7d'));
    expect(screen.queryByTestId('dump-validation')).toBeNull();
    expect(submit.disabled).toBe(false);
  });

  it('posts the chosen range in milliseconds, closes and reloads the list', async () => {
    let created = false;
    const {server, from, to} = await openDialog({
      'GET /jobs': () => json(created ? [pendingJob] : []),
      'POST /jobs/create': (c) => {
        created = true;
        return json({...pendingJob, ...(c.body as object)});
      },
    });
    fireEvent.change(from, {target: {value: '2025-05-06T08:30'}});
    fireEvent.change(to, {target: {value: '2025-05-06T09:45'}});
    fireEvent.click(screen.getByTestId('dump-submit'));
    expect(await screen.findByTestId('dump-job-row')).toBeTruthy();
    const post = server.calls.find((c) => c.method === 'POST')!;
    expect(post.path).toBe('/jobs/create');
    expect(post.body).toEqual({min_t: new Date(2025, 4, 6, 8, 30).getTime(), max_t: new Date(2025, 4, 6, 9, 45).getTime()});
    expect(screen.queryByTestId('dump-dialog')).toBeNull();
  });

  it('a preset asks for the last span until this millisecond (the newest samples are in the dump)', async () => {
    const {server} = await openDialog({'POST /jobs/create': (c) => json({...pendingJob, ...(c.body as object)})});
    fireEvent.click(screen.getByTestId('dump-preset-1h'));
    const before = Date.now();
    fireEvent.click(screen.getByTestId('dump-submit'));
    await waitFor(() => expect(server.calls.some((c) => c.method === 'POST')).toBe(true));
    const body = server.calls.find((c) => c.method === 'POST')!.body as {min_t: number; max_t: number};
    expect(body.max_t - body.min_t).toBe(hour);
    expect(body.max_t).toBeGreaterThanOrEqual(before);
    expect(body.max_t).toBeLessThanOrEqual(Date.now());
  });

  it('keeps the dialog open and shows the server’s reason when creating fails', async () => {
    const {submit} = await openDialog({'POST /jobs/create': () => serverError('the range spans 40.0 days; at most 31 days per dump', 400)});
    fireEvent.click(submit);
    const dialog = screen.getByTestId('dump-dialog');
    expect((await within(dialog).findByTestId('metrics-error')).textContent).toBe('Error: the range spans 40.0 days; at most 31 days per dump');
    expect((within(dialog).getByTestId('dump-submit') as HTMLButtonElement).disabled).toBe(false);
  });

  it('closes on Escape and returns focus to the Create button', async () => {
    const {dialog} = await openDialog();
    fireEvent.keyDown(dialog, {key: 'Escape'});
    expect(screen.queryByTestId('dump-dialog')).toBeNull();
    expect(document.activeElement).toBe(screen.getByTestId('dumps-create'));
  });

  it('keeps Tab inside the dialog', async () => {
    const {dialog, submit} = await openDialog();
    submit.focus();
    fireEvent.keyDown(submit, {key: 'Tab'});
    expect(document.activeElement).toBe(screen.getByTestId('dump-preset-1h'));
    fireEvent.keyDown(document.activeElement!, {key: 'Tab', shiftKey: true});
    expect(document.activeElement).toBe(submit);
    expect(dialog.contains(document.activeElement)).toBe(true);
  });
});

describe('Dumps: cancel and remove', () => {
  it('asks before cancelling a running dump; "Keep running" sends nothing', async () => {
    let jobs = [runningJob];
    const server = fakeServer({
      'GET /jobs': () => json(jobs),
      'POST /jobs/cancel/*': () => {
        jobs = [{...runningJob, status: 'error', error: 'cancelled by u1'}];
        return json(jobs[0]);
      },
    });
    render(<Dumps />);
    fireEvent.click(await screen.findByTestId('dump-cancel'));
    expect(screen.getByRole('alertdialog').textContent).toContain('Cancel this dump?');
    expect(document.activeElement).toBe(screen.getByTestId('confirm-cancel'));
    fireEvent.click(screen.getByTestId('confirm-cancel'));
    expect(screen.queryByRole('alertdialog')).toBeNull();
    expect(server.calls.filter((c) => c.method !== 'GET')).toEqual([]);

    fireEvent.click(screen.getByTestId('dump-cancel'));
    fireEvent.click(screen.getByTestId('confirm-ok'));
    expect(await screen.findByTestId('dump-error-reason')).toHaveProperty('textContent', 'cancelled by u1');
    expect(server.calls.filter((c) => c.method !== 'GET').map((c) => `${c.method} ${c.path}`)).toEqual([`POST /jobs/cancel/${runningJob.id}`]);
  });

  it('asks before removing one dump, then deletes it', async () => {
    let jobs = [doneJob, failedJob];
    const server = fakeServer({
      'GET /jobs': () => json(jobs),
      'DELETE /jobs/delete/*': (c) => {
        jobs = jobs.filter((j) => !c.path.endsWith(j.id));
        return json({status: 'OK'});
      },
    });
    render(<Dumps />);
    await screen.findAllByTestId('dump-job-row');
    fireEvent.click(within(row(doneJob.id)).getByTestId('dump-remove'));
    expect(screen.getByRole('alertdialog').textContent).toContain('Remove this dump?');
    fireEvent.keyDown(screen.getByRole('alertdialog'), {key: 'Escape'});
    expect(server.count(`DELETE /jobs/delete/${doneJob.id}`)).toBe(0);

    fireEvent.click(within(row(doneJob.id)).getByTestId('dump-remove'));
    fireEvent.click(screen.getByTestId('confirm-ok'));
    await vi.waitFor(() => expect(rows()).toHaveLength(1));
    expect(server.count(`DELETE /jobs/delete/${doneJob.id}`)).toBe(1);
    expect(rows()[0].getAttribute('data-job-id')).toBe(failedJob.id);
  });

  it('asks before removing all, then deletes all', async () => {
    let jobs = [runningJob, doneJob];
    const server = fakeServer({
      'GET /jobs': () => json(jobs),
      'DELETE /jobs/deleteAll': () => {
        jobs = [];
        return json({status: 'OK'});
      },
    });
    render(<Dumps />);
    await screen.findAllByTestId('dump-job-row');
    fireEvent.click(screen.getByTestId('dumps-remove-all'));
    expect(screen.getByRole('alertdialog').textContent).toContain('This removes all 2 dumps, cancels any that are still running');
    fireEvent.click(screen.getByTestId('confirm-ok'));
    expect(await screen.findByTestId('dumps-empty')).toBeTruthy();
    expect(server.count('DELETE /jobs/deleteAll')).toBe(1);
  });

  it('shows why an action failed and keeps the list', async () => {
    fakeServer({'GET /jobs': () => json([doneJob]), 'DELETE /jobs/delete/*': () => serverError(`no dump job ${doneJob.id}`, 404)});
    render(<Dumps />);
    fireEvent.click(await screen.findByTestId('dump-remove'));
    fireEvent.click(screen.getByTestId('confirm-ok'));
    expect((await screen.findByTestId('metrics-error')).textContent).toContain(`no dump job ${doneJob.id}`);
    expect(rows()).toHaveLength(1);
    fireEvent.click(screen.getByRole('button', {name: 'Dismiss'}));
    expect(screen.queryByTestId('metrics-error')).toBeNull();
  });
});

describe('Dumps: live refresh', () => {
  const flush = async (ms = 0): Promise<void> => {
    await act(async () => {
      await vi.advanceTimersByTimeAsync(ms);
    });
  };

  it('polls every 2 s while a job is queued or running, every 30 s otherwise', async () => {
    vi.useFakeTimers();
    const answers = [[pendingJob], [{...pendingJob, status: 'in_progress', progress: 0.1}], [{...pendingJob, status: 'in_progress', progress: 0.9}], [{...pendingJob, status: 'success', size: 10}]];
    let n = 0;
    const server = fakeServer({'GET /jobs': () => json(answers[Math.min(n++, answers.length - 1)])});
    render(<Dumps />);
    await flush();
    expect(server.count('GET /jobs')).toBe(1);
    expect(row(pendingJob.id).getAttribute('data-status')).toBe('pending');
    await flush(activeRefreshMs - 1);
    expect(server.count('GET /jobs')).toBe(1);
    await flush(1);
    expect(server.count('GET /jobs')).toBe(2);
    expect(screen.getByRole('progressbar').getAttribute('aria-valuenow')).toBe('10');
    await flush(activeRefreshMs);
    expect(screen.getByRole('progressbar').getAttribute('aria-valuenow')).toBe('90');
    await flush(activeRefreshMs);
    expect(server.count('GET /jobs')).toBe(4);
    expect(row(pendingJob.id).getAttribute('data-status')).toBe('success');
    await flush(idleRefreshMs - 1);
    expect(server.count('GET /jobs')).toBe(4);
    await flush(1);
    expect(server.count('GET /jobs')).toBe(5);
  });

  it('never overlaps requests: a slow answer delays the next poll', async () => {
    vi.useFakeTimers();
    const slow = deferred<Response>();
    let n = 0;
    const server = fakeServer({'GET /jobs': () => (n++ === 1 ? slow.promise : json([runningJob]))});
    render(<Dumps />);
    await flush(activeRefreshMs);
    expect(server.count('GET /jobs')).toBe(2);
    await flush(10 * activeRefreshMs);
    expect(server.count('GET /jobs')).toBe(2);
    slow.resolve(json([runningJob]));
    await flush(0);
    await flush(activeRefreshMs);
    expect(server.count('GET /jobs')).toBe(3);
  });

  it('pauses while the tab is hidden and refreshes when it comes back', async () => {
    vi.useFakeTimers();
    let hidden = false;
    Object.defineProperty(document, 'hidden', {configurable: true, get: () => hidden});
    const server = fakeServer({'GET /jobs': () => json([runningJob])});
    render(<Dumps />);
    await flush();
    hidden = true;
    document.dispatchEvent(new Event('visibilitychange'));
    await flush(60_000);
    expect(server.count('GET /jobs')).toBe(1);
    hidden = false;
    document.dispatchEvent(new Event('visibilitychange'));
    await flush();
    expect(server.count('GET /jobs')).toBe(2);
  });

  it('stops polling when unmounted', async () => {
    vi.useFakeTimers();
    const server = fakeServer({'GET /jobs': () => json([runningJob])});
    const {unmount} = render(<Dumps />);
    await flush();
    unmount();
    await flush(60_000);
    expect(server.count('GET /jobs')).toBe(1);
  });
});
