// An SqlExecutor over a pg pool (each statement its own transaction) or one pooled client (inside
// a transaction). SQL comes with `?` placeholders, turned into $1… once per statement text; each
// text is a named prepared statement on the connections that run it. A lost or unreachable server
// becomes a storage fault (503), never a function's error.
import { observedAsync, statementObserver } from '../statement-observer.js';
import pgModule from 'pg';
import type pg from 'pg';
import type { StatementFaults } from '../fault-injection.js';
import { outcomeUnknown, StorageFaultError, storageFull, storageUnavailable } from '../faults.js';
import type { Row, SqlExecutor } from '../sql.js';
import { postgresDialect } from './dialect.js';
import { PipelineError, runPipeline } from './pipeline.js';
import type { PipelineStep } from './pipeline.js';

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

  /** A BEGIN held back to go out with the transaction's first statement (pipeline.ts). */
  private pendingBegin: string | null = null;
  /** Whether a BEGIN went out and no COMMIT has ended it yet: there is a transaction to end. */
  transactionOpen = false;

  constructor(
    readonly client: pg.Pool | pg.PoolClient,
    private readonly faults?: StatementFaults,
  ) {}

  /** Starts a transaction (on a client of its own): sent with the first statement, if one comes. */
  begin(statement: string): void {
    this.pendingBegin = statement;
  }

  /** Injected faults, checked in the order the statements would go out: a held BEGIN first. */
  private checkFaults(...statements: string[]): void {
    if (this.pendingBegin !== null) this.faults?.check(this.pendingBegin);
    for (const statement of statements) this.faults?.check(statement);
  }

  /** The held BEGIN, now about to go out (the caller checked it against injected faults). */
  private takeBegin(): string | null {
    const begin = this.pendingBegin;
    if (begin === null) return null;
    this.pendingBegin = null;
    this.transactionOpen = true;
    return begin;
  }

  private async query(sql: string, params: readonly unknown[]): Promise<pg.QueryResult> {
    const { text, name } = numbered(sql);
    let begin: string | null = null;
    try {
      this.checkFaults(sql);
      const values = bindable(params);
      const opening = (begin = this.takeBegin());
      const query =
        opening === null
          ? () => this.client.query({ text, name, values })
          : () =>
              runPipeline(this.client as pg.PoolClient, [{ text: opening }, { text, name, values }]).then(
                (results) => results[1]!,
              );
      return await (statementObserver ? observedAsync(statementObserver, sql, query) : query());
    } catch (error) {
      // Refused before anything went out: the BEGIN is still to send (a later statement must not
      // run outside the transaction).
      if (error instanceof PipelineError && !error.sent && begin !== null) {
        this.pendingBegin = begin;
        this.transactionOpen = false;
      }
      const cause = error instanceof PipelineError ? error.cause : error;
      this.failure ??= cause;
      throw asFault(cause);
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
      this.checkFaults(sql);
      const begin = this.takeBegin();
      // No parameters: a simple query, where BEGIN and the statement share one message.
      await this.client.query(begin === null ? sql : `${begin};\n${sql}`);
    } catch (error) {
      this.failure ??= error;
      throw asFault(error);
    }
  }

  /**
   * Ends the transaction: `last` (a statement of its own, such as the change log's row) and COMMIT
   * go out together, in one round trip; `last`'s rows. Nothing sent yet: nothing to end, no trip.
   *
   * What a failure means: before COMMIT ran (a statement refused, or the connection already known
   * lost, so nothing was sent) nothing was applied, certainly. At COMMIT, a conflict or the
   * statement's own error is as certain; a storage fault, or a connection that broke while the
   * COMMIT was on its way, is `outcome_unknown`: the server may have committed.
   */
  async commit<T = Row>(last?: { sql: string; params: readonly unknown[] }): Promise<T[]> {
    if (this.pendingBegin !== null && !last) {
      this.pendingBegin = null;
      return [];
    }
    const steps: PipelineStep[] = [];
    try {
      this.checkFaults(...(last ? [last.sql] : []));
      // An injected COMMIT fault stands for a COMMIT lost on its way.
      try {
        this.faults?.check('COMMIT');
      } catch (error) {
        throw outcomeUnknown(error);
      }
      // The server dropped this connection while the handler ran: nothing can be sent, or was.
      if (failedClients.has(this.client as pg.PoolClient))
        throw storageUnavailable(new Error('the connection to PostgreSQL was lost during the transaction'));
    } catch (error) {
      this.failure ??= error;
      throw error;
    }
    const begin = this.takeBegin();
    if (begin !== null) steps.push({ text: begin });
    if (last) {
      const { text, name } = numbered(last.sql);
      steps.push({ text, name, values: bindable(last.params) });
    }
    steps.push({ text: 'COMMIT' });
    const commitAt = steps.length - 1;
    const send = () => runPipeline(this.client as pg.PoolClient, steps);
    try {
      // Observed as before the two went together: the log row a statement, the COMMIT not one.
      const results = await (statementObserver && last ? observedAsync(statementObserver, last.sql, send) : send());
      this.transactionOpen = false;
      return last ? (results[commitAt - 1]!.rows as T[]) : [];
    } catch (error) {
      const cause = error instanceof PipelineError ? error.cause : error;
      const completed = error instanceof PipelineError ? error.completed : 0;
      this.failure ??= cause;
      const answered = cause instanceof pgModule.DatabaseError;
      if (answered && completed < commitAt) throw asFault(cause);
      const fault = asFault(cause);
      if (answered && !(fault instanceof StorageFaultError)) throw cause;
      throw outcomeUnknown(fault);
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
