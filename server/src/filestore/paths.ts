// File-store paths: slash-separated, relative to the store root, never escaping it.
// The same rules for both backends, so a path that works on `local` works on `amazons3`.

import {FileStoreError} from './backend.ts';

/**
 * Normalises a store path: collapses repeated and trailing slashes and rejects what could
 * escape the root or mean something else on one backend (absolute paths, `.`/`..` segments,
 * NUL, backslashes). `allowRoot` admits '' (the root itself, for listings).
 */
export function cleanPath(op: string, p: string, opts: {allowRoot?: boolean} = {}): string {
  if (typeof p !== 'string') throw new FileStoreError(op, String(p), 'path must be a string');
  if (p.includes('\0')) throw new FileStoreError(op, p.replaceAll('\0', '\\0'), 'path contains a NUL byte');
  if (p.includes('\\')) throw new FileStoreError(op, p, 'path contains a backslash');
  if (p.startsWith('/')) throw new FileStoreError(op, p, 'path must be relative to the file-store root');
  const parts = p.split('/').filter((s) => s !== '');
  for (const s of parts) {
    if (s === '.' || s === '..') throw new FileStoreError(op, p, `path segment "${s}" is not allowed`);
  }
  const out = parts.join('/');
  if (out === '' && !opts.allowRoot) throw new FileStoreError(op, p, 'empty path');
  return out;
}

/** `a` + '/' + `b`, either may be ''. */
export function joinPath(a: string, b: string): string {
  if (a === '') return b;
  if (b === '') return a;
  return `${a}/${b}`;
}

/** Validates an inclusive byte range against a file size (same rules on both backends). */
export function checkRange(op: string, p: string, range: {start: number; end: number}, size?: number): void {
  const {start, end} = range;
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end < start) {
    throw new FileStoreError(op, p, `invalid byte range ${start}-${end}`);
  }
  if (size !== undefined && start >= size) {
    throw new FileStoreError(op, p, `byte range ${start}-${end} not satisfiable (size ${size})`);
  }
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as {code?: unknown}).code;
    return typeof code === 'string' && !err.message.includes(code) ? `${err.message} (${code})` : err.message;
  }
  return String(err);
}
