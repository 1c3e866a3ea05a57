// The Go reference plugin (test/goharness/refplugin, built by test/goharness/build.sh)
// under the dev host: Go's encoding/gob must decode every reply the fake API sends
// (Config, License, AppError, KV results) exactly as the TS plugin sees them.
// Skipped when the Go build is not there.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {test} from 'node:test';

import {repoRoot, startDevHost} from './devhost.ts';

const refplugin = path.join(process.env.GOHARNESS_OUT ?? path.join(repoRoot, '.cache', 'goharness'), 'refplugin');

void test('the Go reference plugin runs the conformance API script under the dev host', {skip: !fs.existsSync(refplugin) && `${refplugin} not built (test/goharness/build.sh)`}, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'devhost-goref-'));
  const h = await startDevHost({dir, port: 0, metricsPort: 0, pluginExe: refplugin, logWrite: () => {}});
  try {
    const hello = await fetch(`${h.url}/plugins/${h.pluginId}/conformance/hello`, {headers: {'X-Devhost-User': 'member'}});
    assert.equal(await hello.text(), `hello ${h.users.member.id}`);
    const r = await fetch(`${h.url}/plugins/${h.pluginId}/conformance/api`, {method: 'POST'});
    assert.equal(r.status, 200);
    const out = (await r.json()) as Record<string, unknown>;
    assert.equal(out.errors, undefined, JSON.stringify(out.errors));
    assert.equal(out.serverVersion, '10.11.0-devhost');
    assert.equal(out.configDataSource, '*'.repeat(32));
    assert.match(String(out.unsanitizedDataSource), /^postgres:\/\//);
    assert.equal(out.siteURL, `http://localhost:${h.port}`);
    assert.equal(out.metricsListen, `:${h.metricsPort}`);
    assert.equal(out.metricsEnable, true);
    assert.equal(out.s3ssl, true);
    assert.equal(out.pluginSetting, 60);
    assert.equal(out.licenseId, 'devhostlicense000000000000');
    assert.equal(out.licenseMetrics, true);
    assert.equal(out.diagnosticId, h.state.diagnosticId);
    assert.equal(out.installDate, h.state.installDate);
    assert.deepEqual(
      [out.kvGet, out.casOk, out.casWrong, out.mutexFirst, out.mutexSecond, out.cadOk, out.kvGetAfterDelete, out.kvList, out.missingMethodError],
      ['v1', true, false, true, false, true, null, ['k2', 'mutex_x'], true],
    );
    assert.equal((out.loadedConfig as Record<string, unknown>).scrapeintervalseconds, 60);
  } finally {
    await h.stop();
    fs.rmSync(dir, {recursive: true, force: true});
  }
});
