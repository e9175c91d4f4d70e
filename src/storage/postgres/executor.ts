// An SqlExecutor over a pg pool (each statement its own transaction) or one pooled client (inside
// a transaction). SQL comes with `?` placeholders, turned into $1… once per statement text; each
// text is a named prepared statement on the connections that run it. A lost or unreachable server
// becomes a storage fault (503), never a function's error.
import pgModule from 'pg';
import type pg from 'pg';
import { storageUnavailable } from '../faults.js';
import type { Row, SqlExecutor } from '../sql.js';
import { postgresDialect } from './dialect.js';

const texts = new Map<string, { text: string; name: string }>();

/** `?` → `$n`, outside quoted strings and identifiers. */
function numbered(sql: string): { text: string; name: string } {
  let cached = texts.get(sql);
  if (cached) return cached;
  let n = 0;
  let out = '';
  let quote: string | null = null;
  for (const char of sql) {
    if (quote) {
      if (char === quote) quote = null;
      out += char;
    } else if (char === "'" || char === '"') {
      quote = char;
      out += char;
    } else out += char === '?' ? `$${++n}` : char;
  }
  cached = { text: out, name: `valet_${texts.size}` };
  texts.set(sql, cached);
  return cached;
}

const UNAVAILABLE_SQLSTATE = /^(08|53|57P|58)/;
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN']);

/**
 * Whether a pg error means the database itself is out of reach (not a statement's fault): a
 * network error, a server error of the connection/resources/operator/system classes, or an error
 * the driver raised itself for its connection (not reported by the server, not a usage error).
 */
export function isUnavailable(error: unknown): boolean {
  const code = (error as { code?: unknown })?.code;
  if (error instanceof pgModule.DatabaseError) return typeof code === 'string' && UNAVAILABLE_SQLSTATE.test(code);
  if (typeof code === 'string') return NETWORK_CODES.has(code);
  return error instanceof Error && !(error instanceof TypeError) && !(error instanceof RangeError);
}

function bindable(params: readonly unknown[]): unknown[] {
  return params.map((value) => (typeof value === 'number' && !Number.isFinite(value) ? null : value));
}

export class PgExecutor implements SqlExecutor {
  readonly dialect = postgresDialect;

  /**
   * The first statement that failed on this executor. Inside a transaction PostgreSQL refuses
   * everything after it, and COMMIT quietly rolls back: the transaction must not count as done
   * even if a handler caught the error.
   */
  failure: unknown = null;

  constructor(readonly client: pg.Pool | pg.PoolClient) {}

  private async query(sql: string, params: readonly unknown[]): Promise<pg.QueryResult> {
    const { text, name } = numbered(sql);
    try {
      return await this.client.query({ text, name, values: bindable(params) });
    } catch (error) {
      this.failure ??= error;
      if (isUnavailable(error)) throw storageUnavailable(error);
      throw error;
    }
  }

  async all<T = Row>(sql: string, params: readonly unknown[] = []): Promise<T[]> {
    return (await this.query(sql, params)).rows as T[];
  }

  async get<T = Row>(sql: string, params: readonly unknown[] = []): Promise<T | undefined> {
    return (await this.query(sql, params)).rows[0] as T | undefined;
  }

  async run(sql: string, params: readonly unknown[] = []): Promise<{ changes: number }> {
    return { changes: (await this.query(sql, params)).rowCount ?? 0 };
  }

  async exec(sql: string): Promise<void> {
    try {
      await this.client.query(sql);
    } catch (error) {
      this.failure ??= error;
      if (isUnavailable(error)) throw storageUnavailable(error);
      throw error;
    }
  }
}

export interface Checkout {
  client: pg.PoolClient;
  /** Back to the pool; destroyed instead when it failed or the server dropped it meanwhile. */
  release(failed?: boolean): void;
}

/**
 * A client of its own from the pool, for a transaction. While it is checked out the pool does
 * not listen for its errors: a server that drops it (a restart, pg_terminate_backend) would emit an
 * unhandled 'error' and end the process. Its next statement fails instead, as a storage fault.
 */
export async function checkout(pool: pg.Pool): Promise<Checkout> {
  let client: pg.PoolClient;
  try {
    client = await pool.connect();
  } catch (error) {
    throw isUnavailable(error) ? storageUnavailable(error) : error;
  }
  let lost = false;
  const onError = () => (lost = true);
  client.on('error', onError);
  return {
    client,
    release(failed = false) {
      client.removeListener('error', onError);
      client.release(failed || lost);
    },
  };
}
