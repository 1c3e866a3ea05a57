// A continuous leadership lease over the plugin KV store, so exactly one node of
// an HA cluster scrapes. Built on the semantics of Mattermost's cluster mutex
// (protocol spec §5.5: KVSetWithOptions atomic set-if-absent with expiry, renewed
// by compare-and-set) but held for as long as the node lives:
//
//   acquire  set(key, me, {atomic, oldValue: nil, expire: ttl})   → true = leader
//   renew    set(key, me, {atomic, oldValue: me,  expire: ttl})   every ttl/3
//   release  compareAndDelete(key, me)                            on clean stop
//
// Safety: a leader counts itself leader only until (time it sent the last
// successful renewal) + ttl − margin. The stored expiry is at least that send time
// + ttl, so the key cannot expire — and no other node can acquire — while this node
// still believes it leads (clock skew between nodes must stay below the margin).
// Liveness: when a leader dies without releasing, its key expires within ttl and
// a follower, trying every renew interval, takes over within ttl + interval. A node
// restarting after a crash does not wait for its own dead predecessor's key: it
// replaces it by compare-and-set (see instance.ts for why the predecessor is dead).

import type {KVSetOptions} from '../bridge/mattermost/index.ts';

export interface LeaseKV {
  kvSetWithOptions(key: string, value: Uint8Array | null, options: KVSetOptions): Promise<boolean>;
  kvGet(key: string): Promise<Buffer | undefined>;
  kvCompareAndDelete(key: string, oldValue: Uint8Array): Promise<boolean>;
}

export interface LeaseLogger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
}

export interface LeaseOptions {
  key: string;
  /** This node's identity (e.g. its hostname or cluster node id). */
  nodeId: string;
  /** The dead process that ran this node before (instance.ts): a lease it holds is taken over at once. */
  predecessor?: string;
  /** Lease lifetime; whole seconds (the KV expiry's unit). Default 15 s. */
  ttlMs?: number;
  /** Renew (leader) / try (follower) period. Default ttl / 3. */
  intervalMs?: number;
  /** How much earlier than the stored expiry a leader gives up. Default ttl / 5. */
  marginMs?: number;
  now?: () => number;
  onAcquired?: () => void;
  onLost?: (reason: string) => void;
  logger?: LeaseLogger;
}

export interface LeaseHolder {
  node: string;
  /** When the holder acquired the lease (ms). */
  since: number;
}

export interface LeaseStatus {
  /** Who holds the lease now, as stored in the KV store (null: nobody). */
  holder: LeaseHolder | null;
  isLeader: boolean;
  /** Age of the current holder's lease, ms. */
  ageMs: number | null;
}

export class Lease {
  private readonly ttlMs: number;
  private readonly intervalMs: number;
  private readonly marginMs: number;
  private readonly now: () => number;
  private held: Buffer | undefined;
  private deadline = 0;
  private timer: NodeJS.Timeout | undefined;
  private deadlineTimer: NodeJS.Timeout | undefined;
  private running = false;
  private ticking = false;

  constructor(
    private readonly kv: LeaseKV,
    private readonly opts: LeaseOptions,
  ) {
    const ttl = opts.ttlMs ?? 15_000;
    if (ttl < 1000 || ttl % 1000 !== 0) throw new Error(`lease ttl must be whole seconds, got ${ttl} ms`);
    this.ttlMs = ttl;
    this.intervalMs = opts.intervalMs ?? Math.floor(ttl / 3);
    this.marginMs = opts.marginMs ?? Math.floor(ttl / 5);
    if (this.intervalMs + this.marginMs >= ttl) throw new Error('lease interval + margin must be below the ttl');
    this.now = opts.now ?? Date.now;
  }

  /** True while this node holds the lease and is inside its safe window. */
  get isLeader(): boolean {
    return this.held !== undefined && this.now() < this.deadline;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.schedule(0);
  }

  /** Stops trying; a held lease is released so another node takes over at once. */
  async stop(): Promise<void> {
    this.running = false;
    clearTimeout(this.timer);
    const held = this.held;
    if (held) {
      this.drop('stopped');
      try {
        await this.kv.kvCompareAndDelete(this.opts.key, held);
      } catch (err) {
        this.opts.logger?.warn('could not release the leadership lease; it expires by itself', {error: (err as Error).message});
      }
    }
  }

  /** Halts without releasing, as a crashed node would (tests). */
  halt(): void {
    this.running = false;
    clearTimeout(this.timer);
    clearTimeout(this.deadlineTimer);
    this.held = undefined;
  }

  async status(): Promise<LeaseStatus> {
    const raw = await this.kv.kvGet(this.opts.key);
    const holder = raw ? parseHolder(raw) : null;
    return {holder, isLeader: this.isLeader, ageMs: holder ? Math.max(0, this.now() - holder.since) : null};
  }

  private schedule(ms: number): void {
    clearTimeout(this.timer);
    if (!this.running) return;
    this.timer = setTimeout(() => void this.tick(), ms);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    if (this.ticking || !this.running) return;
    this.ticking = true;
    try {
      if (this.held) await this.renew(this.held);
      else await this.acquire();
    } finally {
      this.ticking = false;
      this.schedule(this.intervalMs);
    }
  }

  private async acquire(): Promise<void> {
    const value = Buffer.from(JSON.stringify({node: this.opts.nodeId, since: this.now()} satisfies LeaseHolder));
    const sentAt = this.now();
    let ok: boolean;
    try {
      ok = await this.kv.kvSetWithOptions(this.opts.key, value, this.options(null));
    } catch (err) {
      this.opts.logger?.warn('leadership lease: acquire failed', {error: (err as Error).message});
      return;
    }
    if (!ok && this.running) ok = await this.replacePredecessor(value);
    if (!ok || !this.running) {
      if (ok) await this.kv.kvCompareAndDelete(this.opts.key, value).catch(() => false);
      return;
    }
    this.held = value;
    this.extend(sentAt);
    this.opts.logger?.info('this node now leads', {node: this.opts.nodeId});
    this.opts.onAcquired?.();
  }

  /** Swaps our value in for the predecessor's by compare-and-set of its exact bytes. */
  private async replacePredecessor(value: Buffer): Promise<boolean> {
    const predecessor = this.opts.predecessor;
    if (!predecessor) return false;
    try {
      const raw = await this.kv.kvGet(this.opts.key);
      if (!raw || parseHolder(raw)?.node !== predecessor) return false;
      const ok = await this.kv.kvSetWithOptions(this.opts.key, value, this.options(raw));
      if (ok) this.opts.logger?.info('took over the lease of this node\'s previous process', {node: this.opts.nodeId, previous: predecessor});
      return ok;
    } catch (err) {
      this.opts.logger?.warn('leadership lease: taking over from the previous process failed', {error: (err as Error).message});
      return false;
    }
  }

  private async renew(held: Buffer): Promise<void> {
    const sentAt = this.now();
    let ok: boolean;
    try {
      ok = await this.kv.kvSetWithOptions(this.opts.key, held, this.options(held));
    } catch (err) {
      // Not fatal by itself: the deadline timer ends leadership if renewals keep failing.
      this.opts.logger?.warn('leadership lease: renew failed', {error: (err as Error).message});
      return;
    }
    if (this.held !== held) return;
    if (ok) this.extend(sentAt);
    else this.drop('another node holds the lease');
  }

  private extend(sentAt: number): void {
    this.deadline = sentAt + this.ttlMs - this.marginMs;
    clearTimeout(this.deadlineTimer);
    this.deadlineTimer = setTimeout(() => {
      if (this.held && this.now() >= this.deadline) this.drop('lease not renewed in time');
    }, Math.max(0, this.deadline - this.now()));
    this.deadlineTimer.unref();
  }

  private drop(reason: string): void {
    if (!this.held) return;
    this.held = undefined;
    this.deadline = 0;
    clearTimeout(this.deadlineTimer);
    this.opts.logger?.info('this node no longer leads', {node: this.opts.nodeId, reason});
    this.opts.onLost?.(reason);
  }

  private options(oldValue: Uint8Array | null): KVSetOptions {
    return {atomic: true, oldValue, expireInSeconds: this.ttlMs / 1000};
  }
}

function parseHolder(raw: Buffer): LeaseHolder | null {
  try {
    const v = JSON.parse(raw.toString('utf8')) as Partial<LeaseHolder>;
    if (typeof v.node === 'string' && typeof v.since === 'number') return {node: v.node, since: v.since};
  } catch {
    // a value written by something else
  }
  return null;
}
