// Who hears about each SQL statement and how long it took: nobody, unless tracing is on (the
// runtime then makes a span of each, under the call that ran it). Off, a statement pays one
// null check.
export type StatementObserver = (sql: string, startedAt: number, durationMs: number) => void;

let observer: StatementObserver | null = null;

export function observeStatements(next: StatementObserver | null): void {
  observer = next;
}

/** Runs a synchronous statement (SQLite), telling the observer when there is one. */
export function observed<T>(sql: string, work: () => T): T {
  const hear = observer;
  if (!hear) return work();
  const started = performance.now();
  try {
    return work();
  } finally {
    hear(sql, started, performance.now() - started);
  }
}

/** The same for a statement that completes later (PostgreSQL). */
export async function observedAsync<T>(sql: string, work: () => Promise<T>): Promise<T> {
  const hear = observer;
  if (!hear) return work();
  const started = performance.now();
  try {
    return await work();
  } finally {
    hear(sql, started, performance.now() - started);
  }
}
