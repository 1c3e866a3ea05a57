import {afterEach, beforeEach, describe, expect, it, vi} from 'vitest';

import {deferred} from '../test/helpers.ts';
import {createPoller} from './polling.ts';

function setHidden(hidden: boolean): void {
  Object.defineProperty(document, 'hidden', {configurable: true, get: () => hidden});
  document.dispatchEvent(new Event('visibilitychange'));
}

beforeEach(() => {
  vi.useFakeTimers();
});

afterEach(() => {
  vi.useRealTimers();
  delete (document as {hidden?: boolean}).hidden;
});

describe('createPoller', () => {
  it('runs at once, then again each delay after the previous run finished', async () => {
    const task = vi.fn(async () => {});
    let delay = 1000;
    const p = createPoller(task, () => delay);
    await vi.advanceTimersByTimeAsync(0);
    expect(task).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(999);
    expect(task).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(task).toHaveBeenCalledTimes(2);
    delay = 5000;
    await vi.advanceTimersByTimeAsync(1000);
    expect(task).toHaveBeenCalledTimes(3);
    await vi.advanceTimersByTimeAsync(4999);
    expect(task).toHaveBeenCalledTimes(3);
    await vi.advanceTimersByTimeAsync(1);
    expect(task).toHaveBeenCalledTimes(4);
    p.stop();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(task).toHaveBeenCalledTimes(4);
  });

  it('never overlaps: a slow run delays the next, a refresh during a run queues one more', async () => {
    const slow = deferred<void>();
    let active = 0;
    let maxActive = 0;
    const task = vi.fn(async () => {
      active++;
      maxActive = Math.max(maxActive, active);
      if (task.mock.calls.length === 1) await slow.promise;
      active--;
    });
    const p = createPoller(task, () => 1000);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(task).toHaveBeenCalledTimes(1);
    void p.refresh();
    void p.refresh();
    await vi.advanceTimersByTimeAsync(0);
    expect(task).toHaveBeenCalledTimes(1);
    slow.resolve();
    await vi.advanceTimersByTimeAsync(0);
    expect(task).toHaveBeenCalledTimes(2);
    expect(maxActive).toBe(1);
    await vi.advanceTimersByTimeAsync(1000);
    expect(task).toHaveBeenCalledTimes(3);
    p.stop();
  });

  it('keeps going after a failed run', async () => {
    const task = vi.fn(async () => Promise.reject(new Error('boom')));
    const p = createPoller(task, () => 100);
    await vi.advanceTimersByTimeAsync(250);
    expect(task).toHaveBeenCalledTimes(3);
    p.stop();
  });

  it('pauses while the document is hidden and refreshes when it is shown', async () => {
    const task = vi.fn(async () => {});
    const p = createPoller(task, () => 1000);
    await vi.advanceTimersByTimeAsync(0);
    setHidden(true);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(task).toHaveBeenCalledTimes(1);
    setHidden(false);
    await vi.advanceTimersByTimeAsync(0);
    expect(task).toHaveBeenCalledTimes(2);
    await vi.advanceTimersByTimeAsync(1000);
    expect(task).toHaveBeenCalledTimes(3);
    p.stop();
  });

  it('aborts the request in flight when stopped', async () => {
    let seen: AbortSignal | undefined;
    const p = createPoller(async (signal) => {
      seen = signal;
    }, () => 1000);
    await vi.advanceTimersByTimeAsync(0);
    p.stop();
    expect(seen?.aborted).toBe(true);
  });
});
