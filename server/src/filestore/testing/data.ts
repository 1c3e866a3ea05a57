// Test/benchmark data: deterministic pseudo-random streams and RSS sampling.

import {createHash} from 'node:crypto';
import {Readable} from 'node:stream';
import v8 from 'node:v8';
import vm from 'node:vm';

/** A Readable of `size` pseudo-random bytes in `chunk`-sized pieces; `digest()` once it has ended. */
export function generatedStream(size: number, seed = 1, chunk = 64 * 1024): {stream: Readable; digest: () => string; produced: () => number} {
  const hash = createHash('sha256');
  let produced = 0;
  let x = seed >>> 0 || 1;
  let hex = '';
  function* gen(): Generator<Buffer> {
    while (produced < size) {
      const n = Math.min(chunk, size - produced);
      const b = Buffer.allocUnsafe(n);
      for (let i = 0; i + 4 <= n; i += 4) {
        x ^= x << 13;
        x ^= x >>> 17;
        x ^= x << 5;
        b.writeUInt32LE(x >>> 0, i);
      }
      for (let i = n - (n % 4); i < n; i++) b[i] = i & 0xff;
      hash.update(b);
      produced += n;
      if (produced === size) hex = hash.digest('hex');
      yield b;
    }
    if (size === 0) hex = hash.digest('hex');
  }
  return {stream: Readable.from(gen(), {objectMode: false}), digest: () => hex, produced: () => produced};
}

export function sha256(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

let gcFn: (() => void) | undefined;
/** Forces a full GC (enables --expose-gc at run time). */
export function forceGc(): void {
  if (!gcFn) {
    v8.setFlagsFromString('--expose-gc');
    gcFn = vm.runInNewContext('gc') as () => void;
  }
  gcFn();
}

/**
 * Samples RSS every `everyMs` until stopped; returns the peak. With `gc`, forces a full GC
 * before each sample, so that the figure follows live memory rather than garbage that V8
 * has not collected yet (a fast writer allocates its chunks faster than V8 frees them).
 */
export function rssSampler(everyMs = 5, opts: {gc?: boolean} = {}): {stop: () => number} {
  let peak = process.memoryUsage.rss();
  const t = setInterval(() => {
    if (opts.gc) forceGc();
    peak = Math.max(peak, process.memoryUsage.rss());
  }, everyMs);
  return {
    stop() {
      clearInterval(t);
      return Math.max(peak, process.memoryUsage.rss());
    },
  };
}
