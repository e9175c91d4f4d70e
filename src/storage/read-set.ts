// What a query read, and whether a write touches it: reactive queries re-run only when a committed
// change lands in a range some subscription read (by id, by table, or by an index range).
import type { DocumentChange, StoredDocument } from './documents.js';

export type IndexBound = { op: 'eq' | 'gt' | 'gte' | 'lt' | 'lte'; field: string; value: unknown };

export type Read =
  | { kind: 'id'; id: string }
  /** A scan of a table, narrowed by index bounds when the query used withIndex. */
  | { kind: 'range'; table: string; bounds: IndexBound[] };

/** How the backend orders two field values; null when it cannot tell here (a collation, say). */
export type CompareFieldValues = (a: unknown, b: unknown) => number | null;

function inRange(doc: StoredDocument, bounds: IndexBound[], compare: CompareFieldValues): boolean {
  return bounds.every((bound) => {
    const order = compare(doc[bound.field] ?? null, bound.value ?? null);
    // An order only the database knows: assume the change may matter (a needless re-run, never a missed one).
    if (order === null) return true;
    switch (bound.op) {
      case 'eq':
        return order === 0;
      case 'gt':
        return order > 0;
      case 'gte':
        return order >= 0;
      case 'lt':
        return order < 0;
      case 'lte':
        return order <= 0;
    }
  });
}

/** True when a committed change could alter what a query with these reads returns. */
export function changeTouches(reads: readonly Read[], change: DocumentChange, compare: CompareFieldValues): boolean {
  return reads.some((read) => {
    if (change.coarse) return read.kind === 'id' || change.table === '*' || read.table === change.table;
    if (read.kind === 'id') return read.id === change.id;
    if (read.table !== change.table) return false;
    return (
      (change.before !== null && inRange(change.before, read.bounds, compare)) ||
      (change.after !== null && inRange(change.after, read.bounds, compare))
    );
  });
}
