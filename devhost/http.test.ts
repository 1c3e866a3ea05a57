import assert from 'node:assert/strict';
import {test} from 'node:test';

import {actingUser, goHeaders, parseCookies, pluginQuery, sniffContentType, stripForPlugin, stripPrefix} from './http.ts';

void test('acting user: X-Devhost-User, else the devhost_user cookie, else admin', () => {
  assert.equal(actingUser({}), 'admin');
  assert.equal(actingUser({'x-devhost-user': 'Member'}), 'member');
  assert.equal(actingUser({'x-devhost-user': 'anonymous'}), 'anonymous');
  assert.equal(actingUser({cookie: 'a=b; devhost_user=member'}), 'member');
  assert.equal(actingUser({'x-devhost-user': 'admin', cookie: 'devhost_user=member'}), 'admin');
  assert.equal(actingUser({'x-devhost-user': 'root'}), undefined);
});

void test('headers become Go http.Header: canonical keys, repeated values kept, Host moved out', () => {
  const h = goHeaders(['host', 'x:1', 'accept', 'a', 'x-custom-THING', '1', 'X-Custom-Thing', '2', 'transfer-encoding', 'chunked', 'x-devhost-user', 'member']);
  assert.deepEqual(h, {Accept: ['a'], 'X-Custom-Thing': ['1', '2']});
});

void test("credentials and identity are stripped like Mattermost's servePluginRequest", () => {
  const h = stripForPlugin(
    {
      Authorization: ['Bearer t'],
      Referer: ['http://x'],
      'Mattermost-User-Id': ['spoofed'],
      'Mattermost-Plugin-Id': ['other'],
      Cookie: ['MMAUTHTOKEN=secret; theme=dark; devhost_user=admin', 'MMUSERID=u1'],
      Accept: ['*/*'],
    },
    'uid',
  );
  assert.deepEqual(h, {Accept: ['*/*'], Cookie: ['theme=dark; MMUSERID=u1'], 'Mattermost-User-Id': ['uid']});
  assert.deepEqual(stripForPlugin({'Mattermost-User-Id': ['spoofed'], Cookie: ['MMAUTHTOKEN=x']}, undefined), {});
});

void test('query: access_token removed, keys sorted (url.Values.Encode)', () => {
  assert.equal(pluginQuery('?b=2&access_token=t&a=1&b=1'), '?a=1&b=2&b=1');
  assert.equal(pluginQuery('?access_token=t'), '');
  assert.equal(pluginQuery(''), '');
});

void test('prefix stripping follows the routes', () => {
  const id = '/plugins/com.x';
  assert.equal(stripPrefix('/plugins/com.x/api/v1', id, true), '/api/v1');
  assert.equal(stripPrefix('/plugins/com.x', id, true), '');
  assert.equal(stripPrefix('/plugins/com.xyz/a', id, true), undefined);
  assert.equal(stripPrefix('/plugins/com.x/metricsfoo', `${id}/metrics`, false), 'foo');
  assert.equal(stripPrefix('/other', id, true), undefined);
});

void test('cookies and content sniffing', () => {
  assert.deepEqual(parseCookies('a=1; b = 2 ;bad; c=x=y'), [['a', '1'], ['b', '2'], ['c', 'x=y']]);
  assert.equal(sniffContentType(Buffer.from('  <!DOCTYPE html><html>')), 'text/html; charset=utf-8');
  assert.equal(sniffContentType(Buffer.from('{"a":1}')), 'text/plain; charset=utf-8');
  assert.equal(sniffContentType(Buffer.from([0x1f, 0x8b, 0x08, 0])), 'application/x-gzip');
  assert.equal(sniffContentType(Buffer.from([0, 1, 2, 3])), 'application/octet-stream');
});
