// `valet auth sessions` as a programmatic API: valet/auth's sessions read from and revoked in the
// app's database directly (a running server sees a revocation at once on its next check of that
// session: within 5 s), so it works whether or not a server runs.
import { UserError } from '../errors/user-error.js';
import { listSessions, revokeSessions, sessionView } from '../runtime/auth/signin/store.js';
import type { AuthSession } from '../runtime/auth/signin/store.js';
import type { SqlExecutor } from '../storage/sql.js';
import { withAppDatabase } from './open-app-database.js';

/** Whether the database has valet/auth's tables (one made by an older Valet has not). */
async function hasSessions(sql: SqlExecutor): Promise<boolean> {
  const probe =
    sql.dialect.name === 'postgres'
      ? "SELECT to_regclass('_valet_auth_sessions') IS NOT NULL AS found"
      : "SELECT COUNT(*) > 0 AS found FROM sqlite_master WHERE type = 'table' AND name = '_valet_auth_sessions'";
  return Boolean((await sql.get<{ found: boolean | number }>(probe))?.found);
}

export async function listAuthSessions(
  appDir: string,
  filter: { userId?: string; limit: number; now: number },
): Promise<AuthSession[]> {
  return withAppDatabase(appDir, async ({ sql }) =>
    (await hasSessions(sql))
      ? (await listSessions(sql, { userId: filter.userId, limit: filter.limit })).map((row) =>
          sessionView(row, filter.now),
        )
      : [],
  );
}

/** Revokes one session, or every live session of a user; how many were. */
export async function revokeAuthSessions(
  appDir: string,
  target: { sessionId: string } | { userId: string },
  now: number,
): Promise<number> {
  return withAppDatabase(
    appDir,
    async ({ sql }) => {
      if (!(await hasSessions(sql)))
        throw new UserError('this app has no valet/auth sessions (no valet/auth.ts has run)');
      // One statement: atomic without a transaction of its own.
      return revokeSessions(sql, target, 'revoked with valet auth sessions revoke', now);
    },
    { writable: true },
  );
}
