// Where the CLI's output goes; bin/mm-metrics.js binds it to the terminal, tests capture it.
export interface CliIO {
  out(line: string): void;
  err(line: string): void;
}
