// A signed-in session's pair: a short-lived access token (an ES256 JWT this app's keys sign, its
// `sid` naming the session) and a long-lived refresh token (random, stored only as a hash, good
// once: each refresh hands out the next one).
import { randomBytes } from 'node:crypto';
import type { SqlExecutor } from '../../../storage/sql.js';
import type { SigningKeys } from './keys.js';
import { insertRefreshToken, insertSession, sha256 } from './store.js';

export const ACCESS_TOKEN_MS = 15 * 60 * 1000;
export const REFRESH_TOKEN_MS = 30 * 24 * 60 * 60 * 1000;
/** The audience of valet/auth's tokens (the issuer is the app's: VALET_PUBLIC_URL or `valet-auth`). */
export const OWN_AUDIENCE = 'valet';

export interface TokenPair {
  token: string;
  refreshToken: string;
  /** When the access token expires (ms since the epoch). */
  expiresAt: number;
}

export interface TokenContext {
  keys: SigningKeys;
  issuer: string;
  /** Tokens carry wall time, as verification checks them (not the engine's injected clock). */
  wallNow: () => number;
  /** Sessions and refresh tokens expire on the engine's clock. */
  now: () => number;
}

export const newSecret = () => randomBytes(32).toString('base64url');
export const newSessionId = () => randomBytes(16).toString('base64url');

export async function signAccessToken(
  context: TokenContext,
  claims: { userId: string; sessionId: string; email: string | null; emailVerified: boolean },
): Promise<{ token: string; expiresAt: number }> {
  const { SignJWT } = await import('jose');
  const key = await context.keys.current();
  const issuedAt = Math.floor(context.wallNow() / 1000);
  const expiresAt = (issuedAt + ACCESS_TOKEN_MS / 1000) * 1000;
  const token = await new SignJWT({
    sid: claims.sessionId,
    ...(claims.email ? { email: claims.email, email_verified: claims.emailVerified } : {}),
  })
    .setProtectedHeader({ alg: 'ES256', kid: key.kid, typ: 'JWT' })
    .setIssuer(context.issuer)
    .setAudience(OWN_AUDIENCE)
    .setSubject(claims.userId)
    .setIssuedAt(issuedAt)
    .setExpirationTime(expiresAt / 1000)
    .sign(key.privateKey);
  return { token, expiresAt };
}

/** A new refresh token of a session, stored hashed; the plain one goes to the client only. */
export async function issueRefreshToken(sql: SqlExecutor, context: TokenContext, sessionId: string): Promise<string> {
  const refreshToken = newSecret();
  const now = context.now();
  await insertRefreshToken(sql, { hash: sha256(refreshToken), sessionId, now, expiresAt: now + REFRESH_TOKEN_MS });
  return refreshToken;
}

/** Starts a session for a user (in the caller's transaction) and hands out its first pair. */
export async function startSession(
  sql: SqlExecutor,
  context: TokenContext,
  user: { userId: string; provider: string; email: string | null; emailVerified: boolean; client: string | null },
): Promise<TokenPair> {
  const sessionId = newSessionId();
  const now = context.now();
  await insertSession(sql, {
    id: sessionId,
    user_id: user.userId,
    provider: user.provider,
    created_at: now,
    last_used_at: now,
    expires_at: now + REFRESH_TOKEN_MS,
    client: user.client,
  });
  const refreshToken = await issueRefreshToken(sql, context, sessionId);
  const { token, expiresAt } = await signAccessToken(context, { ...user, sessionId });
  return { token, refreshToken, expiresAt };
}
