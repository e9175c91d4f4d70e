// Local state under .valet/: the dev signing key (ES256) that `valet token` signs with and the
// dev server trusts, and the admin key for /admin and admin CLI calls. Created on first use.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { exportJWK, generateKeyPair, importJWK, SignJWT } from 'jose';
import type { JWK } from 'jose';
import { authConfigFromJwks } from './auth.js';
import type { AuthConfig } from './auth.js';

export const DEV_ISSUER = 'valet-dev';
export const DEV_AUDIENCE = 'valet';
const KEY_FILE = 'dev-signing-key.json';
const ADMIN_KEY_FILE = 'admin-key';

interface DevKey {
  kid: string;
  privateJwk: JWK;
  publicJwk: JWK;
}

function writePrivate(path: string, content: string): void {
  writeFileSync(path, content, { mode: 0o600 });
}

export async function loadOrCreateDevKey(stateDir: string): Promise<DevKey> {
  const path = join(stateDir, KEY_FILE);
  if (existsSync(path)) return JSON.parse(readFileSync(path, 'utf8')) as DevKey;
  mkdirSync(stateDir, { recursive: true });
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  const kid = randomBytes(8).toString('hex');
  const key: DevKey = { kid, privateJwk: { ...(await exportJWK(privateKey)), kid, alg: 'ES256' }, publicJwk: { ...(await exportJWK(publicKey)), kid, alg: 'ES256' } };
  writePrivate(path, `${JSON.stringify(key, null, 2)}\n`);
  return key;
}

/** Trusts tokens signed with the app's dev key: ES256 only, so an HS256 token "signed" with the public key is refused. */
export async function devAuthConfig(stateDir: string): Promise<AuthConfig> {
  const key = await loadOrCreateDevKey(stateDir);
  return authConfigFromJwks({ keys: [key.publicJwk] }, DEV_ISSUER, DEV_AUDIENCE, ['ES256'], `dev key ${join(stateDir, KEY_FILE)}`);
}

export async function signDevToken(stateDir: string, userId: string, options: { expiresIn?: string; claims?: Record<string, unknown>; now?: number } = {}): Promise<string> {
  const key = await loadOrCreateDevKey(stateDir);
  const privateKey = await importJWK(key.privateJwk, 'ES256');
  const issuedAt = Math.floor((options.now ?? Date.now()) / 1000);
  return new SignJWT({ ...options.claims })
    .setProtectedHeader({ alg: 'ES256', kid: key.kid, typ: 'JWT' })
    .setSubject(userId)
    .setIssuer(DEV_ISSUER)
    .setAudience(DEV_AUDIENCE)
    .setIssuedAt(issuedAt)
    .setExpirationTime(options.expiresIn ?? '24h')
    .sign(privateKey);
}

export function loadOrCreateAdminKey(stateDir: string): string {
  const path = join(stateDir, ADMIN_KEY_FILE);
  if (existsSync(path)) return readFileSync(path, 'utf8').trim();
  mkdirSync(stateDir, { recursive: true });
  const key = `valet_admin_${randomBytes(24).toString('base64url')}`;
  writePrivate(path, `${key}\n`);
  return key;
}

export function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}
