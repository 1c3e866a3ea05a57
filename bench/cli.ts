// What every benchmark needs from its command line and for its report.

const argv = process.argv.slice(2);

/** The value after `--<name>`, or `fallback`. */
export function arg(name: string, fallback: string): string {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < argv.length ? argv[i + 1] : fallback;
}

/** Whether the flag `--<name>` is given. */
export function flag(name: string): boolean {
  return argv.includes(`--${name}`);
}

/** One line of the report (benchmarks print to stdout; the plugin never does). */
export function out(line: string): boolean {
  return process.stdout.write(`${line}\n`);
}

export function median(xs: readonly number[]): number {
  return [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
}
