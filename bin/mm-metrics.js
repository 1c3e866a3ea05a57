#!/usr/bin/env node
// Runs the mm-metrics CLI from the TypeScript sources (tsx), on any Node >= 20.
import {dirname, join} from 'node:path';
import {fileURLToPath} from 'node:url';
import {tsImport} from 'tsx/esm/api';

const here = dirname(fileURLToPath(import.meta.url));
const {run} = await tsImport(join(here, '../server/src/cli/main.ts'), import.meta.url);
const code = await run(process.argv.slice(2), {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
});
process.exitCode = code;
