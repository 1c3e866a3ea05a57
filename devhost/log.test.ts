import assert from 'node:assert/strict';
import {test} from 'node:test';

import {DevLogger, fieldsFromKeyValues, formatEntry, StderrParser, type LogEntry} from './log.ts';

void test('readable lines: [source] level message k=v, quoting where needed', () => {
  assert.equal(formatEntry({source: 'plugin', level: 'info', message: 'metrics plugin activated', fields: {settings: '9'}}), '[plugin] info  metrics plugin activated settings=9');
  assert.equal(formatEntry({source: 'devhost', level: 'error', message: 'x', fields: {a: 'two words', b: '', c: 'k=v'}}), '[devhost] error x a="two words" b="" c="k=v"');
});

void test('stderr: hclog JSON lines, [LEVEL] prefixes, plain lines at debug, panics at error', () => {
  const p = new StderrParser();
  assert.deepEqual(p.parse('{"@level":"warn","@message":"slow","@timestamp":"2026-01-01T00:00:00.000000Z","ms":12,"obj":{"a":1}}'), {
    level: 'warn',
    message: 'slow',
    fields: {ms: '12', obj: '{"a":1}'},
  });
  assert.equal(p.parse('{"@level":"trace","@message":"t"}').level, 'debug');
  assert.equal(p.parse('{"@level":"bogus","@message":"t"}').level, 'error');
  assert.deepEqual(p.parse('[WARN] careful'), {level: 'warn', message: 'careful', fields: {}});
  assert.deepEqual(p.parse('just text'), {level: 'debug', message: 'just text', fields: {}});
  assert.equal(p.parse('{not json').level, 'debug');
  assert.equal(p.parse('panic: oh no').level, 'error');
  assert.equal(p.parse('goroutine 1 [running]:').level, 'error', 'every later plain line is an error');
});

void test('API log fields: alternating keys and values; an odd element is flagged', () => {
  assert.deepEqual(fieldsFromKeyValues(['a', '1', 'b', '2']), {a: '1', b: '2'});
  assert.deepEqual(fieldsFromKeyValues(['a', '1', 'dangling']), {a: '1', '!BADKEY': 'dangling'});
});

void test('the logger filters by level but keeps everything in recent', () => {
  const printed: string[] = [];
  const seen: LogEntry[] = [];
  const log = new DevLogger({level: 'info', write: (l) => void printed.push(l), keep: 3});
  const off = log.onEntry((e) => void seen.push(e));
  log.debug('quiet');
  log.info('loud', {n: 1});
  log.log('plugin', 'warn', 'from stream', {}, 'plugin_stdout');
  off();
  log.error('e1');
  log.error('e2');
  assert.deepEqual(printed, ['[devhost] info  loud n=1', '[plugin] warn  from stream source=plugin_stdout', '[devhost] error e1', '[devhost] error e2']);
  assert.equal(seen.length, 3);
  assert.deepEqual(log.recent.map((e) => e.message), ['from stream', 'e1', 'e2']);
});
