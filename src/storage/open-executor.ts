// One executor on a database, outside the engine: the inspection commands, export and import.
// A file path is SQLite (read-only unless asked), a postgres:// URL is PostgreSQL.
import { requirePostgresDriver } from './postgres/driver.js';
import { isPostgresUrl } from './postgres/url.js';
import type { SqlExecutor } from './sql.js';
import { SqliteExecutor } from './sqlite/executor.js';
import { openDatabase } from './sqlite/open.js';

export interface OpenExecutor {
  sql: SqlExecutor;
  /** Runs `task` in one transaction: all its statements apply, or none. */
  transaction<T>(task: (sql: SqlExecutor) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export async function openExecutor(target: string, options: { writable?: boolean } = {}): Promise<OpenExecutor> {
  if (isPostgresUrl(target)) {
    await requirePostgresDriver();
    const [{ checkout, PgExecutor }, { openPostgres }] = await Promise.all([
      import('./postgres/executor.js'),
      import('./postgres/open.js'),
    ]);
    const pool = await openPostgres(target, { max: 2 });
    return {
      sql: new PgExecutor(pool),
      async transaction(task) {
        const { client, release } = await checkout(pool);
        try {
          await client.query('BEGIN');
          const result = await task(new PgExecutor(client));
          await client.query('COMMIT');
          return result;
        } catch (error) {
          await client.query('ROLLBACK').catch(() => undefined);
          throw error;
        } finally {
          release();
        }
      },
      close: () => pool.end(),
    };
  }
  const sql = new SqliteExecutor(openDatabase(target, { readonly: !options.writable }));
  return {
    sql,
    async transaction(task) {
      sql.prepare('BEGIN IMMEDIATE').run();
      try {
        const result = await task(sql);
        sql.prepare('COMMIT').run();
        return result;
      } catch (error) {
        if (sql.inTransaction) sql.prepare('ROLLBACK').run();
        throw error;
      }
    },
    close: async () => sql.close(),
  };
}
