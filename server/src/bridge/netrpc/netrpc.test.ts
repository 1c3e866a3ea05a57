import assert from 'node:assert/strict';
import {createHash} from 'node:crypto';
import {test} from 'node:test';

import {ByteChunks, struct} from '../gob/index.ts';
import {socketPair} from '../testing/socket-pair.ts';
import {emptyReply, RpcClient, RpcConnectionClosed, RpcServer, RpcServerError, type RpcHandler} from './index.ts';

const Args = struct('Args', [
  ['A', 'int'],
  ['DelayMs', 'int'],
]);
const Reply = struct('Reply', [['A', 'int']]);

const handlers = new Map<string, RpcHandler>([
  [
    'Plugin.Double',
    async (args) => {
      const {A = 0, DelayMs = 0} = args as {A?: number; DelayMs?: number};
      await new Promise((r) => setTimeout(r, DelayMs));
      return {type: Reply, value: {A: A * 2}};
    },
  ],
  [
    'Plugin.Fail',
    () => {
      throw new Error('it broke');
    },
  ],
  ['Plugin.Nothing', () => emptyReply],
  [
    'Plugin.Digest',
    (args) => {
      const data = args as Buffer;
      return {type: DigestReply, value: {Len: data.length, Sha: createHash('sha256').update(data).digest('hex')}};
    },
  ],
]);
const DigestReply = struct('DigestReply', [
  ['Len', 'int'],
  ['Sha', 'string'],
]);

void test('pipelined calls are matched by Seq, replies in any order', async () => {
  const [a, b, done] = await socketPair();
  try {
    new RpcServer(b, handlers);
    const client = new RpcClient(a);
    const calls = Array.from({length: 50}, (_, i) =>
      client.call('Plugin.Double', {type: Args, value: {A: i, DelayMs: (50 - i) % 7}}),
    );
    const replies = (await Promise.all(calls)) as Array<{A?: number}>;
    replies.forEach((r, i) => assert.equal(r.A ?? 0, i * 2));
    assert.deepEqual(await client.call('Plugin.Nothing', {type: Args, value: {}}), {});
  } finally {
    done();
  }
});

void test('errors travel as Response.Error with Go texts', async () => {
  const [a, b, done] = await socketPair();
  try {
    new RpcServer(b, handlers);
    const client = new RpcClient(a);
    await assert.rejects(client.call('Plugin.Fail', {type: Args, value: {}}), (e: unknown) => e instanceof RpcServerError && e.message === 'it broke');
    await assert.rejects(client.call('Plugin.Nope', {type: Args, value: {}}), (e: unknown) => {
      assert.ok(e instanceof RpcServerError);
      assert.equal(e.message, "rpc: can't find method Plugin.Nope");
      assert.ok(e.isMissingMethod);
      return true;
    });
    await assert.rejects(client.call('Other.Nope', {type: Args, value: {}}), /rpc: can't find service Other.Nope/);
    await assert.rejects(client.call('NoDot', {type: Args, value: {}}), /ill-formed/);
    // The stream still works afterwards.
    assert.deepEqual(await client.call('Plugin.Double', {type: Args, value: {A: 4}}), {A: 8});
  } finally {
    done();
  }
});

void test('closing the connection rejects calls in flight', async () => {
  const [a, b, done] = await socketPair();
  try {
    new RpcServer(b, handlers);
    const client = new RpcClient(a);
    const slow = client.call('Plugin.Double', {type: Args, value: {A: 1, DelayMs: 500}});
    setTimeout(() => b.destroy(), 20);
    await assert.rejects(slow, RpcConnectionClosed);
    await assert.rejects(client.call('Plugin.Double', {type: Args, value: {A: 1}}), RpcConnectionClosed);
  } finally {
    done();
  }
});

void test('garbage on the stream closes it instead of throwing', async () => {
  const [a, b, done] = await socketPair();
  try {
    const closed = new Promise<Error>((resolve) => new RpcServer(b, handlers, undefined, resolve));
    a.write(Buffer.from([0x05, 0xff, 0x00, 0x01, 0x02, 0x03]));
    const err = await closed;
    assert.match(err.message, /type id 0|reserved id|malformed|unknown|invalid/);
  } finally {
    done();
  }
});

void test('large []byte arguments go out by reference and arrive whole, between small calls', async () => {
  const [a, b, done] = await socketPair();
  try {
    new RpcServer(b, handlers);
    const client = new RpcClient(a);
    const big = Buffer.alloc(3 * 1024 * 1024 + 17);
    for (let i = 0; i < big.length; i++) big[i] = i % 251;
    const pieces = [big.subarray(0, 1000), big.subarray(1000, 600_000), big.subarray(600_000)];
    const sha = createHash('sha256').update(big).digest('hex');
    const calls = [
      client.call('Plugin.Digest', {type: 'bytes', value: big}),
      client.call('Plugin.Double', {type: Args, value: {A: 21}}),
      client.call('Plugin.Digest', {type: 'bytes', value: new ByteChunks(pieces)}),
      client.call('Plugin.Digest', {type: 'bytes', value: Buffer.from('small')}),
    ];
    const [whole, doubled, chunked, small] = (await Promise.all(calls)) as Array<{Len?: number; Sha?: string; A?: number}>;
    assert.deepEqual(whole, {Len: big.length, Sha: sha});
    assert.equal(doubled.A, 42);
    assert.deepEqual(chunked, {Len: big.length, Sha: sha});
    assert.equal(small.Len, 5);
  } finally {
    done();
  }
});
