// Most queries read once: a point lookup, one index range. One statement is its own consistent
// snapshot on both backends, so such a query needs no transaction, and skipping BEGIN and COMMIT
// saves two statements of three (two network round trips of three on PostgreSQL). A query is
// tried that way unless it is known to read more; a second read aborts the try, and the query runs
// again in a real snapshot. Queries have no effects and answer the same for the same data, so the
// abandoned try is invisible. Which queries read more is remembered by name.
import type { DocumentStore } from '../../storage/documents.js';
import type { Row, SqlExecutor } from '../../storage/sql.js';

/** A bound on the names remembered (function paths: a handful in any real app). */
const MAX_REMEMBERED = 10_000;

class SecondRead extends Error {
  constructor() {
    super('this query reads more than once: it runs again in a snapshot');
  }
}

/** An executor that runs one statement and refuses the next. */
class FirstStatementOnly implements SqlExecutor {
  readonly dialect;
  exceeded = false;
  private used = false;

  constructor(private readonly inner: SqlExecutor) {
    this.dialect = inner.dialect;
  }

  private claim(): void {
    if (this.used) {
      this.exceeded = true;
      throw new SecondRead();
    }
    this.used = true;
  }

  all<T = Row>(sql: string, params?: readonly unknown[]): Promise<T[]> {
    this.claim();
    return this.inner.all<T>(sql, params);
  }

  get<T = Row>(sql: string, params?: readonly unknown[]): Promise<T | undefined> {
    this.claim();
    return this.inner.get<T>(sql, params);
  }

  run(): Promise<{ changes: number }> {
    throw new Error('a query cannot write');
  }

  exec(): Promise<void> {
    throw new Error('a query cannot write');
  }
}

export class OneStatementQueries {
  private readonly readsMore = new Set<string>();

  constructor(private readonly storeOver: (sql: SqlExecutor) => DocumentStore) {}

  /**
   * Runs `task` as one statement on `executor()` when it may (`rerunnable`, not known to read
   * more), else — or when it turns out to read more — through `inSnapshot`.
   */
  async run<T>(
    task: (store: DocumentStore) => Promise<T>,
    rerunnable: { name: string } | undefined,
    executor: () => SqlExecutor,
    inSnapshot: (task: (store: DocumentStore) => Promise<T>) => Promise<T>,
  ): Promise<T> {
    if (rerunnable && !this.readsMore.has(rerunnable.name)) {
      const once = new FirstStatementOnly(executor());
      // Whatever the task made of the refusal (it may have caught it), a try that read twice is void.
      try {
        const value = await task(this.storeOver(once));
        if (!once.exceeded) return value;
      } catch (error) {
        if (!once.exceeded) throw error;
      }
      if (this.readsMore.size < MAX_REMEMBERED) this.readsMore.add(rerunnable.name);
    }
    return inSnapshot(task);
  }
}
