import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import {test} from 'node:test';
import {fileURLToPath} from 'node:url';

import {changedSettings, defaultSettings, parseSettings, requireValidSettings, settingSpecs, SettingsError} from './mod.ts';

const manifest = JSON.parse(
  fs.readFileSync(path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../plugin.json'), 'utf8'),
) as {settings_schema: {settings: Array<{key: string; type: string; default?: unknown}>}};

void test('plugin.json and the settings table agree on keys and defaults', () => {
  const schema = manifest.settings_schema.settings.filter((s) => s.type !== 'custom');
  assert.deepEqual(
    schema.map((s) => [s.key, s.default]),
    settingSpecs.map((s) => [s.key, s.default]),
  );
  for (const s of schema) assert.ok(['text', 'number', 'bool'].includes(s.type), s.key);
});

void test('keys match in any case; numbers and booleans may arrive as strings', () => {
  const {settings, problems} = parseSettings({scrapeintervalseconds: '30', SCRAPETIMEOUTSECONDS: 5, HonorLabels: 'true', dbpath: ' data/x '});
  assert.deepEqual(problems, []);
  assert.equal(settings.scrapeIntervalSeconds, 30);
  assert.equal(settings.scrapeTimeoutSeconds, 5);
  assert.equal(settings.honorLabels, true);
  assert.equal(settings.dbPath, 'data/x');
  assert.equal(settings.nodeExporterPort, 9100, 'missing → default');
  assert.deepEqual(parseSettings(undefined).settings, defaultSettings);
  assert.deepEqual(parseSettings({stats: null, dumps: null, scrapeintervalseconds: null}).problems, []);
});

void test('invalid values are reported with the key, the limit and the value', () => {
  const {problems} = parseSettings({
    ScrapeIntervalSeconds: 0,
    NodeExporterPort: 70000,
    SampleLimit: -1,
    HonorTimestamps: 'yes',
    BodySizeLimitBytes: 'lots',
    SupportPacketMetricsDays: 0,
    DBPath: 5,
  });
  assert.deepEqual(problems, [
    'DBPath must be text',
    'ScrapeIntervalSeconds must be between 1 and 3600, got 0',
    'HonorTimestamps must be true or false, got "yes"',
    'BodySizeLimitBytes must be a whole number, got "lots"',
    'SampleLimit must be at least 0 (0 means no limit), got -1',
    'NodeExporterPort must be between 1 and 65535, got 70000',
    'SupportPacketMetricsDays must be between 1 and 30 (at least one day of metrics goes into the Support Packet), got 0',
  ]);
  assert.throws(() => requireValidSettings({ScrapeIntervalSeconds: 10, ScrapeTimeoutSeconds: 20}), (e: unknown) => {
    assert.ok(e instanceof SettingsError);
    assert.deepEqual(e.problems, ['ScrapeTimeoutSeconds (20) must not exceed ScrapeIntervalSeconds (10)']);
    return true;
  });
});

void test('changedSettings lists what differs', () => {
  const a = requireValidSettings({});
  const b = requireValidSettings({ScrapeIntervalSeconds: 15, SampleLimit: 100});
  assert.deepEqual(changedSettings(a, b), ['scrapeIntervalSeconds', 'sampleLimit']);
});
