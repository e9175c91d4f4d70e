// One entry point for both backends: a file path (or :memory:) is SQLite, a postgres:// URL is
// PostgreSQL.
import type { SchemaDefinition } from '../../server/schema.js';
import { describePostgresUrl, isPostgresUrl, openPostgres } from '../../storage/postgres/open.js';
import type { PostgresOptions } from '../../storage/postgres/open.js';
import { PostgresConnections } from './postgres.js';
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

export async function openConnections(database: string, schema: SchemaDefinition<any> | null, options: ConnectionOptions): Promise<Connections> {
  if (isPostgresUrl(database)) {
    const pool = await openPostgres(database, options.postgres);
    return new PostgresConnections(describePostgresUrl(database), pool, schema, options.now, options.log);
  }
  return new SqliteConnections(database, schema, options.now, options.readerPoolSize);
}
