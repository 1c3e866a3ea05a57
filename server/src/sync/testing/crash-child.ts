// Test-only child process for crash.test.ts: one sync pass over a LocalBackend whose
// writes are throttled, reporting each write start on stdout so the parent can kill -9
// it at a chosen moment.
//   node --import tsx crash-child.ts <dataDir> <storeRoot>

import {Readable, Transform} from 'node:stream';
import {LocalBackend} from '../../filestore/mod.ts';
import type {FileBackend} from '../../filestore/backend.ts';
import {BlockSyncer} from '../syncer.ts';

const [dataDir, storeRoot] = process.argv.slice(2);
const local = new LocalBackend(storeRoot);

function throttle(): Transform {
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      const pieces: Buffer[] = [];
      for (let i = 0; i < chunk.length; i += 8192) pieces.push(chunk.subarray(i, i + 8192));
      const next = (): void => {
        const p = pieces.shift();
        if (!p) return cb();
        this.push(p);
        setTimeout(next, 4);
      };
      next();
    },
  });
}

const slow: FileBackend = Object.assign(Object.create(local) as FileBackend, {
  async write(p: string, body: Readable | Buffer, opts?: {size?: number; signal?: AbortSignal}): Promise<number> {
    process.stdout.write(`write ${p}\n`);
    const src = Buffer.isBuffer(body) ? Readable.from([body]) : body;
    return local.write(p, src.pipe(throttle()), opts);
  },
});

const syncer = new BlockSyncer({backend: slow, dataDir, retentionDays: 15, periodMinutes: 60, blockConcurrency: 2, fileConcurrency: 2});
const r = await syncer.syncOnce();
process.stdout.write(`done ${JSON.stringify({uploaded: r.uploaded, failed: r.failed})}\n`);
