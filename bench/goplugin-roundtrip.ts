// go-plugin round-trip benchmark: the same `harness bench` (a Go host playing an
// unmodified Mattermost server) against the Go reference plugin and against our
// executable, in one run, with ratios ours/Go.
//
//   node --import tsx bench/goplugin-roundtrip.ts [-n N] [--download-mib M]
//
// Our executable: $PLUGIN_EXE, else dist/<id>/server/dist/plugin-linux-<arch>.
// Latency ratios > 1 mean we are slower; the throughput ratio < 1 means we are slower.
import {buildHarness, REFPLUGIN, resolvePluginExe, runHarness} from '../test/conformance/goharness.ts';

interface Latency {
  n: number;
  p50_us: number;
  p99_us: number;
  mean_us: number;
}

interface BenchReport {
  plugin: string;
  handshake_ms: number;
  activate_ms: number;
  cluster_event: Latency;
  servehttp_hello: Latency;
  download: {bytes: number; seconds: number; mb_per_s: number; writes: number};
  errors?: string[];
}

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

function bench(exe: string, n: string, mib: string): BenchReport {
  const run = runHarness(['bench', '-plugin', exe, '-n', n, '-download-mib', mib], {timeoutMs: 20 * 60 * 1000});
  const line = run.stdout.split('\n').find((l) => l.startsWith('{'));
  if (!line) {
    throw new Error(`harness bench ${exe} printed no report (status ${run.status}):\n${run.stdout}\n${run.stderr.slice(-4000)}`);
  }
  const report = JSON.parse(line) as BenchReport;
  if (report.errors?.length) console.error(`warning: ${exe}: ${report.errors.join('; ')}`);
  return report;
}

const fmt = (x: number, digits = 1): string => x.toFixed(digits);
const ratio = (ours: number, go: number): string => (go > 0 ? `${fmt(ours / go, 2)}x` : 'n/a');

function main(): number {
  const n = arg('-n', '2000');
  const mib = arg('--download-mib', '256');
  const built = buildHarness();
  if (!built.ok) {
    console.error(built.output);
    return 1;
  }
  const target = resolvePluginExe();
  if (target.problem) {
    console.error(target.problem);
    return 1;
  }

  const go = bench(REFPLUGIN, n, mib);
  const ours = target.source === 'refplugin' ? undefined : bench(target.exe, n, mib);

  const rows: Array<[string, (r: BenchReport) => number, string]> = [
    ['handshake (ms)', (r) => r.handshake_ms, 'lower'],
    ['OnPluginClusterEvent p50 (µs)', (r) => r.cluster_event.p50_us, 'lower'],
    ['OnPluginClusterEvent p99 (µs)', (r) => r.cluster_event.p99_us, 'lower'],
    ['ServeHTTP hello p50 (µs)', (r) => r.servehttp_hello.p50_us, 'lower'],
    ['ServeHTTP hello p99 (µs)', (r) => r.servehttp_hello.p99_us, 'lower'],
    [`download ${mib} MiB (MB/s)`, (r) => r.download.mb_per_s, 'higher'],
  ];
  console.log(`go-plugin round trips, n=${n} (Go anchor: ${go.plugin})`);
  console.log(`${'metric'.padEnd(34)}${'Go'.padStart(12)}${'ours'.padStart(12)}${'ours/Go'.padStart(10)}  better`);
  for (const [name, get, better] of rows) {
    const g = get(go);
    const o = ours ? get(ours) : NaN;
    console.log(`${name.padEnd(34)}${fmt(g).padStart(12)}${(ours ? fmt(o) : '-').padStart(12)}${(ours ? ratio(o, g) : '-').padStart(10)}  ${better}`);
  }
  if (!ours) console.log('(our executable is not built: build it with `make dist` or set PLUGIN_EXE)');

  const summary = {
    n: Number(n),
    go,
    ours: ours ?? null,
    ratios: ours
      ? {
          cluster_event_p50: ours.cluster_event.p50_us / go.cluster_event.p50_us,
          cluster_event_p99: ours.cluster_event.p99_us / go.cluster_event.p99_us,
          servehttp_p50: ours.servehttp_hello.p50_us / go.servehttp_hello.p50_us,
          servehttp_p99: ours.servehttp_hello.p99_us / go.servehttp_hello.p99_us,
          download_throughput: ours.download.mb_per_s / go.download.mb_per_s,
        }
      : null,
  };
  console.log(JSON.stringify(summary));
  return 0;
}

process.exitCode = main();
