// The PostgreSQL server tests use: VALET_TEST_DATABASE_URL (any database on it where the user may
// CREATE DATABASE), else the local server's `postgres` database. Each run creates its own
// database, valet_test_<random>, and drops it at the end.
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export function postgresAdminUrl(): string {
  return process.env.VALET_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
}

export function withDatabase(url: string, name: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${name}`;
  return parsed.toString();
}

async function admin<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: postgresAdminUrl() });
  try {
    await client.connect();
  } catch (error) {
    throw new Error(
      `the PostgreSQL tests need a server: ${(error as Error).message}. Start one (scripts/start-postgres.sh) or set VALET_TEST_DATABASE_URL.`,
    );
  }
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/**
 * A new database for this run. C collation: strings order by code point, as in SQLite, so the
 * same suites expect the same order on both backends (docs/postgres.md explains the difference
 * under another collation).
 */
export async function createTestDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `valet_test_${randomBytes(6).toString('hex')}`;
  await admin((client) =>
    client.query(`CREATE DATABASE ${name} TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'`),
  );
  return {
    url: withDatabase(postgresAdminUrl(), name),
    drop: () => admin((client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => undefined),
  };
}
