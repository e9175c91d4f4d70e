// Document ids: random, not sequential, so they leak nothing about counts or order and never
// collide across instances.
import { randomFillSync } from 'node:crypto';

const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';

/**
 * The CSPRNG's output, drawn 4 KiB at a time: one call per 256 ids instead of one per id (a call
 * costs several µs on some machines, and every insert makes an id). Each byte is used once.
 */
const pool = Buffer.alloc(4096);
let used = pool.length;

/** A random 128-bit id in Crockford base32 (26 characters): unique across the whole database. */
export function newId(): string {
  if (used + 16 > pool.length) {
    randomFillSync(pool);
    used = 0;
  }
  const start = used;
  used += 16;
  let bits = 0;
  let value = 0;
  let out = '';
  for (let i = start; i < start + 16; i++) {
    const byte = pool[i]!;
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += ALPHABET[(value << (5 - bits)) & 31];
  return out;
}
