// A small pool of worker threads for CPU-heavy work (block writes, compaction,
// dumps, big parses), so the event loop keeps answering yamux pings.

import {Worker} from 'node:worker_threads';

import type {TaskRequest, TaskResponse} from './protocol.ts';
import type {TaskInput, TaskName, TaskOutput} from './tasks.ts';

/** Set by the bundler (build/bundle-server.ts) to the compiled worker entry. */
declare const __MM_WORKER_SOURCE__: string | undefined;

export class WorkerTaskError extends Error {
  override name = 'WorkerTaskError';
  constructor(
    readonly task: string,
    message: string,
    readonly remoteName: string,
    readonly remoteStack?: string,
  ) {
    super(`${task}: ${message}`);
  }
}

export class WorkerCrashedError extends Error {
  override name = 'WorkerCrashedError';
}

interface Slot {
  worker: Worker;
  busy: number;
}

interface Pending {
  task: string;
  slot: Slot;
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
}

function spawnWorker(): Worker {
  if (typeof __MM_WORKER_SOURCE__ === 'string') return new Worker(__MM_WORKER_SOURCE__, {eval: true});
  // From source (tests, dev host in tsx mode): the worker loads TypeScript through tsx too,
  // resolved from here: a bare 'tsx' would resolve from the process's cwd (the dev host's
  // state dir), where it is not installed.
  return new Worker(new URL('./main.ts', import.meta.url), {execArgv: ['--import', import.meta.resolve('tsx')]});
}

export class WorkerPool {
  private readonly slots: Slot[] = [];
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private closed = false;

  /** @param size threads at most; on the 2-core target one is the sensible default. */
  constructor(private readonly size = 1) {}

  run<N extends TaskName>(task: N, input: TaskInput<N>, transfer: ArrayBuffer[] = []): Promise<TaskOutput<N>> {
    if (this.closed) return Promise.reject(new Error('worker pool closed'));
    const slot = this.pick();
    const id = this.nextId++;
    slot.busy++;
    slot.worker.ref();
    return new Promise<TaskOutput<N>>((resolve, reject) => {
      this.pending.set(id, {task, slot, resolve: resolve as (v: unknown) => void, reject});
      const msg: TaskRequest = {id, task, input};
      slot.worker.postMessage(msg, transfer);
    });
  }

  /** Terminates every thread; tasks in flight are rejected. */
  async close(): Promise<void> {
    this.closed = true;
    const workers = this.slots.splice(0).map((s) => s.worker);
    await Promise.all(workers.map((w) => w.terminate()));
  }

  private pick(): Slot {
    let best = this.slots.reduce<Slot | undefined>((b, s) => (!b || s.busy < b.busy ? s : b), undefined);
    if (!best || (best.busy > 0 && this.slots.length < this.size)) best = this.add();
    return best;
  }

  private add(): Slot {
    const worker = spawnWorker();
    const slot: Slot = {worker, busy: 0};
    worker.unref();
    worker.on('message', (msg: TaskResponse) => {
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      if (--slot.busy === 0) worker.unref();
      if (msg.ok) p.resolve(msg.result);
      else p.reject(new WorkerTaskError(p.task, msg.error.message, msg.error.name, msg.error.stack));
    });
    const fail = (err: Error): void => {
      const i = this.slots.indexOf(slot);
      if (i >= 0) this.slots.splice(i, 1);
      for (const [id, p] of this.pending) {
        if (p.slot !== slot) continue;
        this.pending.delete(id);
        p.reject(new WorkerCrashedError(`worker thread died during ${p.task}: ${err.message}`));
      }
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`exit code ${code}`)));
    this.slots.push(slot);
    return slot;
  }
}
