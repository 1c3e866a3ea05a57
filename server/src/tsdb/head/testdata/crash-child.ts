// Crash-test child (head/crash.test.ts): opens a head + WAL in argv[2], continues the
// deterministic series from where the data ends, commits one scrape-like batch every
// few ms and acknowledges each commit on stdout ("ack <k>\n") after commit() returned.
// With argv[3] === 'blocks' it also cuts a block every BLOCK_EVERY batches
// (writeBlock(seriesForBlock) → head.truncate → WAL truncate), as the DB will.
// The parent kill -9s it at random moments.

import fs from 'node:fs';
import path from 'node:path';
import {readMetaFile, writeBlock} from '../../block/mod.ts';
import {Head} from '../mod.ts';

export const SERIES = 300;
export const STEP = 1000;
export const BLOCK_EVERY = 40;
export const value = (i: number, k: number): number => i * 100_000 + k + 0.5;

function main(): void {
  const dir = process.argv[2];
  const blocks = process.argv[3] === 'blocks';
  let minValid = -Infinity;
  for (const name of fs.readdirSync(dir)) {
    if (/^[0-9A-Z]{26}$/.test(name)) minValid = Math.max(minValid, readMetaFile(path.join(dir, name)).maxTime);
    else if (name.endsWith('.tmp-for-creation')) fs.rmSync(path.join(dir, name), {recursive: true, force: true});
  }
  const head = Head.open(path.join(dir, 'mm-wal'), {minValidTime: minValid, wal: {fsync: 'interval', fsyncIntervalMs: 50, segmentSize: 256 * 1024}});
  let k = head.maxTime === -Infinity ? (minValid === -Infinity ? 0 : minValid / STEP) : head.maxTime / STEP + 1;
  const refs: number[] = [];
  const tick = (): void => {
    const a = head.appender();
    for (let i = 0; i < SERIES; i++) {
      const stale = i === 0 && k % 7 === 0;
      refs[i] = a.append(refs[i] ?? {__name__: 'crash_test', i: String(i), job: 'x'}, k * STEP, value(i, k), stale);
    }
    const res = a.commit();
    if (res.appended !== SERIES) throw new Error(`batch ${k}: ${JSON.stringify(res.rejected)}`);
    process.stdout.write(`ack ${k}\n`);
    k++;
    if (blocks && k % BLOCK_EVERY === 0) {
      const mint = Math.max(0, minValid === -Infinity ? 0 : minValid);
      const maxt = (k - 10) * STEP;
      if (maxt > mint) {
        writeBlock(dir, head.seriesForBlock(mint, maxt), {minTime: mint, maxTime: maxt});
        minValid = maxt;
        void head.truncateWithWal(maxt).then(() => setTimeout(tick, 1), (e: unknown) => {
          throw e;
        });
        return;
      }
    }
    setTimeout(tick, 1 + Math.floor(Math.random() * 4));
  };
  tick();
}

if (process.argv[1] && import.meta.url.endsWith(path.basename(process.argv[1]))) main();
