// An SqlExecutor over one better-sqlite3 connection, with its prepared statements cached. The
// calls are synchronous underneath; the promises only fit the shared seam.
import type Database from 'better-sqlite3';
import type { StatementFaults } from '../fault-injection.js';
import type { Row, SqlExecutor } from '../sql.js';
import { observed, statementObserver } from '../statement-observer.js';
import { sqliteDialect } from './dialect.js';

/** better-sqlite3 binds booleans as errors: SQLite spells them 1 and 0. */
function bindable(params: readonly unknown[]): unknown[] {
  return params.map((value) => (typeof value === 'boolean' ? (value ? 1 : 0) : value));
}

export class SqliteExecutor implements SqlExecutor {
  readonly dialect = sqliteDialect;
  private readonly statements = new Map<string, Database.Statement>();

  constructor(
    readonly db: Database.Database,
    private readonly faults?: StatementFaults,
  ) {}

  prepare(sql: string): Database.Statement {
    let statement = this.statements.get(sql);
    if (!statement) {
      statement = this.db.prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }

  async all<T = Row>(sql: string, params: readonly unknown[] = []): Promise<T[]> {
    this.faults?.check(sql);
    if (statementObserver)
      return observed(statementObserver, sql, () => this.prepare(sql).all(...bindable(params)) as T[]);
    return this.prepare(sql).all(...bindable(params)) as T[];
  }

  async get<T = Row>(sql: string, params: readonly unknown[] = []): Promise<T | undefined> {
    this.faults?.check(sql);
    if (statementObserver)
      return observed(statementObserver, sql, () => this.prepare(sql).get(...bindable(params)) as T | undefined);
    return this.prepare(sql).get(...bindable(params)) as T | undefined;
  }

  async run(sql: string, params: readonly unknown[] = []): Promise<{ changes: number }> {
    this.faults?.check(sql);
    if (statementObserver)
      return observed(statementObserver, sql, () => ({ changes: this.prepare(sql).run(...bindable(params)).changes }));
    return { changes: this.prepare(sql).run(...bindable(params)).changes };
  }

  async exec(sql: string): Promise<void> {
    this.faults?.check(sql);
    this.db.exec(sql);
  }

  get inTransaction(): boolean {
    return this.db.inTransaction;
  }

  close(): void {
    this.db.close();
  }
}
