// Who hears about each SQL statement and how long it took: nobody, unless tracing is on (the
// runtime then makes a span of each, under the call that ran it). The executors read
// `statementObserver` (a live binding) and take the timed path only when it is set: off, a
// statement pays one null check, no closure and no extra promise.
export type StatementObserver = (sql: string, startedAt: number, durationMs: number) => void;

export let statementObserver: StatementObserver | null = null;

export function observeStatements(next: StatementObserver | null): void {
  statementObserver = next;
}

/** Runs a synchronous statement (SQLite), telling the observer. */
export function observed<T>(hear: StatementObserver, sql: string, work: () => T): T {
  const started = performance.now();
  try {
    return work();
  } finally {
    hear(sql, started, performance.now() - started);
  }
}

/** The same for a statement that completes later (PostgreSQL). */
export async function observedAsync<T>(hear: StatementObserver, sql: string, work: () => Promise<T>): Promise<T> {
  const started = performance.now();
  try {
    return await work();
  } finally {
    hear(sql, started, performance.now() - started);
  }
}
