// The signing keys of valet/auth's access tokens (ES256), kept in the database so every instance
// signs and verifies with the same ones. The newest key signs; a key older than ROTATE_MS gets a
// successor, and the others stay published (and trusted) until the last token they signed has
// expired. Read through a short cache: a key another instance made is seen within KEY_CACHE_MS,
// and at once when a token names a key id this instance has not seen yet.
import type { JWK, JWTVerifyGetKey, KeyObject } from 'jose';
import { randomBytes } from 'node:crypto';
import type { Connections } from '../../connections/types.js';
import { deleteKeysBefore, insertKey, listKeys } from './store.js';
import type { KeyRow } from './store.js';

export const ROTATE_MS = 30 * 24 * 60 * 60 * 1000;
const KEY_CACHE_MS = 60 * 1000;
/** A token naming an unknown key id re-reads the keys at most this often. */
const REREAD_MS = 1000;

export interface SigningKey {
  kid: string;
  privateKey: CryptoKey | KeyObject;
}

export class SigningKeys {
  private rows: KeyRow[] | null = null;
  private readAt = Number.NEGATIVE_INFINITY;
  private rereadAt = Number.NEGATIVE_INFINITY;
  private signing: SigningKey | null = null;
  private local: { keys: string; getter: JWTVerifyGetKey } | null = null;

  constructor(
    private readonly connections: Connections,
    private readonly now: () => number,
    /** How long an access token lives: how long a replaced key stays published. */
    private readonly tokenLifetimeMs: number,
  ) {}

  private async read(force = false): Promise<KeyRow[]> {
    const now = this.now();
    if (!force && this.rows && now - this.readAt < KEY_CACHE_MS) return this.rows;
    this.rows = await listKeys(this.connections.autoCommit.sql);
    this.readAt = now;
    return this.rows;
  }

  /**
   * Makes a key when there is none, rotates to a new one when the newest is old, drops keys no
   * valid token can name. Its own transactions: call it before a sign-in's transaction, never inside.
   */
  async ensure(): Promise<void> {
    const jose = await import('jose');
    let rows = await this.read();
    const now = this.now();
    if (rows.length === 0 || now - rows[0]!.created_at >= ROTATE_MS) {
      const pair = await jose.generateKeyPair('ES256', { extractable: true });
      const kid = randomBytes(12).toString('base64url');
      const publicJwk = { ...(await jose.exportJWK(pair.publicKey)), kid, alg: 'ES256', use: 'sig' };
      const privateJwk = { ...(await jose.exportJWK(pair.privateKey)), kid, alg: 'ES256' };
      await this.connections.inWriteTransaction(async (store) => {
        // Another instance may have rotated meanwhile: then its key is the one to use.
        const newest = (await listKeys(store.sql))[0];
        if (newest && now - newest.created_at < ROTATE_MS) return;
        await insertKey(store.sql, {
          kid,
          private_jwk: JSON.stringify(privateJwk),
          public_jwk: JSON.stringify(publicJwk),
          created_at: now,
        });
      });
      rows = await this.read(true);
    }
    const newest = rows[0]!;
    // Keys replaced longer ago than a token lives sign nothing still valid.
    if (rows.length > 1 && now - newest.created_at > this.tokenLifetimeMs + 60_000) {
      await this.connections.inWriteTransaction((store) => deleteKeysBefore(store.sql, newest.created_at, newest.kid));
      await this.read(true);
    }
  }

  /** The key to sign with now (the newest; ensure() made one). Writes nothing: safe inside a transaction. */
  async current(): Promise<SigningKey> {
    const jose = await import('jose');
    const rows = await this.read();
    const newest = rows[0];
    if (!newest) throw new Error('valet/auth has no signing key yet (SigningKeys.ensure was not called)');
    if (this.signing?.kid !== newest.kid)
      this.signing = {
        kid: newest.kid,
        privateKey: (await jose.importJWK(JSON.parse(newest.private_jwk) as JWK, 'ES256')) as CryptoKey | KeyObject,
      };
    return this.signing;
  }

  /** The public keys, as /.well-known/jwks.json publishes them. */
  async jwks(): Promise<{ keys: JWK[] }> {
    return { keys: (await this.read()).map((row) => JSON.parse(row.public_jwk) as JWK) };
  }

  /** Verifies this app's own tokens: the published keys, re-read when a token names one not seen yet. */
  readonly getKey = (async (header, token) => {
    const jose = await import('jose');
    const lookup = async (force: boolean) => {
      const rows = await this.read(force);
      const keys = JSON.stringify(rows.map((r) => r.kid));
      if (this.local?.keys !== keys)
        this.local = { keys, getter: jose.createLocalJWKSet({ keys: rows.map((r) => JSON.parse(r.public_jwk)) }) };
      return this.local.getter(header, token);
    };
    try {
      return await lookup(false);
    } catch (error) {
      const now = this.now();
      if (!(error instanceof jose.errors.JWKSNoMatchingKey) || now - this.rereadAt < REREAD_MS) throw error;
      this.rereadAt = now;
      return lookup(true);
    }
  }) as JWTVerifyGetKey;
}
