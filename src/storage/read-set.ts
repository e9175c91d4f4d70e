// What a query read, and whether a write touches it: reactive queries re-run only when a committed
// change lands in a range some subscription read (by id, by table, or by an index range).
import type { DocumentChange, StoredDocument } from './documents.js';

export type IndexBound = { op: 'eq' | 'gt' | 'gte' | 'lt' | 'lte'; field: string; value: unknown };

export type Read =
  | { kind: 'id'; id: string }
  /** A scan of a table, narrowed by index bounds when the query used withIndex. */
  | { kind: 'range'; table: string; bounds: IndexBound[] };

/** SQLite's order for json_extract values: NULL < numbers (booleans as 0/1) < text (JSON text for objects). */
function sortKey(value: unknown): [number, number | string] {
  if (value === null || value === undefined) return [0, 0];
  if (typeof value === 'boolean') return [1, value ? 1 : 0];
  if (typeof value === 'number') return [1, value];
  if (typeof value === 'string') return [2, value];
  return [2, JSON.stringify(value)];
}

function compare(a: unknown, b: unknown): number {
  const [ra, va] = sortKey(a);
  const [rb, vb] = sortKey(b);
  if (ra !== rb) return ra - rb;
  return va < vb ? -1 : va > vb ? 1 : 0;
}

function inRange(doc: StoredDocument, bounds: IndexBound[]): boolean {
  return bounds.every((bound) => {
    const order = compare(doc[bound.field] ?? null, bound.value ?? null);
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
export function changeTouches(reads: readonly Read[], change: DocumentChange): boolean {
  return reads.some((read) => {
    if (read.kind === 'id') return read.id === change.id;
    if (read.table !== change.table) return false;
    return (change.before !== null && inRange(change.before, read.bounds)) || (change.after !== null && inRange(change.after, read.bounds));
  });
}
