// The work that runs off the event loop. The worker entry dispatches by name;
// adding a task here is the only registration needed.

import {compactDataDir, importPrometheusWal, retainDataDir, writeHeadBlock} from '../tsdb/tasks.ts';

export const tasks = {
  tsdbWriteHeadBlock: writeHeadBlock,
  tsdbCompact: compactDataDir,
  tsdbRetention: retainDataDir,
  tsdbImportPrometheusWal: importPrometheusWal,
  /** Round trip check: returns its input. */
  echo: (input: unknown): unknown => input,
  /** Burns the CPU for `ms` milliseconds (tests: the event loop stays responsive meanwhile). */
  spin: (input: unknown): number => {
    const end = Date.now() + Number(input);
    let x = 0;
    while (Date.now() < end) for (let i = 0; i < 1e5; i++) x = (x * 31 + i) % 1000003;
    return x;
  },
  /** Throws, so callers can see how task failures arrive. */
  fail: (input: unknown): never => {
    throw new Error(String(input));
  },
} satisfies Record<string, (input: never) => unknown>;

export type TaskName = keyof typeof tasks;
export type TaskInput<N extends TaskName> = Parameters<(typeof tasks)[N]>[0];
export type TaskOutput<N extends TaskName> = Awaited<ReturnType<(typeof tasks)[N]>>;
