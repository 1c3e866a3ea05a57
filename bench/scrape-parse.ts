// Exposition parser benchmark: a Mattermost-like exposition (default 15 000 samples, the
// size spec/upstream-dashboard.md estimates for one node) in text 0.0.4 and OpenMetrics,
// parsed by server/src/scrape/parser (labels sorted, target labels applied, limits on).
//
//   node --import tsx bench/scrape-parse.ts [--series 15000] [--runs 200]
//
// Prints ms per parse (median, p99), samples/s and MB/s; the anchor is a bare loop that
// reads every character of the decoded body once (the floor for any JS tokenizer).

import {parse} from '../server/src/scrape/parser/mod.ts';
import {mattermostExposition} from '../server/src/scrape/parser/testing/mattermost.ts';
import {arg, out} from './cli.ts';

const series = Number(arg('series', '15000'));
const runs = Number(arg('runs', '200'));

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
}

const target = {
  labels: [
    {name: 'job', value: 'prometheus'},
    {name: 'instance', value: 'mattermost-1:8067'},
  ],
  honorLabels: false,
  honorTimestamps: true,
  scrapeTime: Date.now(),
};

out(`| format | body (MB) | samples | parse median (ms) | parse p99 (ms) | samples/s | MB/s | char-loop floor (ms) |`);
out(`| --- | --- | --- | --- | --- | --- | --- | --- |`);
for (const format of ['text', 'openmetrics'] as const) {
  const body = Buffer.from(mattermostExposition({series, format}));
  const ct = format === 'text' ? 'text/plain; version=0.0.4; charset=utf-8' : 'application/openmetrics-text; version=1.0.0; charset=utf-8';
  const opts = {sampleLimit: 1_000_000, labelLimit: 64, labelNameLengthLimit: 256, labelValueLengthLimit: 4096, target};
  let n = 0;
  for (let i = 0; i < 20; i++) n = parse(body, ct, opts).samples.length; // warm-up
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    parse(body, ct, opts);
    times.push(performance.now() - t0);
  }
  const s = body.toString('utf8');
  const floor: number[] = [];
  for (let i = 0; i < 50; i++) {
    const t0 = performance.now();
    let x = 0;
    for (let j = 0; j < s.length; j++) x = (x + s.charCodeAt(j)) | 0;
    floor.push(performance.now() - t0);
    if (x === 42) out('');
  }
  const med = quantile(times, 0.5);
  out(
    `| ${format} | ${(body.length / 1e6).toFixed(2)} | ${n} | ${med.toFixed(2)} | ${quantile(times, 0.99).toFixed(2)} | ` +
      `${Math.round(n / (med / 1000)).toLocaleString('en-US')} | ${(body.length / 1e6 / (med / 1000)).toFixed(0)} | ${quantile(floor, 0.5).toFixed(2)} |`,
  );
}
