// Comparing a presented secret (the admin key) in constant time: both sides are hashed first,
// so neither a wrong prefix nor a wrong length answers faster.
import { createHash, timingSafeEqual } from 'node:crypto';

const digest = (text: string) => createHash('sha256').update(text).digest();

export function sameSecret(given: string, expected: string): boolean {
  return timingSafeEqual(digest(given), digest(expected));
}
