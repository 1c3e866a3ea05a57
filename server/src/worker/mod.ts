export {WorkerCrashedError, WorkerPool, WorkerTaskError} from './pool.ts';
export type {TaskInput, TaskName, TaskOutput} from './tasks.ts';
