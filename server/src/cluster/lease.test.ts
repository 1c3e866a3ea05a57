// Leadership over a KV store with Mattermost's semantics (the dev host's store,
// modelled on Mattermost's SQL plugin store): never two leaders, takeover bounded.
import assert from 'node:assert/strict';
import {test} from 'node:test';

import {KVStore} from '../../../devhost/kvstore.ts';
import {Lease, type LeaseKV} from './mod.ts';

type Mode = 'ok' | 'fail' | 'hang';

/** A node's view of the shared store, with switchable faults (errors, hangs, latency). */
function nodeKV(store: KVStore, opts: {errorRate?: number; maxLatencyMs?: number} = {}) {
  const state = {mode: 'ok' as Mode};
  const wrap = async <T>(fn: () => Promise<T> | T): Promise<T> => {
    if (opts.maxLatencyMs) await new Promise((r) => setTimeout(r, Math.random() * opts.maxLatencyMs!));
    if (state.mode === 'hang') return new Promise<T>(() => {});
    if (state.mode === 'fail' || Math.random() < (opts.errorRate ?? 0)) throw new Error('injected KV failure');
    return fn();
  };
  const kv: LeaseKV = {
    kvSetWithOptions: (k, v, o) => wrap(() => store.setWithOptions(k, v, o)),
    kvGet: (k) => wrap(() => store.get(k)),
    kvCompareAndDelete: (k, v) => wrap(() => store.compareAndDelete(k, v)),
  };
  return {kv, state};
}

const fast = {key: 'leader_scrape', ttlMs: 1000, intervalMs: 250, marginMs: 250};

/** Polls every few ms and records the most leaders seen at once. */
function monitor(leases: () => Lease[]) {
  let worst = 0;
  const timer = setInterval(() => {
    worst = Math.max(worst, leases().filter((l) => l.isLeader).length);
  }, 3);
  return {stop: () => (clearInterval(timer), worst)};
}

async function waitForLeader(leases: () => Lease[], timeoutMs: number): Promise<Lease> {
  const start = Date.now();
  for (;;) {
    const leader = leases().find((l) => l.isLeader);
    if (leader) return leader;
    if (Date.now() - start > timeoutMs) throw new Error(`no leader after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

void test('three nodes: one leader; a crashed leader is replaced within ttl + interval; never two at once', async () => {
  const store = await KVStore.open();
  let n = 0;
  const make = (): Lease => new Lease(nodeKV(store, {maxLatencyMs: 20}).kv, {...fast, nodeId: `node${n++}`});
  let nodes = [make(), make(), make()];
  nodes.forEach((l) => l.start());
  const watch = monitor(() => nodes);
  const takeovers: number[] = [];
  try {
    for (let round = 0; round < 12; round++) {
      const leader = await waitForLeader(() => nodes, 3000);
      const status = await leader.status();
      assert.equal(status.isLeader, true);
      leader.halt();
      const t0 = Date.now();
      const next = await waitForLeader(() => nodes, 3000);
      takeovers.push(Date.now() - t0);
      assert.notEqual(next, leader);
      nodes = nodes.filter((l) => l !== leader).concat(make());
      nodes[nodes.length - 1].start();
    }
  } finally {
    nodes.forEach((l) => l.halt());
  }
  assert.equal(watch.stop(), 1, 'at most one leader at any moment');
  assert.ok(Math.max(...takeovers) <= fast.ttlMs + fast.intervalMs + 200, `takeovers ${takeovers.join(',')} ms`);
});

void test('a leader cut off from the store steps down before anyone else can lead', async () => {
  for (const fault of ['fail', 'hang'] as const) {
    const store = await KVStore.open();
    const a = nodeKV(store);
    const leaseA = new Lease(a.kv, {...fast, nodeId: 'a'});
    leaseA.start();
    const first = await waitForLeader(() => [leaseA], 2000);
    assert.equal(first, leaseA);
    const leaseB = new Lease(nodeKV(store).kv, {...fast, nodeId: 'b'});
    leaseB.start();
    const watch = monitor(() => [leaseA, leaseB]);
    a.state.mode = fault;
    const next = await waitForLeader(() => [leaseB], 3000);
    assert.equal(next, leaseB);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(watch.stop(), 1, `${fault}: two leaders at once`);
    assert.equal(leaseA.isLeader, false);
    leaseA.halt();
    await leaseB.stop();
  }
});

void test('random KV errors and latency never produce two leaders', async () => {
  const store = await KVStore.open();
  const nodes = [0, 1, 2].map((i) => new Lease(nodeKV(store, {errorRate: 0.2, maxLatencyMs: 60}).kv, {...fast, nodeId: `n${i}`}));
  const watch = monitor(() => nodes);
  nodes.forEach((l) => l.start());
  await new Promise((r) => setTimeout(r, 4000));
  nodes.forEach((l) => l.halt());
  assert.equal(watch.stop(), 1);
});

void test('a clean stop releases the lease so another node takes over at once', async () => {
  const store = await KVStore.open();
  const lost: string[] = [];
  const a = new Lease(nodeKV(store).kv, {...fast, nodeId: 'a', onLost: (r) => lost.push(r)});
  a.start();
  await waitForLeader(() => [a], 2000);
  const b = new Lease(nodeKV(store).kv, {...fast, nodeId: 'b'});
  b.start();
  await new Promise((r) => setTimeout(r, 100));
  const t0 = Date.now();
  await a.stop();
  await waitForLeader(() => [b], 2000);
  assert.ok(Date.now() - t0 <= fast.intervalMs + 100, `takeover after stop took ${Date.now() - t0} ms`);
  assert.deepEqual(lost, ['stopped']);
  const status = await b.status();
  assert.equal(status.holder?.node, 'b');
  assert.ok((status.ageMs ?? -1) >= 0);
  await b.stop();
});

void test('with the default 15 s lease a dead leader is replaced within 30 s', async () => {
  const store = await KVStore.open();
  const nodes = ['a', 'b', 'c'].map((id) => new Lease(nodeKV(store).kv, {key: 'leader_scrape', nodeId: id}));
  nodes.forEach((l) => l.start());
  try {
    const leader = await waitForLeader(() => nodes, 5000);
    leader.halt();
    const t0 = Date.now();
    await waitForLeader(() => nodes.filter((l) => l !== leader), 30_000);
    const took = Date.now() - t0;
    assert.ok(took <= 30_000, `takeover took ${took} ms`);
  } finally {
    nodes.forEach((l) => l.halt());
  }
});

void test('a restarted node takes over the lease its dead predecessor holds at once; nobody else\'s', async () => {
  const store = await KVStore.open();
  const ttl = {key: 'leader_scrape', ttlMs: 15_000};
  const dead = new Lease(nodeKV(store).kv, {...ttl, nodeId: 'app-1#aaaa'});
  dead.start();
  await waitForLeader(() => [dead], 2000);
  dead.halt(); // killed: the key stays for 15 s
  // A sibling that only claims to follow someone else waits like any other node.
  const other = new Lease(nodeKV(store).kv, {...ttl, nodeId: 'app-2#cccc', predecessor: 'app-2#old0'});
  other.start();
  const t0 = Date.now();
  const next = new Lease(nodeKV(store).kv, {...ttl, nodeId: 'app-1#bbbb', predecessor: 'app-1#aaaa'});
  next.start();
  try {
    await waitForLeader(() => [next], 2000);
    assert.ok(Date.now() - t0 < 1000, `took ${Date.now() - t0} ms`);
    assert.equal((await next.status()).holder?.node, 'app-1#bbbb');
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(other.isLeader, false);
  } finally {
    next.halt();
    other.halt();
  }
});

void test('lease settings are validated', () => {
  const kv = {} as LeaseKV;
  assert.throws(() => new Lease(kv, {key: 'k', nodeId: 'n', ttlMs: 1500}), /whole seconds/);
  assert.throws(() => new Lease(kv, {key: 'k', nodeId: 'n', ttlMs: 1000, intervalMs: 900}), /below the ttl/);
});
