// Connecting to PostgreSQL: a pool, a first connection that proves the server is reachable, the
// credentials good, the database present and the server's version supported — each failure a
// message a user can act on — then the engine's tables migrated.
import pg from 'pg';
import { StorageError } from '../errors.js';
import { guardPoolClients, isUnavailable } from './executor.js';
import { migratePostgres } from './migrations.js';
import { describePostgresUrl } from './url.js';

export { describePostgresUrl, isPostgresUrl } from './url.js';

export const MIN_POSTGRES_VERSION = 13;
export const MAX_POSTGRES_VERSION = 18;

export interface PostgresOptions {
  /** A schema of its own (created when missing), e.g. one per test harness. */
  schema?: string;
  /** Connections in the pool. */
  max?: number;
  /**
   * PostgreSQL ends a session left idle inside a transaction this long: a frozen instance (a long
   * GC pause, a stopped VM) must not hold its row locks, and with them the other instances' work,
   * for as long as it stays frozen.
   */
  idleInTransactionMs?: number;
  /** Shown in pg_stat_activity (`valet` unless given). */
  applicationName?: string;
  /** Where unexpected pool errors are reported. */
  log?: (line: string) => void;
}

function explain(error: unknown, url: string): StorageError {
  const where = describePostgresUrl(url);
  const code = (error as { code?: string })?.code;
  const message = (error as Error)?.message ?? String(error);
  if (code === '28P01' || code === '28000')
    return new StorageError(
      'database_unreadable',
      `${where}: the server refused the credentials (${message}); check the user and password in VALET_DATABASE_URL`,
      { cause: error },
    );
  if (code === '3D000') {
    const name = new URL(url).pathname.slice(1);
    return new StorageError(
      'database_unreadable',
      `${where}: database "${name}" does not exist; create it (createdb ${name}) or fix VALET_DATABASE_URL`,
      { cause: error },
    );
  }
  if (isUnavailable(error))
    return new StorageError(
      'database_unreachable',
      `cannot reach PostgreSQL at ${where} (${message}): is the server running, and is the address right?`,
      { cause: error },
    );
  return new StorageError('database_unreadable', `${where}: ${message}`, { cause: error });
}

/** COUNT(*) and other bigints as numbers (the driver's default is strings); the rest as pg parses them. */
function typeParser(oid: number, format?: 'text' | 'binary') {
  if (oid === pg.types.builtins.INT8) return (text: string) => Number(text);
  return pg.types.getTypeParser(oid, format as 'text');
}

export async function openPostgres(url: string, options: PostgresOptions = {}): Promise<pg.Pool> {
  const schema = options.schema;
  if (schema && !/^[a-z_][a-z0-9_]*$/.test(schema))
    throw new StorageError('database_unreadable', `schema name "${schema}": use lower-case letters, digits and _`);
  const pool = new pg.Pool({
    connectionString: url,
    types: { getTypeParser: typeParser as never },
    max: options.max ?? 10,
    connectionTimeoutMillis: 10_000,
    options:
      [
        schema ? `-c search_path=${schema}` : '',
        options.idleInTransactionMs
          ? `-c idle_in_transaction_session_timeout=${Math.round(options.idleInTransactionMs)}`
          : '',
      ]
        .filter(Boolean)
        .join(' ') || undefined,
    application_name: options.applicationName ?? 'valet',
  });
  // An idle connection the server drops must not take the process down with it, nor a busy one.
  pool.on('error', (error) => options.log?.(`postgres: an idle connection failed: ${error.message}`));
  guardPoolClients(pool);
  try {
    const client = await pool.connect();
    try {
      const version = Number((await client.query('SHOW server_version_num')).rows[0].server_version_num);
      const major = Math.floor(version / 10_000);
      if (major < MIN_POSTGRES_VERSION || major > MAX_POSTGRES_VERSION) {
        throw new StorageError(
          'database_unreadable',
          `${describePostgresUrl(url)} runs PostgreSQL ${major}; Valet supports ${MIN_POSTGRES_VERSION} to ${MAX_POSTGRES_VERSION}`,
        );
      }
      if (schema) await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
    } finally {
      client.release();
    }
    await migratePostgres(pool, describePostgresUrl(url));
    return pool;
  } catch (error) {
    await pool.end().catch(() => undefined);
    if (error instanceof StorageError) throw error;
    throw explain(error, url);
  }
}
