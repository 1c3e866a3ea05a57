// A minimal writer of Prometheus' WAL format (reader.ts documents it), for crafting cases a
// real Prometheus does not produce on demand: checkpoints, torn tails, corrupt pages,
// duplicate series records.
import {compress} from 'snappyjs';
import {crc32c} from '../../encoding/mod.ts';

const PAGE = 32 * 1024;

export type WalRecord =
  | {series: Array<{ref: number; labels: Record<string, string>}>}
  | {samples: Array<{ref: number; t: number; v: number}>}
  | {raw: Buffer};

function uvarint(n: number): number[] {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n % 0x80) | 0x80);
    n = Math.floor(n / 0x80);
  }
  out.push(n);
  return out;
}

const varint = (n: number): number[] => uvarint(n < 0 ? -2 * n - 1 : 2 * n);

function be64(n: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigInt64BE(BigInt(n));
  return b;
}

export function encodeRecord(r: WalRecord): Buffer {
  if ('raw' in r) return r.raw;
  const parts: Buffer[] = [];
  if ('series' in r) {
    parts.push(Buffer.from([1]));
    for (const s of r.series) {
      parts.push(be64(s.ref));
      const entries = Object.entries(s.labels).sort(([a], [b]) => (a < b ? -1 : 1));
      parts.push(Buffer.from(uvarint(entries.length)));
      for (const [k, v] of entries) for (const x of [k, v]) parts.push(Buffer.from(uvarint(Buffer.byteLength(x))), Buffer.from(x));
    }
  } else {
    parts.push(Buffer.from([2]));
    if (r.samples.length > 0) {
      const first = r.samples[0];
      parts.push(be64(first.ref), be64(first.t));
      for (const s of r.samples) {
        const v = Buffer.alloc(8);
        v.writeDoubleBE(s.v);
        parts.push(Buffer.from(varint(s.ref - first.ref)), Buffer.from(varint(s.t - first.t)), v);
      }
    }
  }
  return Buffer.concat(parts);
}

/** A segment: records split into page-bounded fragments, the last page left short. */
export function encodeSegment(records: WalRecord[], opts: {snappy?: boolean} = {}): Buffer {
  const out: Buffer[] = [];
  let length = 0;
  const put = (b: Buffer): void => {
    out.push(b);
    length += b.length;
  };
  const page = (): number => PAGE - (length % PAGE);
  for (const r of records) {
    let data = encodeRecord(r);
    if (opts.snappy) data = Buffer.from(compress(data));
    let off = 0;
    let first = true;
    do {
      if (page() < 7) put(Buffer.alloc(page()));
      const n = Math.min(data.length - off, page() - 7);
      const last = off + n === data.length;
      const type = first && last ? 1 : first ? 2 : last ? 4 : 3;
      const frag = data.subarray(off, off + n);
      const h = Buffer.alloc(7);
      h[0] = type | (opts.snappy ? 0x08 : 0);
      h.writeUInt16BE(n, 1);
      h.writeUInt32BE(crc32c(frag), 3);
      put(h);
      put(frag);
      off += n;
      first = false;
    } while (off < data.length);
  }
  return Buffer.concat(out, length);
}
