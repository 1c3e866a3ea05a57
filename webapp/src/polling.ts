// Refreshing without hammering the server: one request at a time, the next one scheduled
// only after the previous finished, nothing while the tab is hidden (a visible tab
// refreshes at once), and a manual refresh that queues behind a request in flight.
import {useCallback, useEffect, useRef} from 'react';

export interface Poller {
  /** Runs the task now (or right after the one in flight) and restarts the schedule. */
  refresh(): Promise<void>;
  stop(): void;
}

export function createPoller(task: (signal: AbortSignal) => Promise<unknown>, nextDelayMs: () => number, doc: Document = document): Poller {
  const abort = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  let inFlight: Promise<void> | null = null;
  let again = false;
  let stopped = false;

  const schedule = (): void => {
    clearTimeout(timer);
    timer = undefined;
    if (stopped || doc.hidden) return;
    timer = setTimeout(() => void run(), nextDelayMs());
  };

  const run = (): Promise<void> => {
    if (stopped) return Promise.resolve();
    if (inFlight) {
      again = true;
      return inFlight;
    }
    clearTimeout(timer);
    timer = undefined;
    inFlight = (async () => {
      try {
        await task(abort.signal);
      } catch {
        // The task reports its own errors; a failure must not end the schedule.
      }
      inFlight = null;
      if (again) {
        again = false;
        await run();
      } else {
        schedule();
      }
    })();
    return inFlight;
  };

  const onVisibility = (): void => {
    if (doc.hidden) {
      clearTimeout(timer);
      timer = undefined;
    } else if (!inFlight) {
      void run();
    }
  };
  doc.addEventListener('visibilitychange', onVisibility);
  void run();

  return {
    refresh: run,
    stop() {
      stopped = true;
      clearTimeout(timer);
      doc.removeEventListener('visibilitychange', onVisibility);
      abort.abort();
    },
  };
}

/** createPoller for a component's lifetime; `nextDelayMs` is read after every run. */
export function usePolling(task: (signal: AbortSignal) => Promise<unknown>, nextDelayMs: () => number): () => Promise<void> {
  const taskRef = useRef(task);
  const delayRef = useRef(nextDelayMs);
  useEffect(() => {
    taskRef.current = task;
    delayRef.current = nextDelayMs;
  });
  const poller = useRef<Poller | null>(null);
  useEffect(() => {
    const p = createPoller(
      (signal) => taskRef.current(signal),
      () => delayRef.current(),
    );
    poller.current = p;
    return () => {
      p.stop();
      poller.current = null;
    };
  }, []);
  return useCallback(() => poller.current?.refresh() ?? Promise.resolve(), []);
}
