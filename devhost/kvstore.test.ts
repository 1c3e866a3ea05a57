import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {after, test} from 'node:test';

import {KVError, KVStore} from './kvstore.ts';

const b = (s: string): Buffer => Buffer.from(s);

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await fs.rm(d, {recursive: true, force: true});
});

async function tmpFile(): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'devhost-kv-'));
  dirs.push(dir);
  return path.join(dir, 'kv.json');
}

function clock(start = 1_700_000_000_000): {now: () => number; advance: (ms: number) => void} {
  let t = start;
  return {now: () => t, advance: (ms) => void (t += ms)};
}

void test('set, get, delete; nil and empty values delete', async () => {
  const kv = await KVStore.open();
  await kv.set('a', b('1'));
  assert.deepEqual(kv.get('a'), b('1'));
  await kv.set('a', null);
  assert.equal(kv.get('a'), undefined);
  await kv.set('a', b('2'));
  await kv.set('a', new Uint8Array(0));
  assert.equal(kv.get('a'), undefined);
  await kv.set('a', b('3'));
  await kv.delete('a');
  await kv.delete('never-there');
  assert.equal(kv.get('a'), undefined);
});

void test('get returns a copy', async () => {
  const kv = await KVStore.open();
  const v = b('abc');
  await kv.set('k', v);
  v[0] = 0x7a;
  const got = kv.get('k')!;
  got[1] = 0x7a;
  assert.deepEqual(kv.get('k'), b('abc'));
});

void test('expiry with an injectable clock: expired keys are missing everywhere', async () => {
  const c = clock();
  const kv = await KVStore.open({now: c.now});
  await kv.set('short', b('x'), 10);
  await kv.setWithOptions('opt', b('y'), {expireInSeconds: 5});
  await kv.set('forever', b('z'));
  c.advance(4_999);
  assert.deepEqual(kv.get('opt'), b('y'));
  c.advance(1);
  assert.equal(kv.get('opt'), undefined, 'expired at exactly expireAt');
  assert.deepEqual(kv.list(0, 100), ['forever', 'short']);
  c.advance(5_000);
  assert.equal(kv.get('short'), undefined);
  assert.deepEqual(kv.list(0, 100), ['forever']);
  // An expired key counts as absent for set-if-absent and never matches compare-and-set.
  assert.equal(await kv.compareAndSet('short', b('x'), b('new')), false);
  assert.equal(await kv.setWithOptions('short', b('new'), {atomic: true, oldValue: null}), true);
  assert.deepEqual(kv.get('short'), b('new'));
  // A negative expiry is stored already expired (Mattermost: expireAt = now + s*1000).
  await kv.set('neg', b('v'), -1);
  assert.equal(kv.get('neg'), undefined);
});

void test('KVSetWithOptions: atomic set-if-absent, compare-and-set, compare-and-delete', async () => {
  const kv = await KVStore.open();
  const lock = {atomic: true, oldValue: null, expireInSeconds: 15};
  assert.equal(await kv.setWithOptions('mutex_x', b('\x01'), lock), true);
  assert.equal(await kv.setWithOptions('mutex_x', b('\x01'), lock), false);
  // refresh: compare-and-set with the held value
  assert.equal(await kv.setWithOptions('mutex_x', b('\x01'), {atomic: true, oldValue: b('\x01'), expireInSeconds: 15}), true);
  assert.equal(await kv.setWithOptions('mutex_x', b('\x02'), {atomic: true, oldValue: b('\x09')}), false);
  // atomic + nil value = compare-and-delete; with nil oldValue too = nothing done
  assert.equal(await kv.setWithOptions('mutex_x', null, {atomic: true, oldValue: null}), false);
  assert.equal(await kv.setWithOptions('mutex_x', null, {atomic: true, oldValue: b('\x09')}), false);
  assert.equal(await kv.setWithOptions('mutex_x', null, {atomic: true, oldValue: b('\x01')}), true);
  assert.equal(kv.get('mutex_x'), undefined);
  // unlock the way pluginapi's mutex does: non-atomic nil value
  await kv.setWithOptions('m2', b('\x01'), lock);
  assert.equal(await kv.setWithOptions('m2', null, {}), true);
  assert.equal(kv.get('m2'), undefined);
});

void test('OldValue without Atomic and bad keys are AppErrors', async () => {
  const kv = await KVStore.open();
  await assert.rejects(kv.setWithOptions('k', b('v'), {oldValue: b('x')}), (err: unknown) => err instanceof KVError && err.id === 'model.plugin_kvset_options.is_valid.old_value.app_error');
  await assert.rejects(kv.set('', b('v')), KVError);
  await assert.rejects(kv.set('x'.repeat(151), b('v')), KVError);
  await kv.set('é'.repeat(150), b('v')); // 150 runes is fine
});

void test('KVCompareAndSet and KVCompareAndDelete', async () => {
  const kv = await KVStore.open();
  await kv.set('k1', b('v1'));
  assert.equal(await kv.compareAndSet('k1', b('v1'), b('v1b')), true);
  assert.equal(await kv.compareAndSet('k1', b('wrong'), b('x')), false);
  assert.equal(await kv.compareAndSet('absent', b('v'), b('x')), false);
  assert.equal(await kv.compareAndSet('absent', null, b('x')), true, 'nil old value = set if absent');
  assert.equal(await kv.compareAndDelete('k1', b('nope')), false);
  assert.equal(await kv.compareAndDelete('k1', null), false);
  assert.equal(await kv.compareAndDelete('k1', b('v1b')), true);
  assert.equal(kv.get('k1'), undefined);
  assert.equal(await kv.compareAndDelete('k1', b('v1b')), false);
});

void test('KVList pages sorted keys; perPage <= 0 means 10; KVDeleteAll', async () => {
  const kv = await KVStore.open();
  for (let i = 0; i < 25; i++) await kv.set(`key${String(i).padStart(2, '0')}`, b('v'));
  assert.deepEqual(kv.list(0, 3), ['key00', 'key01', 'key02']);
  assert.deepEqual(kv.list(2, 3), ['key06', 'key07', 'key08']);
  assert.deepEqual(kv.list(8, 3), ['key24']);
  assert.deepEqual(kv.list(9, 3), []);
  assert.equal(kv.list(0, 0).length, 10);
  assert.deepEqual(kv.list(-1, 5), ['key00', 'key01', 'key02', 'key03', 'key04']);
  await kv.deleteAll();
  assert.deepEqual(kv.list(0, 100), []);
});

void test('concurrent atomic sets: exactly one winner, also across a reopen', async () => {
  const file = await tmpFile();
  const kv = await KVStore.open({file});
  const results = await Promise.all(
    Array.from({length: 50}, (_, i) => kv.setWithOptions('mutex_job', b(`owner${i}`), {atomic: true, oldValue: null, expireInSeconds: 60})),
  );
  assert.equal(results.filter(Boolean).length, 1);
  const winner = `owner${results.indexOf(true)}`;
  assert.deepEqual(kv.get('mutex_job'), b(winner));
  // compare-and-set races: each contender expects the winner's value; one succeeds.
  const cas = await Promise.all(Array.from({length: 20}, (_, i) => kv.compareAndSet('mutex_job', b(winner), b(`next${i}`))));
  assert.equal(cas.filter(Boolean).length, 1);
  const reopened = await KVStore.open({file});
  assert.deepEqual(reopened.get('mutex_job'), b(`next${cas.indexOf(true)}`));
});

void test('persists to kv.json with base64 values; writes are temp + rename and serialized', async () => {
  const file = await tmpFile();
  const c = clock();
  const kv = await KVStore.open({file, now: c.now});
  await Promise.all(Array.from({length: 100}, (_, i) => kv.set(`k${i}`, b(`value ${i}`))));
  await kv.set('bin', Buffer.from([0, 1, 2, 255]), 60);
  await kv.flush();
  const data = JSON.parse(await fs.readFile(file, 'utf8')) as Record<string, {value: string; expireAt: number}>;
  assert.equal(Object.keys(data).length, 101);
  assert.equal(data.k7.value, Buffer.from('value 7').toString('base64'));
  assert.equal(data.k7.expireAt, 0);
  assert.equal(data.bin.value, 'AAEC/w==');
  assert.equal(data.bin.expireAt, c.now() + 60_000);
  const leftovers = (await fs.readdir(path.dirname(file))).filter((f) => f !== 'kv.json');
  assert.deepEqual(leftovers, [], 'no temp files left behind');
  const reopened = await KVStore.open({file, now: c.now});
  assert.deepEqual(reopened.get('bin'), Buffer.from([0, 1, 2, 255]));
  c.advance(60_000);
  assert.equal(reopened.get('bin'), undefined, 'expiry survives a reopen');
});

void test('a missing or empty kv.json is an empty store', async () => {
  const file = await tmpFile();
  assert.deepEqual((await KVStore.open({file})).list(0, 10), []);
  await fs.writeFile(file, '');
  assert.deepEqual((await KVStore.open({file})).list(0, 10), []);
});
