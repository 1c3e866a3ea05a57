import assert from 'node:assert/strict';
import {test} from 'node:test';

import {WorkerPool, WorkerTaskError} from './mod.ts';

void test('tasks run in a worker thread and errors come back typed', async () => {
  const pool = new WorkerPool(1);
  try {
    assert.deepEqual(await pool.run('echo', {a: [1, 2], b: 'x'}), {a: [1, 2], b: 'x'});
    await assert.rejects(pool.run('fail', 'boom'), (e: unknown) => e instanceof WorkerTaskError && e.message === 'fail: boom');
    assert.equal(await pool.run('echo', 5), 5, 'the worker survives a failed task');
  } finally {
    await pool.close();
  }
});

void test('the event loop stays responsive while a task burns the CPU', async () => {
  const pool = new WorkerPool(1);
  try {
    const spin = pool.run('spin', 1500);
    let worstTick = 0;
    let last = performance.now();
    const timer = setInterval(() => {
      const now = performance.now();
      worstTick = Math.max(worstTick, now - last);
      last = now;
    }, 10);
    await spin;
    clearInterval(timer);
    // Without the worker the loop would stall the whole 1500 ms; 600 ms leaves room for a busy CI machine.
    assert.ok(worstTick < 600, `event loop stalled ${worstTick.toFixed(0)} ms`);
  } finally {
    await pool.close();
  }
});
