// OpenID Connect sign-ins in flight (`_valet_auth_oauth`): a row per started flow, keyed by the
// hash of its `state`, holding what the callback must check (nonce, PKCE verifier, where to send
// the browser back); the callback turns it into a one-time exchange code (hashed) for the user it
// found. Each step works once: the callback only on a row not yet called back, the exchange only
// on one not yet used, both before the row expires.
import type { SqlExecutor } from '../../../storage/sql.js';

export interface OAuthFlowRow {
  state_hash: string;
  provider: string;
  pkce_verifier: string;
  nonce: string;
  callback_url: string;
  return_to: string;
  client_hash: string;
  expires_at: number;
  user_id: string | null;
  email: string | null;
  email_verified: number | null;
}

const COLUMNS =
  'state_hash, provider, pkce_verifier, nonce, callback_url, return_to, client_hash, expires_at, user_id, email, email_verified';

const rowOf = (row: OAuthFlowRow | undefined): OAuthFlowRow | null =>
  row ? { ...row, expires_at: Number(row.expires_at), email_verified: row.email_verified } : null;

export async function insertFlow(
  sql: SqlExecutor,
  flow: Omit<OAuthFlowRow, 'user_id' | 'email' | 'email_verified'> & { now: number },
): Promise<void> {
  // Flows nobody finished are dropped as new ones start (an hour after they expired).
  await sql.run('DELETE FROM _valet_auth_oauth WHERE expires_at < ?', [flow.now - 3_600_000]);
  await sql.run(
    'INSERT INTO _valet_auth_oauth (state_hash, provider, pkce_verifier, nonce, callback_url, return_to, client_hash, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
    [
      flow.state_hash,
      flow.provider,
      flow.pkce_verifier,
      flow.nonce,
      flow.callback_url,
      flow.return_to,
      flow.client_hash,
      flow.now,
      flow.expires_at,
    ],
  );
}

/**
 * Claims a started flow for its callback: the row, once (a second callback with the same `state`
 * finds nothing), or null when there is no such live flow. The claim marks it with a placeholder
 * code hash until `completeFlow` sets the real one.
 */
export async function claimFlow(
  sql: SqlExecutor,
  stateHash: string,
  provider: string,
  now: number,
): Promise<OAuthFlowRow | null> {
  const row = rowOf(
    await sql.get<OAuthFlowRow>(
      `SELECT ${COLUMNS} FROM _valet_auth_oauth WHERE state_hash = ? AND provider = ? AND code_hash IS NULL AND expires_at > ?`,
      [stateHash, provider, now],
    ),
  );
  if (!row) return null;
  const changed = await sql.run(
    'UPDATE _valet_auth_oauth SET code_hash = ? WHERE state_hash = ? AND code_hash IS NULL',
    [`claimed:${stateHash}`, stateHash],
  );
  return changed.changes === 1 ? row : null;
}

/** The flow's outcome: the user it signs in, behind a one-time exchange code (hashed), until `expiresAt`. */
export async function completeFlow(
  sql: SqlExecutor,
  stateHash: string,
  outcome: { codeHash: string; userId: string; email: string | null; emailVerified: boolean; expiresAt: number },
): Promise<void> {
  await sql.run(
    'UPDATE _valet_auth_oauth SET code_hash = ?, user_id = ?, email = ?, email_verified = ?, expires_at = ? WHERE state_hash = ?',
    [outcome.codeHash, outcome.userId, outcome.email, outcome.emailVerified ? 1 : 0, outcome.expiresAt, stateHash],
  );
}

/** Spends an exchange code: its flow, once, while it is live; null otherwise. */
export async function spendExchangeCode(
  sql: SqlExecutor,
  codeHash: string,
  provider: string,
  now: number,
): Promise<OAuthFlowRow | null> {
  const row = rowOf(
    await sql.get<OAuthFlowRow>(
      `SELECT ${COLUMNS} FROM _valet_auth_oauth WHERE code_hash = ? AND provider = ? AND used_at IS NULL AND user_id IS NOT NULL AND expires_at > ?`,
      [codeHash, provider, now],
    ),
  );
  if (!row) return null;
  const changed = await sql.run('UPDATE _valet_auth_oauth SET used_at = ? WHERE code_hash = ? AND used_at IS NULL', [
    now,
    codeHash,
  ]);
  return changed.changes === 1 ? row : null;
}
