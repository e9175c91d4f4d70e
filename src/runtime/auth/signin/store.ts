// valet/auth's system tables (SQLite migration 10, PostgreSQL 8): accounts, sessions, refresh
// tokens and codes (secrets only as SHA-256 hashes), signing keys, rate-limit windows. Every
// function takes the executor of the transaction it belongs to.
import { createHash } from 'node:crypto';
import type { SqlExecutor } from '../../../storage/sql.js';

export const sha256 = (text: string) => createHash('sha256').update(text).digest('base64url');

export interface AccountRow {
  provider: string;
  account: string;
  user_id: string;
  secret: string | null;
  verified_at: number | null;
  /** The account's address (an OpenID Connect account's may be null: the provider gave none). */
  email: string | null;
}

export async function findAccount(sql: SqlExecutor, provider: string, account: string): Promise<AccountRow | null> {
  return (
    (await sql.get<AccountRow>(
      'SELECT provider, account, user_id, secret, verified_at, email FROM _valet_auth_accounts WHERE provider = ? AND account = ?',
      [provider, account],
    )) ?? null
  );
}

export async function accountsOfUser(sql: SqlExecutor, userId: string): Promise<AccountRow[]> {
  return sql.all<AccountRow>(
    'SELECT provider, account, user_id, secret, verified_at, email FROM _valet_auth_accounts WHERE user_id = ? ORDER BY provider',
    [userId],
  );
}

export async function insertAccount(
  sql: SqlExecutor,
  row: {
    provider: string;
    account: string;
    userId: string;
    secret: string | null;
    verifiedAt: number | null;
    now: number;
    /** Password and email-code accounts: the account itself. */
    email?: string | null;
  },
): Promise<void> {
  await sql.run(
    'INSERT INTO _valet_auth_accounts (provider, account, user_id, secret, verified_at, created_at, email) VALUES (?, ?, ?, ?, ?, ?, ?)',
    [
      row.provider,
      row.account,
      row.userId,
      row.secret,
      row.verifiedAt,
      row.now,
      row.email === undefined ? row.account : row.email,
    ],
  );
}

/** A password account whose address was just proven: its user, its password, confirmed (once). */
export async function confirmAccount(
  sql: SqlExecutor,
  provider: string,
  account: string,
  change: { userId: string; secret: string; verifiedAt: number },
): Promise<void> {
  await sql.run(
    'UPDATE _valet_auth_accounts SET user_id = ?, secret = ?, verified_at = COALESCE(verified_at, ?) WHERE provider = ? AND account = ?',
    [change.userId, change.secret, change.verifiedAt, provider, account],
  );
}

export interface SessionRow {
  id: string;
  user_id: string;
  provider: string;
  created_at: number;
  last_used_at: number;
  expires_at: number;
  revoked_at: number | null;
  revoked_reason: string | null;
  client: string | null;
}

const SESSION_COLUMNS =
  'id, user_id, provider, created_at, last_used_at, expires_at, revoked_at, revoked_reason, client';

const sessionOf = (row: SessionRow): SessionRow => ({
  ...row,
  created_at: Number(row.created_at),
  last_used_at: Number(row.last_used_at),
  expires_at: Number(row.expires_at),
  revoked_at: row.revoked_at === null ? null : Number(row.revoked_at),
});

export interface AuthSession {
  id: string;
  userId: string;
  provider: string;
  createdAt: string;
  lastUsedAt: string;
  expiresAt: string;
  /** `active`, `expired`, or `revoked`. */
  status: 'active' | 'expired' | 'revoked';
  revokedReason: string | null;
  client: string | null;
}

/** A session as the CLI and the dashboard show it (never a token or hash). */
export function sessionView(row: SessionRow, now: number): AuthSession {
  return {
    id: row.id,
    userId: row.user_id,
    provider: row.provider,
    createdAt: new Date(row.created_at).toISOString(),
    lastUsedAt: new Date(row.last_used_at).toISOString(),
    expiresAt: new Date(row.expires_at).toISOString(),
    status: row.revoked_at !== null ? 'revoked' : row.expires_at <= now ? 'expired' : 'active',
    revokedReason: row.revoked_reason,
    client: row.client,
  };
}

export async function insertSession(sql: SqlExecutor, row: Omit<SessionRow, 'revoked_at' | 'revoked_reason'>) {
  await sql.run(`INSERT INTO _valet_auth_sessions (${SESSION_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, NULL, NULL, ?)`, [
    row.id,
    row.user_id,
    row.provider,
    row.created_at,
    row.last_used_at,
    row.expires_at,
    row.client,
  ]);
}

export async function getSession(sql: SqlExecutor, id: string): Promise<SessionRow | null> {
  const row = await sql.get<SessionRow>(`SELECT ${SESSION_COLUMNS} FROM _valet_auth_sessions WHERE id = ?`, [id]);
  return row ? sessionOf(row) : null;
}

export async function listSessions(
  sql: SqlExecutor,
  filter: { userId?: string; limit: number },
): Promise<SessionRow[]> {
  const rows = filter.userId
    ? await sql.all<SessionRow>(
        `SELECT ${SESSION_COLUMNS} FROM _valet_auth_sessions WHERE user_id = ? ORDER BY created_at DESC, id DESC LIMIT ?`,
        [filter.userId, filter.limit],
      )
    : await sql.all<SessionRow>(
        `SELECT ${SESSION_COLUMNS} FROM _valet_auth_sessions ORDER BY created_at DESC, id DESC LIMIT ?`,
        [filter.limit],
      );
  return rows.map(sessionOf);
}

/** Revokes a session (or, with `userId`, every live session of the user); how many were. */
export async function revokeSessions(
  sql: SqlExecutor,
  target: { sessionId: string } | { userId: string },
  reason: string,
  now: number,
): Promise<number> {
  const [where, key] = 'sessionId' in target ? ['id = ?', target.sessionId] : ['user_id = ?', target.userId];
  return (
    await sql.run(
      `UPDATE _valet_auth_sessions SET revoked_at = ?, revoked_reason = ? WHERE ${where} AND revoked_at IS NULL`,
      [now, reason, key],
    )
  ).changes;
}

export async function touchSession(sql: SqlExecutor, id: string, now: number): Promise<void> {
  await sql.run('UPDATE _valet_auth_sessions SET last_used_at = ? WHERE id = ?', [now, id]);
}

export interface RefreshRow {
  hash: string;
  session_id: string;
  expires_at: number;
  used_at: number | null;
}

export async function insertRefreshToken(
  sql: SqlExecutor,
  row: { hash: string; sessionId: string; now: number; expiresAt: number },
): Promise<void> {
  await sql.run(
    'INSERT INTO _valet_auth_refresh_tokens (hash, session_id, created_at, expires_at, used_at) VALUES (?, ?, ?, ?, NULL)',
    [row.hash, row.sessionId, row.now, row.expiresAt],
  );
}

export async function findRefreshToken(sql: SqlExecutor, hash: string): Promise<RefreshRow | null> {
  const row = await sql.get<RefreshRow>(
    'SELECT hash, session_id, expires_at, used_at FROM _valet_auth_refresh_tokens WHERE hash = ?',
    [hash],
  );
  return row
    ? { ...row, expires_at: Number(row.expires_at), used_at: row.used_at === null ? null : Number(row.used_at) }
    : null;
}

/** Marks a refresh token used, only if it was not: false when another request used it first. */
export async function useRefreshToken(sql: SqlExecutor, hash: string, now: number): Promise<boolean> {
  return (
    (await sql.run('UPDATE _valet_auth_refresh_tokens SET used_at = ? WHERE hash = ? AND used_at IS NULL', [now, hash]))
      .changes === 1
  );
}

export interface CodeRow {
  id: string;
  hash: string;
  expires_at: number;
  attempts: number;
  /** A sign-up's password hash, set on the account when this code confirms the address. */
  secret: string | null;
}

/** A new code for (email, purpose); earlier unused ones stop working. */
export async function insertCode(
  sql: SqlExecutor,
  row: { id: string; purpose: string; email: string; hash: string; now: number; expiresAt: number; secret?: string },
): Promise<void> {
  await sql.run('UPDATE _valet_auth_codes SET used_at = ? WHERE email = ? AND purpose = ? AND used_at IS NULL', [
    row.now,
    row.email,
    row.purpose,
  ]);
  await sql.run(
    'INSERT INTO _valet_auth_codes (id, purpose, email, hash, created_at, expires_at, attempts, used_at, secret) VALUES (?, ?, ?, ?, ?, ?, 0, NULL, ?)',
    [row.id, row.purpose, row.email, row.hash, row.now, row.expiresAt, row.secret ?? null],
  );
}

/** The live code for (email, purpose), if any. */
export async function liveCode(sql: SqlExecutor, email: string, purpose: string, now: number): Promise<CodeRow | null> {
  const row = await sql.get<CodeRow>(
    'SELECT id, hash, expires_at, attempts, secret FROM _valet_auth_codes WHERE email = ? AND purpose = ? AND used_at IS NULL AND expires_at > ? ORDER BY created_at DESC LIMIT 1',
    [email, purpose, now],
  );
  return row ? { ...row, expires_at: Number(row.expires_at), attempts: Number(row.attempts) } : null;
}

export async function spendCode(sql: SqlExecutor, id: string, now: number): Promise<void> {
  await sql.run('UPDATE _valet_auth_codes SET used_at = ? WHERE id = ?', [now, id]);
}

/** A wrong guess: counted; the code dies at `maxAttempts`. */
export async function failCodeAttempt(sql: SqlExecutor, id: string, maxAttempts: number, now: number): Promise<void> {
  await sql.run(
    'UPDATE _valet_auth_codes SET attempts = attempts + 1, used_at = CASE WHEN attempts + 1 >= ? THEN ? ELSE used_at END WHERE id = ?',
    [maxAttempts, now, id],
  );
}

export interface KeyRow {
  kid: string;
  private_jwk: string;
  public_jwk: string;
  created_at: number;
}

export async function listKeys(sql: SqlExecutor): Promise<KeyRow[]> {
  const rows = await sql.all<KeyRow>(
    'SELECT kid, private_jwk, public_jwk, created_at FROM _valet_auth_keys ORDER BY created_at DESC, kid DESC',
  );
  return rows.map((row) => ({ ...row, created_at: Number(row.created_at) }));
}

export async function insertKey(sql: SqlExecutor, row: KeyRow): Promise<void> {
  await sql.run(
    'INSERT INTO _valet_auth_keys (kid, private_jwk, public_jwk, created_at) VALUES (?, ?, ?, ?) ON CONFLICT (kid) DO NOTHING',
    [row.kid, row.private_jwk, row.public_jwk, row.created_at],
  );
}

export async function deleteKeysBefore(sql: SqlExecutor, createdBefore: number, keep: string): Promise<void> {
  await sql.run('DELETE FROM _valet_auth_keys WHERE created_at < ? AND kid <> ?', [createdBefore, keep]);
}

/**
 * Counts one event against `key` in a fixed window: the count after it, and when the window
 * started. A new window starts when the last one is over.
 */
export async function countEvent(
  sql: SqlExecutor,
  key: string,
  windowMs: number,
  now: number,
): Promise<{ count: number; windowStart: number }> {
  const row = await sql.get<{ window_start: number; count: number }>(
    'SELECT window_start, count FROM _valet_auth_limits WHERE key = ?',
    [key],
  );
  if (!row || Number(row.window_start) + windowMs <= now) {
    await sql.run(
      'INSERT INTO _valet_auth_limits (key, window_start, count) VALUES (?, ?, 1) ON CONFLICT (key) DO UPDATE SET window_start = excluded.window_start, count = 1',
      [key, now],
    );
    return { count: 1, windowStart: now };
  }
  await sql.run('UPDATE _valet_auth_limits SET count = count + 1 WHERE key = ?', [key]);
  return { count: Number(row.count) + 1, windowStart: Number(row.window_start) };
}

export async function clearEvents(sql: SqlExecutor, key: string): Promise<void> {
  await sql.run('DELETE FROM _valet_auth_limits WHERE key = ?', [key]);
}
