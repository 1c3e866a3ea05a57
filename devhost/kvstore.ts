// The plugin KV store, kept in memory and persisted to <DEVHOST_DIR>/kv.json.
// Semantics follow Mattermost's SqlPluginStore (server/channels/store/sqlstore/
// plugin_store.go) as seen through the plugin API:
//   * a nil/empty value deletes the key (gob cannot tell empty from nil);
//   * ExpireInSeconds != 0 sets expireAt = now + s*1000 (negative: already expired);
//     expired keys behave as absent everywhere;
//   * Atomic + OldValue nil = insert only if absent; Atomic + OldValue = compare-and-set
//     (current value must equal OldValue and be live); Atomic + nil value =
//     compare-and-delete (false when OldValue is nil too);
//   * OldValue without Atomic is an error (PluginKVSetOptions.IsValid);
//   * keys must be 1..150 runes (PluginKeyValue.IsValid);
//   * KVList(page, perPage): sorted keys, offset page*perPage, perPage <= 0 means 10.
// Every operation runs synchronously on the in-memory map, so concurrent calls are
// serialized by the event loop (an atomic set has exactly one winner); mutations
// resolve once a snapshot containing them is on disk (temp file + rename).

import fs from 'node:fs/promises';

import {writeJsonAtomic} from './config.ts';

export interface KVEntry {
  value: Buffer;
  /** Unix ms; 0 = never expires. */
  expireAt: number;
}

export interface KVSetOptions {
  atomic?: boolean;
  /** null/undefined/empty = "must be absent" (only with atomic). */
  oldValue?: Uint8Array | null;
  expireInSeconds?: number;
}

/** A *model.AppError the API hands back to the plugin. */
export class KVError extends Error {
  override name = 'KVError';
  constructor(
    readonly id: string,
    message: string,
    readonly where: string,
    readonly statusCode = 400,
  ) {
    super(message);
  }
}

export const keyMaxRunes = 150;
export const defaultListLimit = 10;

interface FileFormat {
  [key: string]: {value: string; expireAt: number};
}

export interface KVStoreOptions {
  /** Where to persist; undefined = memory only. */
  file?: string;
  now?: () => number;
}

function isEmpty(v: Uint8Array | null | undefined): v is null | undefined {
  return v === null || v === undefined || v.length === 0;
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b);
}

export class KVStore {
  private readonly entries = new Map<string, KVEntry>();
  private readonly file: string | undefined;
  private readonly now: () => number;
  private chain: Promise<void> = Promise.resolve();
  private queued: Promise<void> | undefined;

  private constructor(opts: KVStoreOptions) {
    this.file = opts.file;
    this.now = opts.now ?? Date.now;
  }

  /** Opens (or creates) the store; a missing file is an empty store. */
  static async open(opts: KVStoreOptions = {}): Promise<KVStore> {
    const store = new KVStore(opts);
    if (opts.file) {
      let text: string | undefined;
      try {
        text = await fs.readFile(opts.file, 'utf8');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
      if (text !== undefined && text.trim() !== '') {
        const data = JSON.parse(text) as FileFormat;
        for (const [key, e] of Object.entries(data)) {
          store.entries.set(key, {value: Buffer.from(e.value, 'base64'), expireAt: Number(e.expireAt) || 0});
        }
      }
    }
    return store;
  }

  // ------------------------------------------------------------------ reads

  /** The live value, or undefined (missing or expired). */
  get(key: string): Buffer | undefined {
    const e = this.live(key);
    return e ? Buffer.from(e.value) : undefined;
  }

  /** Live keys, sorted, one page. */
  list(page: number, perPage: number): string[] {
    const limit = perPage <= 0 ? defaultListLimit : perPage;
    const offset = Math.max(0, page * perPage);
    const keys = [...this.entries.keys()].filter((k) => this.live(k)).sort();
    return keys.slice(offset, offset + limit);
  }

  /** Every live entry (for inspection and tests). */
  snapshot(): Map<string, KVEntry> {
    const out = new Map<string, KVEntry>();
    for (const key of [...this.entries.keys()].sort()) {
      const e = this.live(key);
      if (e) out.set(key, {value: Buffer.from(e.value), expireAt: e.expireAt});
    }
    return out;
  }

  // -------------------------------------------------------------- mutations

  /** KVSet / KVSetWithExpiry: empty value deletes. */
  set(key: string, value: Uint8Array | null | undefined, expireInSeconds = 0): Promise<void> {
    return this.setWithOptions(key, value, {expireInSeconds}).then(() => undefined);
  }

  /** KVSetWithOptions; resolves with whether the value was written (or deleted). */
  async setWithOptions(key: string, value: Uint8Array | null | undefined, opts: KVSetOptions = {}): Promise<boolean> {
    if (!opts.atomic && !isEmpty(opts.oldValue)) {
      throw new KVError('model.plugin_kvset_options.is_valid.old_value.app_error', 'OldValue should not be defined on non atomic sets', 'PluginKVSetOptions.IsValid');
    }
    validateKey(key);
    const expireAt = opts.expireInSeconds ? this.now() + opts.expireInSeconds * 1000 : 0;
    let changed: boolean;
    if (!opts.atomic) {
      if (isEmpty(value)) this.entries.delete(key);
      else this.entries.set(key, {value: Buffer.from(value), expireAt});
      changed = true;
    } else if (isEmpty(value)) {
      changed = this.compareAndDeleteNow(key, opts.oldValue);
    } else if (isEmpty(opts.oldValue)) {
      changed = !this.live(key);
      if (changed) this.entries.set(key, {value: Buffer.from(value), expireAt});
    } else {
      const cur = this.live(key);
      changed = cur !== undefined && equal(cur.value, opts.oldValue);
      if (changed) this.entries.set(key, {value: Buffer.from(value), expireAt});
    }
    if (changed) await this.persist();
    return changed;
  }

  /** KVCompareAndSet(key, old, new). */
  compareAndSet(key: string, oldValue: Uint8Array | null | undefined, newValue: Uint8Array | null | undefined): Promise<boolean> {
    return this.setWithOptions(key, newValue, {atomic: true, oldValue});
  }

  /** KVCompareAndDelete(key, old). */
  async compareAndDelete(key: string, oldValue: Uint8Array | null | undefined): Promise<boolean> {
    validateKey(key);
    const changed = this.compareAndDeleteNow(key, oldValue);
    if (changed) await this.persist();
    return changed;
  }

  async delete(key: string): Promise<void> {
    if (this.entries.delete(key)) await this.persist();
  }

  async deleteAll(): Promise<void> {
    this.entries.clear();
    await this.persist();
  }

  /** Resolves once everything written so far is on disk. */
  async flush(): Promise<void> {
    await this.chain;
  }

  // ---------------------------------------------------------------- private

  private compareAndDeleteNow(key: string, oldValue: Uint8Array | null | undefined): boolean {
    if (isEmpty(oldValue)) return false; // nil can't be stored: nothing to compare with
    const cur = this.live(key);
    if (!cur || !equal(cur.value, oldValue)) return false;
    this.entries.delete(key);
    return true;
  }

  private live(key: string): KVEntry | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    if (e.expireAt !== 0 && e.expireAt <= this.now()) return undefined;
    return e;
  }

  /** Queues a write of the current state; writes never overlap and a queued one is shared. */
  private persist(): Promise<void> {
    if (!this.file) return Promise.resolve();
    if (this.queued) return this.queued;
    const p = this.chain.then(() => {
      this.queued = undefined;
      return this.writeNow();
    });
    this.queued = p;
    this.chain = p.catch(() => {});
    return p;
  }

  private async writeNow(): Promise<void> {
    const file = this.file!;
    const data: FileFormat = {};
    const now = this.now();
    for (const key of [...this.entries.keys()].sort()) {
      const e = this.entries.get(key)!;
      if (e.expireAt !== 0 && e.expireAt <= now) continue; // expired entries are dropped from disk
      data[key] = {value: e.value.toString('base64'), expireAt: e.expireAt};
    }
    await writeJsonAtomic(file, data);
  }
}

function validateKey(key: string): void {
  const runes = [...key].length;
  if (runes === 0 || runes > keyMaxRunes) {
    throw new KVError('model.plugin_key_value.is_valid.key.app_error', `invalid key: must be 1 to ${keyMaxRunes} characters`, 'PluginKeyValue.IsValid');
  }
}
