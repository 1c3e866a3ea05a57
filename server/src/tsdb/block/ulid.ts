// ULIDs (https://github.com/ulid/spec): 48-bit ms timestamp + 80 random bits, Crockford
// base32, 26 characters, upper case. Block directories are named by them.

import {randomBytes} from 'node:crypto';

const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const ULID_RE = /^[0-7][0-9A-HJKMNP-TV-Z]{25}$/i;

function encode(ms: number, rand: Uint8Array): string {
  let s = '';
  let t = ms;
  for (let i = 9; i >= 0; i--) {
    s = ALPHABET[t % 32] + s;
    t = Math.floor(t / 32);
  }
  // 80 random bits → 16 chars, 5 bits each, MSB first.
  let acc = 0;
  let bits = 0;
  for (const byte of rand) {
    acc = (acc << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      s += ALPHABET[(acc >>> bits) & 31];
    }
    acc &= (1 << bits) - 1;
  }
  return s;
}

/** A new ULID for time `ms` (default now). */
export function newULID(ms: number = Date.now()): string {
  if (!Number.isInteger(ms) || ms < 0 || ms >= 2 ** 48) throw new RangeError(`ulid time ${ms} out of range`);
  return encode(ms, randomBytes(10));
}

/**
 * Monotonic generator: within the same millisecond the random part is incremented,
 * so ULIDs from one generator sort in creation order. Keep one per writer.
 */
export class MonotonicULID {
  private lastMs = -1;
  private last = new Uint8Array(10);

  next(ms: number = Date.now()): string {
    if (ms <= this.lastMs) {
      ms = this.lastMs;
      for (let i = 9; i >= 0; i--) {
        if (this.last[i] === 0xff) {
          this.last[i] = 0;
          continue;
        }
        this.last[i]++;
        break;
      }
    } else {
      this.lastMs = ms;
      this.last = new Uint8Array(randomBytes(10));
      this.last[0] &= 0x7f; // leave headroom for increments
    }
    return encode(ms, this.last);
  }
}

/** True for a 26-char ULID string (Go's ulid.ParseStrict accepts either case). */
export function isULID(s: string): boolean {
  return ULID_RE.test(s);
}

/** Millisecond timestamp of a ULID. */
export function ulidTime(s: string): number {
  let t = 0;
  for (let i = 0; i < 10; i++) t = t * 32 + ALPHABET.indexOf(s[i].toUpperCase());
  return t;
}
