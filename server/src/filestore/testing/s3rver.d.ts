// Minimal typings for s3rver@3.7.1 (a dev dependency used only by tests and benchmarks).
declare module 's3rver' {
  import type {Server} from 'node:http';
  interface S3rverOptions {
    address?: string;
    port?: number;
    silent?: boolean;
    directory?: string;
    resetOnClose?: boolean;
    configureBuckets?: {name: string; configs?: string[]}[];
  }
  export default class S3rver {
    constructor(opts: S3rverOptions);
    httpServer?: Server;
    run(): Promise<{address: string; port: number}>;
    close(): Promise<void>;
  }
}
