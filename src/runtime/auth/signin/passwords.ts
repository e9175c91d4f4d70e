// Passwords: hashed with Node's scrypt (memory-hard; no native addon to build), parameters stored
// with each hash so they can be raised later without locking anyone out. Checked in constant time;
// an unknown account is checked against a dummy hash of the same cost, so the answer's timing does
// not tell whether the email has an account.
import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';

/**
 * N = 2^15, r = 8, p = 3: one of OWASP's equivalent scrypt minimums (the same work as N = 2^17,
 * p = 1 in a quarter of the memory: 32 MiB per hash). Run on libuv's thread pool, never the event loop.
 */
export const SCRYPT = { N: 2 ** 15, r: 8, p: 3, keyLength: 32, saltLength: 16 } as const;
export const MAX_PASSWORD_LENGTH = 256;

/** The commonest passwords (breach corpora's top entries), refused whatever their length. */
const COMMON = new Set([
  'password',
  'password1',
  'password123',
  '12345678',
  '123456789',
  '1234567890',
  'qwertyuiop',
  'qwerty123',
  '11111111',
  '00000000',
  'iloveyou',
  'abc12345',
  'abcd1234',
  'football',
  'baseball',
  'sunshine1',
  'princess',
  'welcome1',
  'letmein1',
  'passw0rd',
  'p@ssw0rd',
  'trustno1',
  'superman',
  'starwars',
  'dragon123',
  'monkey123',
  'changeme',
  'admin123',
  'qwerty12',
  '1q2w3e4r',
  'zaq12wsx',
  '87654321',
  'asdfghjk',
  'asdf1234',
]);

function derive(password: string, salt: Buffer, params: { N: number; r: number; p: number; keyLength: number }) {
  return new Promise<Buffer>((resolve, reject) =>
    scrypt(
      password.normalize('NFKC'),
      salt,
      params.keyLength,
      { N: params.N, r: params.r, p: params.p, maxmem: 256 * params.N * params.r + 1024 * 1024 },
      (error, key) => (error ? reject(error) : resolve(key)),
    ),
  );
}

/** Why a new password is refused, or null: length, one repeated character, a well-known one. */
export function passwordProblem(password: unknown, minLength: number): string | null {
  if (typeof password !== 'string') return 'a password is required';
  if (password.length < minLength) return `the password must be at least ${minLength} characters`;
  if (password.length > MAX_PASSWORD_LENGTH) return `the password must be at most ${MAX_PASSWORD_LENGTH} characters`;
  if (new Set(password).size === 1) return 'the password must not be one character repeated';
  if (COMMON.has(password.toLowerCase())) return 'that password is among the most common ones: choose another';
  return null;
}

/** `scrypt$N$r$p$<salt>$<hash>` (base64url). */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(SCRYPT.saltLength);
  const key = await derive(password, salt, SCRYPT);
  return ['scrypt', SCRYPT.N, SCRYPT.r, SCRYPT.p, salt.toString('base64url'), key.toString('base64url')].join('$');
}

let dummy: Promise<string> | null = null;

/** Whether `password` matches `stored`; with no stored hash, spends the same time and says no. */
export async function verifyPassword(password: string, stored: string | null): Promise<boolean> {
  if (stored === null) {
    dummy ??= hashPassword('valet-dummy-password');
    await verifyPassword(password, await dummy);
    return false;
  }
  const [scheme, N, r, p, salt, hash] = stored.split('$');
  if (scheme !== 'scrypt' || !salt || !hash) return false;
  const expected = Buffer.from(hash, 'base64url');
  const key = await derive(password, Buffer.from(salt, 'base64url'), {
    N: Number(N),
    r: Number(r),
    p: Number(p),
    keyLength: expected.length,
  });
  return key.length === expected.length && timingSafeEqual(key, expected);
}
