// PostgreSQL's driver, `pg`, is the app's to install: an optional peer dependency of valet, so an
// app on the embedded SQLite database never downloads it. The first use of a postgres:// URL
// checks that it is there and, if not, says how to add it instead of failing on an import.
import { UserError } from '../../errors/user-error.js';

let checked: Promise<void> | null = null;

export function requirePostgresDriver(): Promise<void> {
  checked ??= import('pg').then(
    () => undefined,
    (error: NodeJS.ErrnoException) => {
      checked = null;
      if (error?.code !== 'ERR_MODULE_NOT_FOUND') throw error;
      throw new UserError(
        "the database is PostgreSQL, and its driver is not installed: run npm install pg in the app (Valet's SQLite default needs no driver)",
      );
    },
  );
  return checked;
}
