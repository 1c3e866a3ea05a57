// mm-metrics: the support engineer's tool for data dirs and dumps outside Mattermost.

import {parseArgs} from 'node:util';

import {inspect, printReport} from './inspect.ts';
import type {CliIO} from './io.ts';

const usage = `usage: mm-metrics <command> [options]

commands:
  inspect <data-dir | dump.tar.gz> [--json]
      list blocks (range, series, samples, chunks, size) and verify every CRC and structure;
      exits 1 when anything is corrupt or no block is found
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
    if (err instanceof UsageError || (err as {code?: string}).code?.startsWith('ERR_PARSE_ARGS')) {
      io.err(`mm-metrics: ${(err as Error).message}\n\n${usage}`);
      return 2;
    }
    io.err(`mm-metrics: ${(err as Error).message}`);
    return 1;
  }
}

class UsageError extends Error {}
