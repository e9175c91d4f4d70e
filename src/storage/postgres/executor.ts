// An SqlExecutor over a pg pool (each statement its own transaction) or one pooled client (inside
// a transaction). SQL comes with `?` placeholders, turned into $1… once per statement text; each
// text is a named prepared statement on the connections that run it. A lost or unreachable server
// becomes a storage fault (503), never a function's error.
import { observedAsync, statementObserver } from '../statement-observer.js';
import pgModule from 'pg';
import type pg from 'pg';
import type { StatementFaults } from '../fault-injection.js';
import { StorageFaultError, storageFull, storageUnavailable } from '../faults.js';
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

/**
 * PostgreSQL's error classes (Appendix A of its manual), read as "is the database itself out of
 * reach or out of resources" — a storage fault, never the statement's or the function's fault:
 * 08 connection exception; 28 invalid authorization (a pg_hba reject, a rotated password);
 * 3D000 the database is gone; 25006 a read-only transaction (a standby after failover);
 * 53 insufficient resources (53100 disk full is `full`); 55P03 lock not available (a lock timeout);
 * 57 operator intervention (a statement timeout or cancel, admin or crash shutdown, cannot
 * connect now); 58 system error (I/O); F0 configuration file; XX internal error (corruption).
 * Everything else (22 data, 23 integrity, 42 syntax, 54 program limits, …) is the statement's.
 */
const UNAVAILABLE_SQLSTATE = /^(08|28|53|57|58|F0|XX)|^(3D000|25006|55P03)$/;
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
]);

/** How a pg error reads as a storage fault: out of reach (`unavailable`), out of space (`full`), or none. */
export function pgFaultKind(error: unknown): 'unavailable' | 'full' | null {
  const code = (error as { code?: unknown })?.code;
  if (error instanceof pgModule.DatabaseError) {
    if (code === '53100') return 'full';
    return typeof code === 'string' && UNAVAILABLE_SQLSTATE.test(code) ? 'unavailable' : null;
  }
  if (typeof code === 'string') return NETWORK_CODES.has(code) ? 'unavailable' : null;
  // An error the driver raised itself for its connection (not reported by the server, not a usage error).
  return error instanceof Error && !(error instanceof TypeError) && !(error instanceof RangeError)
    ? 'unavailable'
    : null;
}

/** Whether a pg error means the database is out of reach (opening it: see open.ts). */
export function isUnavailable(error: unknown): boolean {
  return pgFaultKind(error) !== null;
}

/** The storage fault a pg error stands for, or the error itself (a statement's own error). */
function asFault(error: unknown): unknown {
  if (error instanceof StorageFaultError) return error;
  const kind = pgFaultKind(error);
  if (kind === 'full') return storageFull(error);
  return kind === 'unavailable' ? storageUnavailable(error) : error;
}

/**
 * Values as PostgreSQL takes them. Callers' text is refused before it gets here (the text rule);
 * what is left is the engine's own text quoting a handler (an error message, a stack), where a
 * U+0000 would make the write fail (a text parameter cannot hold it): it becomes U+FFFD, as a lone
 * surrogate does when the driver encodes it.
 */
function bindable(params: readonly unknown[]): unknown[] {
  return params.map((value) =>
    typeof value === 'number' && !Number.isFinite(value)
      ? null
      : typeof value === 'string' && value.includes('\u0000')
        ? value.replaceAll('\u0000', '\uFFFD')
        : value,
  );
}

export class PgExecutor implements SqlExecutor {
  readonly dialect = postgresDialect;

  /**
   * The first statement that failed on this executor. Inside a transaction PostgreSQL refuses
   * everything after it, and COMMIT quietly rolls back: the transaction must not count as done
   * even if a handler caught the error.
   */
  failure: unknown = null;

  constructor(
    readonly client: pg.Pool | pg.PoolClient,
    private readonly faults?: StatementFaults,
  ) {}

  private async query(sql: string, params: readonly unknown[]): Promise<pg.QueryResult> {
    const { text, name } = numbered(sql);
    try {
      this.faults?.check(sql);
      const query = () => this.client.query({ text, name, values: bindable(params) });
      return await (statementObserver ? observedAsync(statementObserver, sql, query) : query());
    } catch (error) {
      this.failure ??= error;
      throw asFault(error);
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
      this.faults?.check(sql);
      await this.client.query(sql);
    } catch (error) {
      this.failure ??= error;
      throw asFault(error);
    }
  }
}

/** Clients whose connection failed (an 'error' event): never handed back to the pool for reuse. */
const failedClients = new WeakSet<pg.ClientBase>();

/**
 * Every client of a pool gets an 'error' listener for its whole life. The pool listens only while
 * a client is idle; one checked out, or being ended after a failure, that hears its server go (a
 * restart, pg_terminate_backend) would otherwise emit an unhandled 'error' and end the process.
 * Its next statement fails instead, as a storage fault.
 */
export function guardPoolClients(pool: pg.Pool): void {
  pool.on('connect', (client) => client.on('error', () => failedClients.add(client)));
}

export interface Checkout {
  client: pg.PoolClient;
  /** Back to the pool; destroyed instead when it failed or the server dropped it meanwhile. */
  release(failed?: boolean): void;
}

/** A client of its own from the pool, for a transaction (the pool is guarded: guardPoolClients). */
export async function checkout(pool: pg.Pool): Promise<Checkout> {
  let client: pg.PoolClient;
  try {
    client = await pool.connect();
  } catch (error) {
    throw asFault(error);
  }
  return {
    client,
    release(failed = false) {
      client.release(failed || failedClients.has(client));
    },
  };
}
