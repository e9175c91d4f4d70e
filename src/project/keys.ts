// Keys kept under .valet/, created on first use, readable by the owner only: the dev signing key
// (ES256) that `valet token` signs with and `valet dev` trusts, the admin key that admin
// endpoints and admin CLI calls present, and the VAPID key pair push messages are signed with.
import { createECDH, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { JWK } from 'jose';
import { adminKeyPathOf, devKeyPathOf, vapidKeysPathOf } from './paths.js';

export const DEV_ISSUER = 'valet-dev';
export const DEV_AUDIENCE = 'valet';

export interface DevKey {
  kid: string;
  privateJwk: JWK;
  publicJwk: JWK;
}

function writePrivate(path: string, content: string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, content, { mode: 0o600 });
}

export async function loadOrCreateDevKey(appDir: string): Promise<DevKey> {
  const path = devKeyPathOf(appDir);
  if (existsSync(path)) return JSON.parse(readFileSync(path, 'utf8')) as DevKey;
  // jose only when a key must be made: a server with its key in .valet/ starts without it.
  const { exportJWK, generateKeyPair } = await import('jose');
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  const kid = randomBytes(8).toString('hex');
  const key: DevKey = {
    kid,
    privateJwk: { ...(await exportJWK(privateKey)), kid, alg: 'ES256' },
    publicJwk: { ...(await exportJWK(publicKey)), kid, alg: 'ES256' },
  };
  writePrivate(path, `${JSON.stringify(key, null, 2)}\n`);
  return key;
}

export async function signDevToken(
  appDir: string,
  userId: string,
  options: { expiresIn?: string; claims?: Record<string, unknown>; now?: number } = {},
): Promise<string> {
  const key = await loadOrCreateDevKey(appDir);
  const { importJWK, SignJWT } = await import('jose');
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

export function loadOrCreateAdminKey(appDir: string): string {
  const path = adminKeyPathOf(appDir);
  if (existsSync(path)) return readFileSync(path, 'utf8').trim();
  const key = `valet_admin_${randomBytes(24).toString('base64url')}`;
  writePrivate(path, `${key}\n`);
  return key;
}

export interface VapidKeyPair {
  /** The uncompressed P-256 public key, base64url: what browsers subscribe with. */
  publicKey: string;
  privateKey: string;
}

/** The app's VAPID keys in .valet/vapid-keys.json (development, and servers without VALET_VAPID_*). */
export function loadOrCreateVapidKeys(appDir: string): VapidKeyPair {
  const path = vapidKeysPathOf(appDir);
  if (existsSync(path)) return JSON.parse(readFileSync(path, 'utf8')) as VapidKeyPair;
  const ecdh = createECDH('prime256v1');
  ecdh.generateKeys();
  const keys: VapidKeyPair = {
    publicKey: ecdh.getPublicKey().toString('base64url'),
    privateKey: ecdh.getPrivateKey().toString('base64url'),
  };
  writePrivate(path, `${JSON.stringify(keys, null, 2)}\n`);
  return keys;
}
