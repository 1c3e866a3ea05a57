// The checksum manifest we upload into every remote block dir, between the data files
// and meta.json:
//
//   plugin-data/mattermost-plugin-metrics/data/<ULID>/
//     chunks/000001 …, index, tombstones      1. data files (any order, in parallel)
//     mm-manifest.json                         2. this manifest: every file, size, sha256
//     meta.json                                3. last: its presence means "complete"
//
// Prometheus ignores unknown files in a block dir (verified with 2.42 in
// prometheus.test.ts), so the remote dir stays a loadable block. Blocks uploaded by the
// Go plugin have no manifest; they are accepted as they are.

import {createHash} from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import {Transform, type TransformCallback} from 'node:stream';

export const MANIFEST_FILENAME = 'mm-manifest.json';
export const MANIFEST_VERSION = 1;
export const META_FILENAME = 'meta.json';

export interface ManifestFile {
  /** Relative to the block dir, slash-separated (`chunks/000001`). */
  path: string;
  size: number;
  /** Lower-case hex. */
  sha256: string;
}

export interface Manifest {
  version: number;
  ulid: string;
  /** Every file of the block, meta.json included (uploaded after the manifest). */
  files: ManifestFile[];
}

export class ManifestError extends Error {
  override name = 'ManifestError';
}

export function encodeManifest(m: Manifest): string {
  const files = [...m.files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return `${JSON.stringify({version: m.version, ulid: m.ulid, createdBy: 'mattermost-plugin-metrics', files}, null, 2)}\n`;
}

/** Parses and validates a manifest; throws ManifestError. */
export function decodeManifest(text: string): Manifest {
  let j: unknown;
  try {
    j = JSON.parse(text);
  } catch (e) {
    throw new ManifestError(`invalid manifest JSON: ${(e as Error).message}`);
  }
  const o = j as Record<string, unknown> | null;
  if (typeof o !== 'object' || o === null || Array.isArray(o)) throw new ManifestError('manifest is not an object');
  if (o.version !== MANIFEST_VERSION) throw new ManifestError(`unsupported manifest version ${JSON.stringify(o.version)}`);
  if (typeof o.ulid !== 'string') throw new ManifestError('manifest without ulid');
  if (!Array.isArray(o.files)) throw new ManifestError('manifest without files');
  const files: ManifestFile[] = [];
  const seen = new Set<string>();
  for (const f of o.files as unknown[]) {
    const e = f as Record<string, unknown> | null;
    if (
      typeof e !== 'object' ||
      e === null ||
      typeof e.path !== 'string' ||
      !isSafeRelPath(e.path) ||
      !Number.isSafeInteger(e.size) ||
      (e.size as number) < 0 ||
      typeof e.sha256 !== 'string' ||
      !/^[0-9a-f]{64}$/.test(e.sha256)
    ) {
      throw new ManifestError(`invalid manifest entry ${JSON.stringify(f)}`);
    }
    if (seen.has(e.path)) throw new ManifestError(`duplicate manifest entry ${e.path}`);
    seen.add(e.path);
    files.push({path: e.path, size: e.size as number, sha256: e.sha256});
  }
  return {version: MANIFEST_VERSION, ulid: o.ulid, files};
}

/** A relative slash path without `..`, empty or absolute parts. */
export function isSafeRelPath(p: string): boolean {
  return p.length > 0 && !p.startsWith('/') && p.split('/').every((s) => s !== '' && s !== '.' && s !== '..');
}

/**
 * Counts and hashes what flows through it. `result()` is only available once the
 * stream ended (flush ran), i.e. the consumer read everything.
 */
export class HashingStream extends Transform {
  private readonly hash = createHash('sha256');
  private bytes = 0;
  private digest: string | null = null;

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    cb(null, chunk);
  }

  override _flush(cb: TransformCallback): void {
    this.digest = this.hash.digest('hex');
    cb();
  }

  /** {size, sha256} of everything that passed, or null if the stream did not end. */
  result(): {size: number; sha256: string} | null {
    return this.digest === null ? null : {size: this.bytes, sha256: this.digest};
  }
}

/** sha256 and size of a file, streamed. */
export async function hashFile(file: string, signal?: AbortSignal): Promise<{size: number; sha256: string}> {
  const h = createHash('sha256');
  let size = 0;
  const rs = fs.createReadStream(file, {signal});
  for await (const chunk of rs as AsyncIterable<Buffer>) {
    h.update(chunk);
    size += chunk.length;
  }
  return {size, sha256: h.digest('hex')};
}

/** sha256 and size of a stream, consumed to the end. */
export async function hashStream(s: AsyncIterable<Buffer | string>): Promise<{size: number; sha256: string}> {
  const h = createHash('sha256');
  let size = 0;
  for await (const chunk of s) {
    const b = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    h.update(b);
    size += b.length;
  }
  return {size, sha256: h.digest('hex')};
}

export function sha256(b: Buffer | string): string {
  return createHash('sha256').update(b).digest('hex');
}

export interface LocalFile {
  /** Relative, slash-separated. */
  rel: string;
  abs: string;
  size: number;
  mtimeMs: number;
}

/**
 * The regular files of a local block dir except meta.json and a stray manifest, in
 * upload order: chunk segments, then index, then everything else. Symlinks and other
 * non-regular entries are reported in `skipped` (upstream stopped copying at the first
 * symlink).
 */
export function listBlockFiles(dir: string): {files: LocalFile[]; skipped: string[]} {
  const files: LocalFile[] = [];
  const skipped: string[] = [];
  const walk = (abs: string, rel: string): void => {
    for (const e of fs.readdirSync(abs, {withFileTypes: true})) {
      const a = path.join(abs, e.name);
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(a, r);
      else if (e.isFile()) {
        if (r === META_FILENAME || r === MANIFEST_FILENAME) continue;
        const st = fs.statSync(a);
        files.push({rel: r, abs: a, size: st.size, mtimeMs: st.mtimeMs});
      } else skipped.push(r);
    }
  };
  walk(dir, '');
  const rank = (r: string): number => (r.startsWith('chunks/') ? 0 : r === 'index' ? 1 : 2);
  files.sort((a, b) => rank(a.rel) - rank(b.rel) || (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
  return {files, skipped};
}
