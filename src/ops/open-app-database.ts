// The inspection commands read the app's database directly: read-only unless asked (safe beside
// a running server: SQLite's WAL lets them read while it writes; PostgreSQL is shared anyway),
// with a clear message when there is none yet.
import { existsSync } from 'node:fs';
import { relative } from 'node:path';
import { UserError } from '../errors/user-error.js';
import { AppEnv } from '../project/env-files.js';
import { databaseTargetOf } from '../serve/database-target.js';
import { openExecutor } from '../storage/open-executor.js';
import type { OpenExecutor } from '../storage/open-executor.js';

export async function openAppDatabase(appDir: string, options: { writable?: boolean } = {}): Promise<OpenExecutor> {
  // VALET_DATABASE_URL may come from the app's .env files, as for `valet run`.
  new AppEnv(appDir, 'development').apply();
  const target = databaseTargetOf(appDir);
  // Reading needs a database to read; writing (valet import) creates one.
  if (target.backend === 'sqlite' && !options.writable && !existsSync(target.database)) {
    throw new UserError(
      `no database yet at ${relative(process.cwd(), target.database) || target.database}: start the app (valet dev or valet start) or call a function (valet run) first`,
    );
  }
  return openExecutor(target.database, options);
}

/** Opens the app's database, runs `work` on it, closes it. */
export async function withAppDatabase<T>(
  appDir: string,
  work: (db: OpenExecutor) => Promise<T>,
  options: { writable?: boolean } = {},
): Promise<T> {
  const db = await openAppDatabase(appDir, options);
  try {
    return await work(db);
  } finally {
    await db.close();
  }
}
