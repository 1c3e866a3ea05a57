// Entry of a worker thread: runs tasks by name, one message per task.
// In the bundle this file is compiled separately and embedded as a string.

import {parentPort} from 'node:worker_threads';

import {tasks} from './tasks.ts';
import type {TaskRequest, TaskResponse} from './protocol.ts';

const port = parentPort;
if (!port) throw new Error('worker/main.ts must run in a worker thread');

port.on('message', (msg: TaskRequest) => {
  void (async () => {
    let reply: TaskResponse;
    try {
      const fn = (tasks as Record<string, (input: unknown) => unknown>)[msg.task];
      if (!fn) throw new Error(`unknown worker task ${msg.task}`);
      reply = {id: msg.id, ok: true, result: await fn(msg.input)};
    } catch (err) {
      const e = err instanceof Error ? err : new Error(String(err));
      reply = {id: msg.id, ok: false, error: {name: e.name, message: e.message, stack: e.stack}};
    }
    port.postMessage(reply);
  })();
});
