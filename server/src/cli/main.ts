// mm-metrics: the support engineer's tool for data dirs and dumps outside Mattermost.

import {parseArgs} from 'node:util';

import {parseDuration} from './durations.ts';
import {importFile} from './import.ts';
import {inspect, printReport} from './inspect.ts';
import type {CliIO} from './io.ts';
import {queryCommand, QueryUsageError} from './query.ts';
import {scrapeCommand} from './scrape.ts';

const usage = `usage: mm-metrics <command> [options]

commands:
  inspect <data-dir | dump.tar.gz> [--json]
      list blocks (range, series, samples, chunks, size) and verify every CRC and structure;
      exits 1 when anything is corrupt or no block is found
  import <openmetrics-file> <data-dir>
      append timestamped samples through the store (head, WAL) and flush them to blocks
  scrape <url>... --data-dir <dir> [--interval 15s] [--timeout 10s] [--duration 10m] [--job name]
      scrape Prometheus endpoints into a data dir; on Ctrl-C or after --duration, flush to blocks
  query <data-dir | dump.tar.gz> '<promql>' [--time T | --start S --end E --step D] [--timeout D]
      evaluate PromQL over the blocks and print the JSON the plugin's /api/v1/query (or
      query_range) answers; times are unix seconds or RFC 3339, steps seconds or durations (1m);
      without --time, at the newest sample; exits 1 when the answer is an error
  help
      this text
`;

/** Runs one command; returns the exit status. */
export async function run(argv: string[], io: CliIO): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'inspect': {
        const {positionals, values} = parseArgs({args: rest, allowPositionals: true, options: {json: {type: 'boolean'}}});
        if (positionals.length !== 1) throw new UsageError('inspect takes one data dir or .tar.gz');
        const report = await inspect(positionals[0]);
        printReport(report, io, values.json ?? false);
        return report.ok ? 0 : 1;
      }
      case 'import': {
        const {positionals} = parseArgs({args: rest, allowPositionals: true, options: {}});
        if (positionals.length !== 2) throw new UsageError('import takes a file and a data dir');
        const r = await importFile(positionals[0], positionals[1], io);
        const rejected = Object.entries(r.rejected).map(([k, n]) => `${n} ${k}`).join(', ');
        io.out(`imported ${r.appended} of ${r.samples} samples into ${r.blocks} new block(s)${rejected ? `; rejected: ${rejected}` : ''}`);
        return r.appended === r.samples ? 0 : 1;
      }
      case 'scrape': {
        const {positionals, values} = parseArgs({
          args: rest,
          allowPositionals: true,
          options: {'data-dir': {type: 'string'}, interval: {type: 'string'}, timeout: {type: 'string'}, duration: {type: 'string'}, job: {type: 'string'}},
        });
        if (positionals.length === 0) throw new UsageError('scrape needs at least one URL');
        if (!values['data-dir']) throw new UsageError('scrape needs --data-dir');
        const intervalMs = parseDuration(values.interval ?? '15s');
        const timeoutMs = Math.min(parseDuration(values.timeout ?? '10s'), intervalMs);
        const stop = new AbortController();
        const onSignal = (): void => stop.abort();
        process.once('SIGINT', onSignal);
        process.once('SIGTERM', onSignal);
        try {
          const r = await scrapeCommand(
            {
              urls: positionals,
              dataDir: values['data-dir'],
              intervalMs,
              timeoutMs,
              durationMs: values.duration ? parseDuration(values.duration) : undefined,
              job: values.job ?? 'mm-metrics',
              signal: stop.signal,
            },
            io,
          );
          io.out(`flushed into ${r.blocks} new block(s) in ${values['data-dir']}`);
          for (const d of r.down) io.err(`target down: ${d}`);
          return 0;
        } finally {
          process.off('SIGINT', onSignal);
          process.off('SIGTERM', onSignal);
        }
      }
      case 'query': {
        const {positionals, values} = parseArgs({
          args: rest,
          allowPositionals: true,
          options: {time: {type: 'string'}, start: {type: 'string'}, end: {type: 'string'}, step: {type: 'string'}, timeout: {type: 'string'}},
        });
        if (positionals.length !== 2) throw new UsageError("query takes a data dir or .tar.gz and one PromQL expression (quote it: 'sum(rate(x[5m]))')");
        return await queryCommand(positionals[0], positionals[1], values, io);
      }
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        io.out(usage);
        return command === undefined ? 2 : 0;
      default:
        throw new UsageError(`unknown command ${command}`);
    }
  } catch (err) {
    if (err instanceof UsageError || err instanceof QueryUsageError || (err as {code?: string}).code?.startsWith('ERR_PARSE_ARGS')) {
      io.err(`mm-metrics: ${(err as Error).message}\n\n${usage}`);
      return 2;
    }
    io.err(`mm-metrics: ${(err as Error).message}`);
    return 1;
  }
}

class UsageError extends Error {}
