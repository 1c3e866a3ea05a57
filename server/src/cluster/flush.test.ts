// Flush requests over a KV store with Mattermost's semantics (the dev host's store):
// a standby node asks, the scraping node (real Lease holder) flushes and answers.
import assert from 'node:assert/strict';
import {test} from 'node:test';

import {KVStore} from '../../../devhost/kvstore.ts';
import {ClusterFlush, FLUSH_DONE_PREFIX, FLUSH_REQUEST_KEY, Lease, type FlushKV, type LeaseKV} from './mod.ts';

const view = (store: KVStore): FlushKV & LeaseKV => ({
  kvGet: async (k) => store.get(k),
  kvSetWithOptions: (k, v, o) => store.setWithOptions(k, v, o),
  kvCompareAndDelete: (k, v) => store.compareAndDelete(k, v),
});

const fastLease = {key: 'leader_scrape', ttlMs: 1000, intervalMs: 250, marginMs: 250};
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until(f: () => boolean, ms = 3_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!f()) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await sleep(5);
  }
}

/** A node: its lease and its flush channel; `flushes` counts the flushes it ran. */
function node(store: KVStore, nodeId: string, opts: {serve?: boolean; flushMs?: number; gate?: () => Promise<void>; fail?: string} = {}) {
  const kv = view(store);
  const lease = new Lease(kv, {...fastLease, nodeId});
  const state = {flushes: 0, flushedAt: [] as number[]};
  const flusher = new ClusterFlush(kv, {
    nodeId,
    isLeader: () => lease.isLeader,
    leaderNode: async () => (await lease.status()).holder?.node ?? null,
    flush: async () => {
      state.flushes++;
      await opts.gate?.();
      if (opts.flushMs) await sleep(opts.flushMs);
      if (opts.fail) throw new Error(opts.fail);
      state.flushedAt.push(Date.now());
    },
    pollMs: 20,
    ackPollMs: 10,
  });
  if (opts.serve !== false) flusher.start();
  return {lease, flusher, state, stop: async () => (await flusher.stop(), await lease.stop())};
}

async function cluster(opts: {serve?: boolean; flushMs?: number; gate?: () => Promise<void>; fail?: string} = {}) {
  const store = await KVStore.open();
  const leader = node(store, 'app-1#aaaa', opts);
  leader.lease.start();
  await until(() => leader.lease.isLeader);
  const standby = node(store, 'app-2#bbbb');
  standby.lease.start();
  return {store, leader, standby, stop: async () => (await standby.stop(), await leader.stop())};
}

test('a standby node asks, the scraping node flushes and answers, the standby proceeds; the keys expire', async () => {
  const c = await cluster();
  try {
    const asked = Date.now();
    const out = await c.standby.flusher.request(asked, {timeoutMs: 5_000});
    assert.equal(out.status, 'flushed');
    assert.equal(out.status === 'flushed' && out.node, 'app-1#aaaa');
    assert.equal(c.leader.state.flushes, 1);
    assert.ok(c.leader.state.flushedAt[0] >= asked, 'the flush ran after the request');
    assert.equal(c.store.get(FLUSH_REQUEST_KEY), undefined, 'the served request is removed');
    const ackKey = [...c.store.snapshot().keys()].find((k) => k.startsWith(FLUSH_DONE_PREFIX));
    assert.ok(ackKey, 'an answer was written');
    assert.ok(c.store.snapshot().get(ackKey)!.expireAt > Date.now(), 'the answer expires');
    // Nothing to ask on the scraping node itself.
    assert.deepEqual(await c.leader.flusher.request(Date.now(), {timeoutMs: 5_000}), {status: 'local'});
    await sleep(100);
    assert.equal(c.leader.state.flushes, 1, 'no request: no flush');
  } finally {
    await c.stop();
  }
});

test('a scraping node that does not answer: the wait is bounded and the outcome carries a note', async () => {
  const c = await cluster({serve: false});
  try {
    const started = Date.now();
    const out = await c.standby.flusher.request(Date.now(), {timeoutMs: 300});
    const ms = Date.now() - started;
    assert.equal(out.status, 'timeout');
    assert.ok(ms >= 290 && ms < 1_500, `waited ${ms} ms`);
    assert.match('note' in out ? out.note : '', /app-1#aaaa did not answer the flush request within 0\.3 s; samples after the newest block in the file store \(up to .*\) may be missing/);
    const req = c.store.get(FLUSH_REQUEST_KEY);
    assert.ok(req, 'the request stays for a late answer');
    assert.ok(c.store.snapshot().get(FLUSH_REQUEST_KEY)!.expireAt > Date.now(), 'and expires');
    // An abort ends the wait at once.
    const abort = new AbortController();
    setTimeout(() => abort.abort(), 50);
    const t0 = Date.now();
    assert.equal((await c.standby.flusher.request(Date.now(), {timeoutMs: 10_000, signal: abort.signal})).status, 'timeout');
    assert.ok(Date.now() - t0 < 1_000);
  } finally {
    await c.stop();
  }
});

test('nobody scrapes: no waiting, a note', async () => {
  const store = await KVStore.open();
  const lone = node(store, 'app-2#bbbb');
  try {
    const started = Date.now();
    const out = await lone.flusher.request(Date.now(), {timeoutMs: 10_000});
    assert.equal(out.status, 'no-leader');
    assert.ok(Date.now() - started < 500);
    assert.match('note' in out ? out.note : '', /No node was scraping/);
    assert.equal(store.get(FLUSH_REQUEST_KEY), undefined, 'no request written');
  } finally {
    await lone.stop();
  }
});

test('the scraping node fails to flush: the requester learns why at once', async () => {
  const c = await cluster({fail: 'disk full'});
  try {
    const out = await c.standby.flusher.request(Date.now(), {timeoutMs: 5_000});
    assert.equal(out.status, 'failed');
    assert.match('note' in out ? out.note : '', /app-1#aaaa could not flush its newest samples \(disk full\)/);
  } finally {
    await c.stop();
  }
});

test('concurrent requests coalesce into one flush; a request raised during a flush gets a second one', async () => {
  let open: () => void = () => {};
  let gate = new Promise<void>((r) => (open = r));
  const c = await cluster({gate: () => gate});
  const others = [node(c.store, 'app-3#cccc'), node(c.store, 'app-4#dddd')];
  try {
    const t = Date.now();
    // Three nodes ask with different ends; the scraping node polls every 20 ms.
    const first = [c.standby, ...others].map((n, i) => n.flusher.request(t - 1000 + i, {timeoutMs: 5_000}));
    await until(() => c.leader.state.flushes === 1);
    // A fourth request with a later end while the flush runs raises the open request.
    const later = others[0].flusher.request(Date.now() + 10, {timeoutMs: 5_000});
    await sleep(50);
    open();
    gate = Promise.resolve();
    const outs = await Promise.all([...first, later]);
    for (const o of outs) assert.equal(o.status, 'flushed');
    // Whatever arrived while the first flush ran joined or raised the one open request
    // (same id), so exactly one more flush served all of them.
    assert.equal(c.leader.state.flushes, 2);
    await sleep(100);
    assert.equal(c.store.get(FLUSH_REQUEST_KEY), undefined);
    assert.equal(c.leader.state.flushes, 2, 'nothing left to serve');
  } finally {
    for (const o of others) await o.stop();
    await c.stop();
  }
});
