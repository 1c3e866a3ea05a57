// Test-only helpers: local data dirs with real blocks, and checks on the remote copy.

import assert from 'node:assert/strict';
import {createHash} from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import {remoteDataDir} from '../../filestore/backend.ts';
import {writeBlock} from '../../tsdb/block/mod.ts';
import {listDataDir} from '../../tsdb/retention/mod.ts';
import {MANIFEST_FILENAME, decodeManifest, listBlockFiles} from '../manifest.ts';

export const H = 3_600_000;
export const DAY = 24 * H;

/** `n` consecutive 2 h blocks ending `endAgoMs` before now; `series` × one sample per `stepMs`. */
export function makeBlocks(dataDir: string, n: number, opts: {series?: number; stepMs?: number; endAgoMs?: number; now?: number} = {}): string[] {
  const now = opts.now ?? Date.now();
  const end = Math.floor((now - (opts.endAgoMs ?? H)) / (2 * H)) * 2 * H;
  const step = opts.stepMs ?? 60_000;
  const ulids: string[] = [];
  for (let i = 0; i < n; i++) {
    const from = end - (n - i) * 2 * H;
    const series = Array.from({length: opts.series ?? 20}, (_, s) => ({
      labels: {__name__: 'mattermost_test_metric', instance: `node-${s % 3}`, s: String(s)},
      samples: Array.from({length: (2 * H) / step}, (_, k) => ({t: from + k * step, v: Math.sin(k / 7 + s) * 1000 + ((k * 31 + s) % 97)})),
    }));
    ulids.push(writeBlock(dataDir, series, {fsync: false, minTime: from, maxTime: from + 2 * H}).ulid);
  }
  return ulids;
}

/** Minimal read-only view of a backend's file table (MemoryBackend or a dir). */
export interface RemoteView {
  /** Path (relative to the store root) → bytes. */
  files(): Map<string, Buffer>;
}

export function dirView(root: string): RemoteView {
  return {
    files() {
      const out = new Map<string, Buffer>();
      const walk = (abs: string, rel: string): void => {
        if (!fs.existsSync(abs)) return;
        for (const e of fs.readdirSync(abs, {withFileTypes: true})) {
          const r = rel ? `${rel}/${e.name}` : e.name;
          if (e.isDirectory()) walk(path.join(abs, e.name), r);
          else if (e.isFile() && !/^\..+\.tmp-[0-9a-f]{12}$/.test(e.name)) out.set(r, fs.readFileSync(path.join(abs, e.name)));
        }
      };
      walk(root, '');
      return out;
    },
  };
}

function sha(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

/** Remote block dirs → their files (relative to the block dir). */
export function remoteBlocks(view: RemoteView): Map<string, Map<string, Buffer>> {
  const out = new Map<string, Map<string, Buffer>>();
  for (const [p, data] of view.files()) {
    if (!p.startsWith(`${remoteDataDir}/`)) continue;
    const rest = p.slice(remoteDataDir.length + 1);
    const i = rest.indexOf('/');
    const ulid = rest.slice(0, i);
    if (!out.has(ulid)) out.set(ulid, new Map());
    out.get(ulid)!.set(rest.slice(i + 1), data);
  }
  return out;
}

/**
 * The remote holds exactly `ulids` (default: every local block), each byte-identical to
 * the local block, with a manifest that lists every file with its size and sha256.
 */
export function assertRemoteExactlyComplete(view: RemoteView, dataDir: string, ulids?: string[]): void {
  const local = new Map(listDataDir(dataDir).blocks.map((b) => [b.ulid, b.dir]));
  const want = ulids ?? [...local.keys()];
  const remote = remoteBlocks(view);
  assert.deepEqual([...remote.keys()].sort(), [...want].sort(), 'remote block set');
  for (const ulid of want) {
    const dir = local.get(ulid)!;
    const files = remote.get(ulid)!;
    const expected = new Map<string, Buffer>();
    for (const f of listBlockFiles(dir).files) expected.set(f.rel, fs.readFileSync(f.abs));
    expected.set('meta.json', fs.readFileSync(path.join(dir, 'meta.json')));
    assert.ok(files.has(MANIFEST_FILENAME), `${ulid}: manifest missing`);
    const manifest = decodeManifest(files.get(MANIFEST_FILENAME)!.toString());
    assert.deepEqual(
      manifest.files.map((f) => [f.path, f.size, f.sha256]),
      [...expected.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([p, d]) => [p, d.length, sha(d)]),
      `${ulid}: manifest`,
    );
    assert.deepEqual([...files.keys()].filter((p) => p !== MANIFEST_FILENAME).sort(), [...expected.keys()].sort(), `${ulid}: file set`);
    for (const [p, d] of expected) assert.ok(files.get(p)!.equals(d), `${ulid}/${p}: bytes differ`);
  }
}

export interface LogLine {
  level: 'debug' | 'info' | 'warn' | 'error';
  message: string;
  fields?: Record<string, unknown>;
}

export function captureLogger(): {lines: LogLine[]; logger: {debug: (m: string, f?: Record<string, unknown>) => void; info: (m: string, f?: Record<string, unknown>) => void; warn: (m: string, f?: Record<string, unknown>) => void; error: (m: string, f?: Record<string, unknown>) => void}} {
  const lines: LogLine[] = [];
  const at = (level: LogLine['level']) => (message: string, fields?: Record<string, unknown>) => void lines.push({level, message, fields});
  return {lines, logger: {debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error')}};
}

export function memoryView(b: {files: Map<string, {data: Buffer}>}): RemoteView {
  return {files: () => new Map([...b.files.entries()].map(([p, f]) => [p, f.data]))};
}

/** A snapshot of every file under the store's plugin root, read through the backend itself. */
export async function backendView(backend: {list(p: string): Promise<Array<{path: string}>>; read(p: string): Promise<AsyncIterable<unknown>>}, root = 'plugin-data'): Promise<RemoteView> {
  const out = new Map<string, Buffer>();
  for (const f of await backend.list(root)) {
    const parts: Buffer[] = [];
    for await (const c of await backend.read(f.path)) parts.push(Buffer.from(c as Buffer));
    out.set(f.path, Buffer.concat(parts));
  }
  return {files: () => out};
}
