// Cluster flush requests: a node that is about to build a dump, but does not scrape,
// asks the scraping node (the lease holder) to write its head to a block and sync it,
// so the dump includes the newest samples. The plugin KV store is the one channel every
// node shares, so the protocol is two keys:
//
//   flush_request        {id, upTo, from, at}   one open request for the whole cluster
//   flush_done_<id>      {id, upTo, node, at, error?}  the scraping node's answer
//
// Requester: if a request is open with upTo ≥ its own, it joins it (concurrent requests
// coalesce into one flush); if one is open with a lower upTo, it raises upTo keeping the
// id (compare-and-set); else it inserts a new one. Then it reads flush_done_<id> every
// `ackPollMs` until the answer covers its upTo or `timeoutMs` passes. It never waits when
// nobody holds the lease.
// Scraping node: one kvGet of flush_request every `pollMs` (nothing else while there is
// no request); for a request it flushes (db.flush() + syncOnce()), writes the answer with
// the upTo it read, and removes the request only if it is unchanged (compare-and-delete),
// so a request raised during the flush is served by the next round.
// Coverage without comparing clocks: a requester asks with upTo ≤ its own "now", so every
// sample up to upTo was scraped before the request was written, hence before the
// scraping node read it and started the flush.
// Both keys expire (KV expiry), so a request nobody serves or an answer nobody reads
// does not stay.

import {randomUUID} from 'node:crypto';

import type {KVSetOptions} from '../bridge/mattermost/index.ts';

export const FLUSH_REQUEST_KEY = 'flush_request';
export const FLUSH_DONE_PREFIX = 'flush_done_';
export const DEFAULT_FLUSH_POLL_MS = 2_000;
export const DEFAULT_ACK_POLL_MS = 250;
export const DEFAULT_REQUEST_TTL_S = 120;
export const DEFAULT_ACK_TTL_S = 300;

export interface FlushKV {
  kvGet(key: string): Promise<Buffer | undefined>;
  kvSetWithOptions(key: string, value: Uint8Array | null, options: KVSetOptions): Promise<boolean>;
}

export interface FlushLogger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
}

export interface ClusterFlushOptions {
  /** This process (as in the lease). */
  nodeId: string;
  /** True while this node scrapes (holds the lease). */
  isLeader: () => boolean;
  /** The node holding the lease as stored in the KV store, null when nobody does. */
  leaderNode: () => Promise<string | null>;
  /** The scraping node's flush: write the head to a block and sync it to the file store. */
  flush: () => Promise<void>;
  /** How often the scraping node looks for a request (default 2 s). */
  pollMs?: number;
  /** How often a requester looks for the answer (default 250 ms). */
  ackPollMs?: number;
  requestTtlSeconds?: number;
  ackTtlSeconds?: number;
  now?: () => number;
  logger?: FlushLogger;
}

interface FlushRequest {
  id: string;
  upTo: number;
  from: string;
  at: number;
}

interface FlushAck {
  id: string;
  upTo: number;
  node: string;
  at: number;
  error?: string;
}

export type FlushOutcome =
  /** This node scrapes: its own flush is all there is. */
  | {status: 'local'}
  /** The scraping node flushed and synced everything up to upTo. */
  | {status: 'flushed'; node: string; ms: number}
  /** Nobody scrapes: nothing to wait for (samples of a stopped node's head may be missing). */
  | {status: 'no-leader'; note: string}
  /** No answer in time, or the scraping node's flush failed: the build goes on without. */
  | {status: 'timeout' | 'failed'; node: string; note: string; ms: number};

const iso = (ms: number): string => new Date(ms).toISOString();
const secs = (ms: number): string => (ms / 1000).toFixed(ms < 10_000 ? 1 : 0);

function parse<T extends {id: string; upTo: number}>(raw: Buffer | undefined): T | null {
  if (!raw || raw.length === 0) return null;
  try {
    const v = JSON.parse(raw.toString('utf8')) as Partial<T>;
    if (typeof v.id === 'string' && v.id && typeof v.upTo === 'number' && Number.isFinite(v.upTo)) return v as T;
  } catch {
    // a value written by something else: treated as absent
  }
  return null;
}

const CAS_ATTEMPTS = 20;

export class ClusterFlush {
  private timer: NodeJS.Timeout | undefined;
  private serving: Promise<void> | null = null;
  private stopped = true;

  constructor(
    private readonly kv: FlushKV,
    private readonly opts: ClusterFlushOptions,
  ) {}

  private now(): number {
    return (this.opts.now ?? Date.now)();
  }

  /** True while this node scrapes: its own flush is enough, nothing to ask. */
  get scrapesHere(): boolean {
    return this.opts.isLeader();
  }

  /** Starts answering requests whenever this node scrapes (one kvGet per poll while it does). */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.timer = setInterval(() => void this.serveOnce(), this.opts.pollMs ?? DEFAULT_FLUSH_POLL_MS);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.serving;
  }

  /** One round of the scraping node: serves the open request, if any. Returns its id. */
  serveOnce(): Promise<string | null> {
    if (this.serving || !this.opts.isLeader()) return Promise.resolve(null);
    let served: string | null = null;
    this.serving = (async () => {
      try {
        const raw = await this.kv.kvGet(FLUSH_REQUEST_KEY);
        const req = parse<FlushRequest>(raw);
        if (!req || !raw) return;
        const started = this.now();
        let error: string | undefined;
        try {
          await this.opts.flush();
        } catch (e) {
          error = (e as Error).message || String(e);
          this.opts.logger?.warn('cluster flush request: the flush failed', {request: req.id, from: req.from, error});
        }
        const ack: FlushAck = {id: req.id, upTo: req.upTo, node: this.opts.nodeId, at: this.now(), ...(error ? {error} : {})};
        await this.kv.kvSetWithOptions(FLUSH_DONE_PREFIX + req.id, Buffer.from(JSON.stringify(ack)), {expireInSeconds: this.opts.ackTtlSeconds ?? DEFAULT_ACK_TTL_S});
        // Compare-and-delete: a request raised meanwhile stays for the next round.
        await this.kv.kvSetWithOptions(FLUSH_REQUEST_KEY, null, {atomic: true, oldValue: raw});
        served = req.id;
        this.opts.logger?.info('cluster flush request served', {request: req.id, from: req.from, upTo: iso(req.upTo), ms: this.now() - started});
      } catch (e) {
        this.opts.logger?.warn('cluster flush request: could not serve', {error: (e as Error).message});
      }
    })().finally(() => {
      this.serving = null;
    });
    return this.serving.then(() => served);
  }

  /**
   * Asks the scraping node to flush everything up to `upTo` and waits for it, at most
   * `timeoutMs` (or until `signal` aborts). Never throws for KV problems: the outcome says
   * what happened and, when the newest samples may be missing, carries a note for the admin.
   */
  async request(upTo: number, opts: {timeoutMs: number; signal?: AbortSignal}): Promise<FlushOutcome> {
    if (this.opts.isLeader()) return {status: 'local'};
    const started = this.now();
    const want = Math.min(upTo, started);
    const missing = `samples after the newest block in the file store (up to ${iso(want)}) may be missing`;
    let leader: string | null;
    try {
      leader = await this.opts.leaderNode();
    } catch (e) {
      leader = null;
      this.opts.logger?.warn('cluster flush request: could not read the lease', {error: (e as Error).message});
    }
    if (!leader) return {status: 'no-leader', note: `No node was scraping when this dump was built, so nothing could be flushed; ${missing}.`};
    if (leader === this.opts.nodeId) return {status: 'local'};
    let id: string;
    try {
      id = await this.openRequest(want);
    } catch (e) {
      const ms = this.now() - started;
      return {status: 'failed', node: leader, ms, note: `The flush request to the scraping node ${leader} could not be written (${(e as Error).message}); ${missing}.`};
    }
    const ackPoll = this.opts.ackPollMs ?? DEFAULT_ACK_POLL_MS;
    const deadline = started + opts.timeoutMs;
    for (;;) {
      let ack: FlushAck | null = null;
      try {
        ack = parse<FlushAck>(await this.kv.kvGet(FLUSH_DONE_PREFIX + id));
      } catch {
        // a KV hiccup: try again on the next round
      }
      const ms = this.now() - started;
      if (ack && ack.upTo >= want) {
        if (ack.error) return {status: 'failed', node: ack.node, ms, note: `The scraping node ${ack.node} could not flush its newest samples (${ack.error}); ${missing}.`};
        return {status: 'flushed', node: ack.node, ms};
      }
      if (this.now() >= deadline || opts.signal?.aborted) {
        this.opts.logger?.warn('cluster flush request: no answer from the scraping node in time', {request: id, leader, waitedMs: ms});
        return {
          status: 'timeout',
          node: leader,
          ms,
          note: `The scraping node ${leader} did not answer the flush request within ${secs(opts.timeoutMs)} s; ${missing}.`,
        };
      }
      await sleep(Math.min(ackPoll, Math.max(1, deadline - this.now())), opts.signal);
    }
  }

  /** Joins the open request, raises its upTo, or opens one; returns the id to wait for. */
  private async openRequest(upTo: number): Promise<string> {
    const ttl = this.opts.requestTtlSeconds ?? DEFAULT_REQUEST_TTL_S;
    for (let attempt = 0; attempt < CAS_ATTEMPTS; attempt++) {
      const raw = await this.kv.kvGet(FLUSH_REQUEST_KEY);
      const open = parse<FlushRequest>(raw);
      if (open && open.upTo >= upTo) return open.id;
      const next: FlushRequest = {id: open?.id ?? randomUUID().replaceAll('-', ''), upTo, from: this.opts.nodeId, at: this.now()};
      const oldValue = raw && raw.length > 0 ? raw : null;
      if (await this.kv.kvSetWithOptions(FLUSH_REQUEST_KEY, Buffer.from(JSON.stringify(next)), {atomic: true, oldValue, expireInSeconds: ttl})) return next.id;
    }
    throw new Error('too many concurrent flush requests');
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, {once: true});
  });
}
