// `make run`: the dev host from the environment. See devhost/README.md.
//   DEVHOST_DIR            state directory (default .devhost/ in the repository)
//   DEVHOST_PORT           main HTTP port (default 8065; 0 = any free port)
//   DEVHOST_METRICS_PORT   metrics port (default 8067; 0 = any free port)
//   DEVHOST_PLUGIN_EXE     unset = built executable (tsx if missing), "tsx", or a path
//   DEVHOST_LICENSE        enterprise (default) | none
//   DEVHOST_LOG_LEVEL      debug (default) | info | warn | error
//   DEVHOST_SERIES         series on the synthetic server's /metrics (default 2500)

import {spawnSync} from 'node:child_process';
import path from 'node:path';

import {webappBundleStale} from './console.ts';
import {repoRoot, startDevHost, type DevHost} from './devhost.ts';
import {isLevel} from './log.ts';
import {isLicenseKind} from './state.ts';
import {parseSeriesKnob} from './synthetic.ts';

function fail(message: string): never {
  process.stderr.write(`[devhost] error ${message}\n`);
  process.exit(1);
}

function port(name: string, fallback: number): number {
  const v = process.env[name];
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) fail(`${name}=${v}: not a port number`);
  return n;
}

const env = process.env;
const license = env.DEVHOST_LICENSE || 'enterprise';
if (!isLicenseKind(license)) fail(`DEVHOST_LICENSE=${license}: use enterprise or none`);
const logLevel = env.DEVHOST_LOG_LEVEL || 'debug';
if (!isLevel(logLevel)) fail(`DEVHOST_LOG_LEVEL=${logLevel}: use debug, info, warn or error`);
let series: number | undefined;
try {
  series = parseSeriesKnob(env.DEVHOST_SERIES);
} catch (err) {
  fail((err as Error).message);
}

let devhost: DevHost | undefined;
process.on('unhandledRejection', (err) => {
  // A dev tool keeps running; the message is what matters.
  process.stderr.write(`[devhost] error unhandled rejection: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
});

let stopping = false;
function shutdown(signal: NodeJS.Signals): void {
  if (stopping) {
    // Second Ctrl-C: do not wait any longer, but leave no plugin process behind.
    const pid = devhost?.pluginPid();
    if (pid) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    process.exit(1);
  }
  stopping = true;
  devhost?.logger.info('shutting down', {signal});
  if (!devhost) return; // startup finishes, then stops (see below)
  devhost.stop().then(
    () => process.exit(0),
    (err: Error) => {
      process.stderr.write(`[devhost] error shutdown failed: ${err.message}\n`);
      process.exit(1);
    },
  );
}
process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);

// The console page loads webapp/dist/main.js: rebuilt here when the sources are newer (0.2 s),
// so `DEVHOST_PLUGIN_EXE=tsx` (no `make dist`) shows the current webapp too.
if (webappBundleStale(repoRoot)) {
  const built = spawnSync(process.execPath, [path.join(repoRoot, 'webapp/build.mjs')], {cwd: repoRoot, stdio: 'inherit'});
  if (built.status !== 0) process.stderr.write('[devhost] warn  the webapp did not build: the console page will show the error\n');
}

try {
  devhost = await startDevHost({
    dir: env.DEVHOST_DIR ? path.resolve(env.DEVHOST_DIR) : undefined,
    port: port('DEVHOST_PORT', 8065),
    metricsPort: port('DEVHOST_METRICS_PORT', 8067),
    pluginExe: env.DEVHOST_PLUGIN_EXE || undefined,
    license,
    logLevel,
    series,
  });
} catch (err) {
  fail((err as Error).message);
}
if (stopping) {
  await devhost.stop();
  process.exit(0);
}
devhost.logger.info('ready', {
  url: devhost.url,
  metrics: `${devhost.metricsUrl}/plugins/${devhost.pluginId}/metrics`,
  plugin_pid: devhost.pluginPid(),
  dir: devhost.dir,
  license,
  console: `http://localhost:${devhost.port}/`,
});
