// Block writer benchmark: the same OpenMetrics input through our writer
// (server/src/tsdb/block) and through `promtool tsdb create-blocks-from openmetrics`.
//
//   node --import tsx bench/tsdb-block.ts [--om FILE] [--series-per-family 200] [--samples 720] [--jitter]
//
// Prints bytes/sample of the resulting blocks (chunks + index + meta + tombstones), the
// write-time ratio, and our XOR append throughput. promtool is used when on PATH
// (Debian: apt-get install prometheus); otherwise only our figures are printed.

import {spawnSync} from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {XORAppender} from '../server/src/tsdb/chunkenc/xor.ts';
import {writeBlock} from '../server/src/tsdb/block/writer.ts';
import {generateOpenMetrics, parseOpenMetrics, splitWindows} from '../server/src/tsdb/testing/openmetrics.ts';
import {arg, flag, out} from './cli.ts';


function dirBytes(d: string): number {
  let n = 0;
  for (const e of fs.readdirSync(d, {withFileTypes: true})) {
    const p = path.join(d, e.name);
    n += e.isDirectory() ? dirBytes(p) : fs.statSync(p).size;
  }
  return n;
}

function chunkBytes(d: string): number {
  let n = 0;
  for (const b of fs.readdirSync(d)) {
    const c = path.join(d, b, 'chunks');
    if (fs.existsSync(c)) n += dirBytes(c);
  }
  return n;
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-tsdb-'));
try {
  const omFile = arg('om', '');
  const text = omFile
    ? fs.readFileSync(omFile, 'utf8')
    : generateOpenMetrics({
        seriesPerFamily: Number(arg('series-per-family', '200')),
        samples: Number(arg('samples', '720')),
        jitter: flag('jitter'),
      });
  const om = path.join(tmp, 'in.om');
  fs.writeFileSync(om, text);

  const t0 = performance.now();
  const parsed = parseOpenMetrics(text);
  const t1 = performance.now();
  const windows = splitWindows(parsed);
  let samples = 0;
  for (const s of parsed) samples += s.samples.length;
  const oursDir = path.join(tmp, 'ours');
  const t2 = performance.now();
  for (const [, series] of windows) writeBlock(oursDir, series, {chunkRange: 4 * 3600 * 1000});
  const t3 = performance.now();
  const oursBytes = dirBytes(oursDir);
  out(`input: ${parsed.length} series, ${samples} samples, ${windows.size} 2h windows (${(text.length / 1e6).toFixed(1)} MB OpenMetrics)`);
  out(`ours:     ${(oursBytes / samples).toFixed(4)} bytes/sample (chunks ${(chunkBytes(oursDir) / samples).toFixed(4)}), parse ${(t1 - t0).toFixed(0)} ms + write ${(t3 - t2).toFixed(0)} ms`);

  const ptDir = path.join(tmp, 'promtool');
  const p0 = performance.now();
  const r = spawnSync('promtool', ['tsdb', 'create-blocks-from', 'openmetrics', om, ptDir], {encoding: 'utf8'});
  const p1 = performance.now();
  if (r.error || r.status !== 0) {
    out(`promtool: not available (${r.error?.message ?? r.stderr.trim()})`);
  } else {
    const ptBytes = dirBytes(ptDir);
    const v = spawnSync('promtool', ['--version'], {encoding: 'utf8'}).stdout.split('\n')[0];
    out(`promtool: ${(ptBytes / samples).toFixed(4)} bytes/sample (chunks ${(chunkBytes(ptDir) / samples).toFixed(4)}), parse+write ${(p1 - p0).toFixed(0)} ms  [${v}]`);
    out(`ratio ours/promtool: size ${(oursBytes / ptBytes).toFixed(4)}x, time (parse+write) ${((t3 - t2 + t1 - t0) / (p1 - p0)).toFixed(2)}x, time (write only) ${((t3 - t2) / (p1 - p0)).toFixed(2)}x`);
  }

  // XOR append throughput on the parsed input (values as numbers, 120-sample chunks).
  const app = new XORAppender();
  let n = 0;
  const a0 = performance.now();
  for (let rep = 0; rep < 3; rep++) {
    for (const s of parsed) {
      app.reset();
      for (const x of s.samples) {
        if (app.numSamples() === 120) app.reset();
        app.append(x.t, x.v);
        n++;
      }
    }
  }
  const a1 = performance.now();
  out(`XOR append: ${((n / (a1 - a0)) * 1000 / 1e6).toFixed(2)} M samples/s (one core, ${n} appends)`);
} finally {
  fs.rmSync(tmp, {recursive: true, force: true});
}
