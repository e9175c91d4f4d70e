// Which database the engine-level suites run on: SQLite files by default; in the postgres test
// project (VALET_TEST_BACKEND=postgres), a schema of its own per app in the run's database.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { inject } from 'vitest';
import type Database from 'better-sqlite3';
import { SqliteConnections } from '../../src/runtime/connections/sqlite.js';
import type { Engine } from '../../src/runtime/engine.js';
import type { SqliteExecutor } from '../../src/storage/sqlite/executor.js';
import type { PostgresOptions } from '../../src/storage/postgres/open.js';

export const testBackend: 'sqlite' | 'postgres' = process.env.VALET_TEST_BACKEND === 'postgres' ? 'postgres' : 'sqlite';
export const onPostgres = testBackend === 'postgres';

const schemas = new Map<string, string>();

/** The database of an app's state dir: the same one each time it is asked (restarts reopen it). */
export function testDatabase(stateDir: string): { database: string; postgres?: PostgresOptions } {
  if (!onPostgres) return { database: join(stateDir, 'valet.db') };
  let schema = schemas.get(stateDir);
  if (!schema) {
    schema = `app_${randomBytes(6).toString('hex')}`;
    schemas.set(stateDir, schema);
  }
  return { database: inject('postgresUrl'), postgres: { schema, max: 8, applicationName: schema } };
}

/** How many documents of `table` have these field values (on either backend). */
export async function countDocuments(
  engine: Engine,
  table: string,
  fields: Record<string, unknown> = {},
): Promise<number> {
  const { sql } = engine.connections.autoCommit;
  const where = Object.keys(fields).map((field) => `${sql.dialect.field(field)} = ${sql.dialect.param('field')}`);
  const row = await sql.get<{ n: number }>(
    `SELECT COUNT(*) AS n FROM _valet_documents WHERE ${['tbl = ?', ...where].join(' AND ')}`,
    [table, ...Object.values(fields).map((value) => sql.dialect.fieldValue(value))],
  );
  return row!.n;
}

/** The SQLite writer connection of an engine on SQLite (for fault injection with pragmas). */
export function sqliteWriterOf(engine: Engine): Database.Database {
  if (!(engine.connections instanceof SqliteConnections)) throw new Error('not a SQLite engine');
  return (engine.connections.writer.sql as SqliteExecutor).db;
}
