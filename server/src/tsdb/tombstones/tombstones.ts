// Tombstones file (Prometheus tsdb/tombstones/tombstones.go):
//
//   magic 0x0130BA30 <4b> | version 1 <1b> | entry … | CRC32C(entries) <4b>
//   entry: seriesRef <uvarint> | mint <varint> | maxt <varint>   (deleted, inclusive)
//
// The CRC covers the entries only (not magic or version). An empty file is 9 bytes:
// 01 30 BA 30 01 00 00 00 00.

import fs from 'node:fs';
import {crc32c} from '../encoding/crc32c.ts';
import {Decbuf, Encbuf, hex32} from '../encoding/encoding.ts';
import {CorruptionError} from '../encoding/errors.ts';

export const MAGIC_TOMBSTONE = 0x0130ba30;
export const TOMBSTONES_FORMAT_V1 = 1;
export const TOMBSTONES_FILENAME = 'tombstones';

export interface Tombstone {
  seriesRef: number;
  minTime: number;
  maxTime: number;
}

export function encodeTombstones(entries: readonly Tombstone[] = []): Uint8Array {
  const e = new Encbuf(64);
  e.putBE32(MAGIC_TOMBSTONE);
  e.putByte(TOMBSTONES_FORMAT_V1);
  const from = e.length;
  for (const t of entries) {
    e.putUvarint(t.seriesRef);
    e.putVarint(t.minTime);
    e.putVarint(t.maxTime);
  }
  e.putCRC32CSince(from);
  return e.get().slice();
}

export function decodeTombstones(b: Uint8Array, file = TOMBSTONES_FILENAME): Tombstone[] {
  if (b.length < 9) throw new CorruptionError(file, 0, `tombstones file too short (${b.length} bytes)`);
  const d = new Decbuf(b, file, 0);
  const magic = d.be32();
  if (magic !== MAGIC_TOMBSTONE) throw new CorruptionError(file, 0, `invalid magic number ${hex32(magic)}`);
  const v = d.byte();
  if (v !== TOMBSTONES_FORMAT_V1) throw new CorruptionError(file, 4, `invalid tombstones version ${v}`);
  const want = new DataView(b.buffer, b.byteOffset + b.length - 4, 4).getUint32(0);
  const got = crc32c(b, 5, b.length - 4);
  if (want !== got) {
    throw new CorruptionError(file, b.length - 4, `checksum mismatch (stored ${hex32(want)}, computed ${hex32(got)})`);
  }
  const body = new Decbuf(b.subarray(5, b.length - 4), file, 5);
  const out: Tombstone[] = [];
  while (body.len() > 0 && body.err === null) {
    const seriesRef = body.uvarint();
    const minTime = body.varint();
    const maxTime = body.varint();
    if (body.err === null) out.push({seriesRef, minTime, maxTime});
  }
  if (body.err) throw body.err;
  return out;
}

/** Writes `<dir>/tombstones` (fsync'ed). */
export function writeTombstonesFile(dir: string, entries: readonly Tombstone[] = [], fsync = true): void {
  writeFileSynced(`${dir}/${TOMBSTONES_FILENAME}`, encodeTombstones(entries), fsync);
}

/** Reads `<dir>/tombstones`; a missing file means no tombstones. */
export function readTombstonesFile(dir: string): Tombstone[] {
  const file = `${dir}/${TOMBSTONES_FILENAME}`;
  let b: Buffer;
  try {
    b = fs.readFileSync(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new CorruptionError(file, -1, `read tombstones: ${(e as Error).message}`, {cause: e});
  }
  return decodeTombstones(b, file);
}

export function writeFileSynced(file: string, data: Uint8Array | string, fsync = true): void {
  const fd = fs.openSync(file, 'w', 0o644);
  try {
    fs.writeFileSync(fd, data);
    if (fsync) fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}
