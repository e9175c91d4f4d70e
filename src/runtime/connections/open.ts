// One entry point for both backends: a file path (or :memory:) is SQLite, a postgres:// URL is
// PostgreSQL.
import { requirePostgresDriver } from '../../storage/postgres/driver.js';
import type { SchemaDefinition } from '../../server/schema.js';
import type { PostgresOptions } from '../../storage/postgres/open.js';
import { describePostgresUrl, isPostgresUrl } from '../../storage/postgres/url.js';
import { SqliteConnections } from './sqlite.js';
import type { Connections } from './types.js';

export interface ConnectionOptions {
  now: () => number;
  /** SQLite: reader connections for queries. */
  readerPoolSize?: number;
  /** PostgreSQL: pool size and schema. */
  postgres?: PostgresOptions;
  log?: (line: string) => void;
}

export async function openConnections(
  database: string,
  schema: SchemaDefinition<any> | null,
  options: ConnectionOptions,
): Promise<Connections> {
  if (isPostgresUrl(database)) {
    // Loaded only for PostgreSQL: a SQLite server starts without the driver.
    await requirePostgresDriver();
    const [{ openPostgres }, { PostgresConnections }] = await Promise.all([
      import('../../storage/postgres/open.js'),
      import('./postgres.js'),
    ]);
    const pool = await openPostgres(database, options.postgres);
    return new PostgresConnections(describePostgresUrl(database), pool, schema, options.now, options.log);
  }
  return new SqliteConnections(database, schema, options.now, options.readerPoolSize);
}
