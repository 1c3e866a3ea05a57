// Test-only FileBackend kept in memory, with fault injection and a record of what
// happened: the order of completed writes, concurrency high-water marks, every call.

import {Readable} from 'node:stream';
import {type FileBackend, type FileInfo, FileNotFoundError, FileStoreError} from '../../filestore/backend.ts';

export type Op = 'write' | 'read' | 'stat' | 'list' | 'listDirs' | 'remove' | 'removeAll';

export type FaultKind =
  /** Rejects before reading the body, like an S3 5xx. */
  | 'error'
  /** Never completes until the signal aborts (a hung connection). */
  | 'hang'
  /** Reads `atBytes`, stores them (if `leavePartial`), then rejects: connection dropped mid-upload. */
  | 'truncate'
  /** Reads everything, stores only `atBytes`, resolves with the full count: a lying backend. */
  | 'silent-truncate'
  /** Stores the body with one byte flipped, resolves normally (bit rot / bad proxy). */
  | 'corrupt'
  /** Like truncate, with ENOSPC's message: the store's disk is full. */
  | 'enospc';

export interface Fault {
  op: Op;
  /** Path filter; default every path. */
  match?: RegExp;
  /** Only the nth matching call (1-based), counted from when the fault was added. */
  nth?: number;
  /** How many times it fires at most; default 1 with nth, else unlimited. */
  times?: number;
  kind: FaultKind;
  atBytes?: number;
  /** For truncate/enospc: keep the bytes received so far under the path (a naive local driver does). */
  leavePartial?: boolean;
  status?: number;
}

interface ActiveFault extends Fault {
  seen: number;
  fired: number;
}

export interface MemoryBackendOptions {
  /** Delay (ms) before each write completes; makes concurrency observable. */
  writeDelayMs?: number;
  now?: () => number;
  /** Called when a write starts (before the body is read). */
  onWriteStart?: (path: string) => void;
  /** Called at the start of every call. */
  onCall?: (op: Op, path: string) => void;
}

export class MemoryBackend implements FileBackend {
  readonly kind = 'local' as const;
  readonly files = new Map<string, {data: Buffer; modTime: number}>();
  /** Paths of completed writes, in completion order. */
  readonly writes: string[] = [];
  /** Every call: op and path, in call order. */
  readonly calls: Array<{op: Op; path: string}> = [];
  inFlight = 0;
  maxInFlight = 0;
  /** Highest number of distinct block dirs (…/data/<ULID>/) with writes in flight at once. */
  maxBlocksInFlight = 0;
  /** Highest number of writes in flight within one block dir. */
  maxFilesInFlightPerBlock = 0;
  private readonly perBlock = new Map<string, number>();
  private faults: ActiveFault[] = [];
  private readonly now: () => number;

  constructor(private readonly opts: MemoryBackendOptions = {}) {
    this.now = opts.now ?? Date.now;
  }

  describe(): string {
    return 'memory';
  }

  addFault(f: Fault): void {
    this.faults.push({...f, seen: 0, fired: 0});
  }

  clearFaults(): void {
    this.faults = [];
  }

  /** Puts a file directly (test setup). */
  put(p: string, data: Buffer | string, modTime = this.now()): void {
    this.files.set(p, {data: Buffer.from(data), modTime});
  }

  get(p: string): Buffer | undefined {
    return this.files.get(p)?.data;
  }

  private fault(op: Op, p: string): ActiveFault | null {
    for (const f of this.faults) {
      if (f.op !== op || (f.match && !f.match.test(p))) continue;
      f.seen++;
      const limit = f.times ?? (f.nth !== undefined ? 1 : Infinity);
      if (f.fired >= limit) continue;
      if (f.nth !== undefined && f.seen !== f.nth) continue;
      f.fired++;
      return f;
    }
    return null;
  }

  private simpleFault(op: Op, p: string): void {
    this.calls.push({op, path: p});
    this.opts.onCall?.(op, p);
    const f = this.fault(op, p);
    if (f) throw new FileStoreError(op, p, `injected fault: ${f.kind} (status ${f.status ?? 503})`);
  }

  private blockOf(p: string): string | null {
    return /\/data\/([0-9A-Z]{26})\//i.exec(p)?.[1] ?? null;
  }

  async write(p: string, body: Readable | Buffer, opts: {size?: number; signal?: AbortSignal} = {}): Promise<number> {
    this.calls.push({op: 'write', path: p});
    this.opts.onWriteStart?.(p);
    this.opts.onCall?.('write', p);
    const f = this.fault('write', p);
    const block = this.blockOf(p);
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    if (block) {
      const n = (this.perBlock.get(block) ?? 0) + 1;
      this.perBlock.set(block, n);
      this.maxFilesInFlightPerBlock = Math.max(this.maxFilesInFlightPerBlock, n);
      this.maxBlocksInFlight = Math.max(this.maxBlocksInFlight, this.perBlock.size);
    }
    try {
      if (f?.kind === 'error') {
        if (body instanceof Readable) body.destroy();
        throw new FileStoreError('write', p, `injected fault: status ${f.status ?? 503} Service Unavailable`);
      }
      if (f?.kind === 'hang') {
        await new Promise<void>((_, reject) => {
          opts.signal?.addEventListener('abort', () => reject(new FileStoreError('write', p, 'aborted')), {once: true});
        });
      }
      const parts: Buffer[] = [];
      let n = 0;
      const cut = f && (f.kind === 'truncate' || f.kind === 'enospc') ? (f.atBytes ?? 0) : Infinity;
      if (Buffer.isBuffer(body)) {
        parts.push(body);
        n = body.length;
      } else {
        for await (const c of body as AsyncIterable<Buffer | string>) {
          if (opts.signal?.aborted) throw new FileStoreError('write', p, 'aborted');
          const b = typeof c === 'string' ? Buffer.from(c) : c;
          parts.push(b);
          n += b.length;
          if (n >= cut) break;
        }
      }
      if (n >= cut || (cut === 0 && f)) {
        const partial = Buffer.concat(parts).subarray(0, cut);
        if (f!.leavePartial) this.files.set(p, {data: Buffer.from(partial), modTime: this.now()});
        if (body instanceof Readable) body.destroy();
        throw new FileStoreError('write', p, f!.kind === 'enospc' ? 'ENOSPC: no space left on device' : `connection reset after ${partial.length} bytes`);
      }
      if (this.opts.writeDelayMs) await new Promise((r) => setTimeout(r, this.opts.writeDelayMs));
      if (opts.signal?.aborted) throw new FileStoreError('write', p, 'aborted');
      let data = Buffer.concat(parts);
      if (f?.kind === 'silent-truncate') data = data.subarray(0, f.atBytes ?? 0);
      if (f?.kind === 'corrupt' && data.length > 0) {
        data = Buffer.from(data);
        data[data.length >> 1] ^= 0xff;
      }
      this.files.set(p, {data: Buffer.from(data), modTime: this.now()});
      this.writes.push(p);
      return n;
    } finally {
      this.inFlight--;
      if (block) {
        const n = this.perBlock.get(block)! - 1;
        if (n === 0) this.perBlock.delete(block);
        else this.perBlock.set(block, n);
      }
    }
  }

  async read(p: string, range?: {start: number; end: number}): Promise<Readable> {
    this.simpleFault('read', p);
    const f = this.files.get(p);
    if (!f) throw new FileNotFoundError(p);
    return Readable.from([range ? f.data.subarray(range.start, range.end + 1) : f.data]);
  }

  async stat(p: string): Promise<FileInfo | null> {
    this.simpleFault('stat', p);
    const f = this.files.get(p);
    return f ? {path: p, size: f.data.length, modTime: f.modTime} : null;
  }

  async list(prefix: string): Promise<FileInfo[]> {
    this.simpleFault('list', prefix);
    const pre = prefix.endsWith('/') || prefix === '' ? prefix : `${prefix}/`;
    return [...this.files.entries()].filter(([p]) => p.startsWith(pre)).map(([p, f]) => ({path: p, size: f.data.length, modTime: f.modTime}));
  }

  async listDirs(prefix: string): Promise<string[]> {
    this.simpleFault('listDirs', prefix);
    const pre = prefix.endsWith('/') || prefix === '' ? prefix : `${prefix}/`;
    const out = new Set<string>();
    for (const p of this.files.keys()) {
      if (!p.startsWith(pre)) continue;
      const rest = p.slice(pre.length);
      const i = rest.indexOf('/');
      if (i > 0) out.add(rest.slice(0, i));
    }
    return [...out].sort();
  }

  async remove(p: string): Promise<void> {
    this.simpleFault('remove', p);
    this.files.delete(p);
  }

  async removeAll(prefix: string): Promise<void> {
    this.simpleFault('removeAll', prefix);
    const pre = prefix.endsWith('/') ? prefix : `${prefix}/`;
    for (const p of [...this.files.keys()]) if (p.startsWith(pre) || p === prefix) this.files.delete(p);
  }

  async check(prefix: string): Promise<void> {
    await this.write(`${prefix}/check`, Buffer.from('ok'));
    await this.remove(`${prefix}/check`);
  }
}
