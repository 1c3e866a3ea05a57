// Protocol conformance against an unmodified-Mattermost stand-in: builds the Go
// harness (test/goharness, hashicorp/go-plugin from Debian packages), runs
// `harness conformance -plugin <exe>` and turns every "ok"/"not ok" line into its own
// test. The executable is $PLUGIN_EXE, else the built bundle's
// dist/<id>/server/dist/plugin-linux-<arch>, else the Go reference plugin.
//
// A second group proves the harness itself: the reference plugin with one injected
// fault (REFPLUGIN_FAULT) must make exactly the matching check fail.
// GOHARNESS_SELFTEST=0 skips that group.
//
//   node --import tsx --test test/conformance/conformance.test.ts
//   PLUGIN_EXE=/path/to/plugin node --import tsx --test test/conformance/conformance.test.ts
import {test} from 'node:test';
import assert from 'node:assert/strict';
import {spawnSync} from 'node:child_process';

import {buildHarness, HARNESS, REFPLUGIN, resolvePluginExe, runHarness, type HarnessRun} from './goharness.ts';

/** The stderr block the harness prints for a failed scenario ("--- <name> failed ..."). */
function failureBlock(run: HarnessRun, name: string): string {
  const lines = run.stderr.split('\n');
  const start = lines.findIndex((l) => l.startsWith(`--- ${name} failed`));
  if (start < 0) return '';
  let end = lines.findIndex((l, i) => i > start && l.startsWith('--- '));
  if (end < 0) end = lines.length;
  return lines.slice(start, end).slice(-60).join('\n');
}

const build = buildHarness();

if (!build.ok) {
  test('goharness build', () => {
    assert.fail(`test/goharness/build.sh failed:\n${build.output.slice(-6000)}`);
  });
} else {
  const target = resolvePluginExe();
  const scenarios = spawnSync(HARNESS, ['list'], {encoding: 'utf8'}).stdout.split('\n').filter(Boolean);

  if (target.problem) {
    test('conformance target', () => assert.fail(target.problem));
  } else {
    const run = runHarness(['conformance', '-plugin', target.exe]);
    const label = target.source === 'refplugin' ? ' [Go refplugin: our executable is not built]' : '';

    for (const c of run.checks) {
      test(`conformance ${c.name}${label}`, (t) => {
        if (c.text) t.diagnostic(c.text);
        if (!c.ok) assert.fail(`${c.text}\n${failureBlock(run, c.name)}`);
      });
    }

    test(`conformance run complete${label}`, (t) => {
      t.diagnostic(`plugin: ${target.exe} (${target.source})`);
      assert.equal(run.error, undefined, `harness did not finish: ${run.error}\n${run.stderr.slice(-4000)}`);
      const seen = new Set(run.checks.map((c) => c.name));
      const missing = scenarios.filter((s) => !seen.has(s));
      assert.deepEqual(missing, [], `scenarios without a result line:\n${run.stdout}\n${run.stderr.slice(-4000)}`);
      assert.ok(run.summary, `no summary line in harness output:\n${run.stdout}`);
      const failed = run.checks.filter((c) => !c.ok).length;
      assert.equal(run.summary.failed, failed);
      assert.equal(run.status, failed > 0 ? 1 : 0, `harness exit status ${run.status} (signal ${run.signal})`);
    });
  }

  // Harness self-test: each injected fault must be caught by its scenario.
  const faults: Array<[fault: string, scenario: string, reason: RegExp]> = [
    ['slow-handshake', 'handshake', /timeout while waiting for plugin to start/],
    ['implemented-short', 'activate', /lacks \[ServeMetrics\]/],
    ['no-config-load', 'activate', /LoadPluginConfiguration/],
    ['no-driver-dial', 'activate', /never dialed the Driver/],
    ['activate-error', 'activate', /injected activation failure/],
    ['bad-hello', 'servehttp-basic', /Content-Type/],
    ['no-body-dial', 'servehttp-basic', /request body stream/],
    ['echo-truncate', 'servehttp-upload', /"bytes":1048576/],
    ['download-corrupt', 'servehttp-download', /byte 10 is 11/],
    ['api-skip-save', 'api', /SavePluginConfig/],
    ['ignore-quit', 'quit', /did not exit by itself/],
    ['linger', 'conn-drop', /still running/],
    ['stdout-noise', 'stdout-clean', /noise on stdout/],
  ];
  for (const [fault, scenario, reason] of faults) {
    test(`goharness self-test: REFPLUGIN_FAULT=${fault} fails ${scenario}`, {skip: process.env.GOHARNESS_SELFTEST === '0'}, () => {
      const run = runHarness(['conformance', '-plugin', REFPLUGIN, '-only', scenario], {
        env: {...process.env, REFPLUGIN_FAULT: fault},
        timeoutMs: 2 * 60 * 1000,
      });
      assert.equal(run.checks.length, 1, `expected one result line:\n${run.stdout}\n${run.stderr.slice(-3000)}`);
      const [c] = run.checks;
      assert.equal(c.name, scenario);
      assert.equal(c.ok, false, `fault ${fault} went unnoticed: ${c.text}`);
      assert.match(c.text, reason);
      assert.equal(run.status, 1);
    });
  }
}
