import assert from 'node:assert/strict';
import {test} from 'node:test';
import {matcherTest} from './matcher.ts';
import {compileAnchored} from './regex.ts';

const matches = (re: string, v: string): boolean => compileAnchored(re).test(v);

test('RE2 syntax JS lacks: leading flags, (?P<name>), POSIX classes, \\z, lone brackets', () => {
  assert.ok(matches('(?i)mattermost', 'MatterMost'));
  assert.ok(!matches('mattermost', 'MatterMost'));
  assert.ok(matches('(?P<host>[a-z]+):8067', 'app:8067'));
  assert.ok(matches('[[:alpha:]]+[[:digit:]]', 'node7'));
  assert.ok(!matches('[[:alpha:]]+', 'node7'));
  assert.ok(matches('a\\z', 'a'));
  assert.ok(matches('a]b', 'a]b'));
  assert.ok(matches('x{y}', 'x{y}'));
  assert.ok(matches('x{2}', 'xx'));
});

test('anchored on both ends, as Prometheus does', () => {
  assert.ok(matches('app', 'app'));
  assert.ok(!matches('app', 'app-1'));
  assert.ok(!matches('app', 'my-app'));
  assert.ok(matches('a|b', 'b'), 'alternation stays inside the anchors');
  assert.ok(!matches('a|b', 'ab'));
});

test('`.` does not match a newline (Prometheus 2.42)', () => {
  assert.ok(!matches('a.b', 'a\nb'));
  assert.ok(matches('a.b', 'a-b'));
});

test('the store matchers take the same syntax as PromQL', () => {
  assert.ok(matcherTest({type: '=~', name: 'job', value: '(?i)MATTERMOST'})('mattermost'));
  assert.ok(!matcherTest({type: '!~', name: 'job', value: '[[:lower:]]+'})('abc'));
  assert.throws(() => matcherTest({type: '=~', name: 'job', value: '(unclosed'}));
});
