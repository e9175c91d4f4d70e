// Pagination cursors: the ordering key of the last row read (index fields, then creation time
// and id), opaque to callers. "Strictly after a key" is spelled column by column so NULLs
// (missing fields, which SQLite sorts first) compare correctly: SQL's row-value comparison would
// drop them. A cursor this query could not have returned is refused with 400 invalid_cursor.
import { DocumentError } from './documents.js';
import type { SqlValue } from './sql-values.js';

export type CursorKey = SqlValue[];

export function encodeCursor(values: unknown[]): string {
  return Buffer.from(JSON.stringify(values)).toString('base64url');
}

const invalid = (why: string) => new DocumentError('invalid_cursor', `paginate: the cursor is not one this query returned (${why})`, 400);

/** The key a cursor holds, checked against the shape of the query's ordering key. */
export function decodeCursor(cursor: unknown, keyLength: number): CursorKey {
  if (typeof cursor !== 'string' || cursor.length > 8192) throw invalid('not a cursor string');
  let values: unknown;
  try {
    values = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalid('not valid');
  }
  if (!Array.isArray(values)) throw invalid('not valid');
  // An empty key is the end: nothing comes after it.
  if (values.length !== 0 && values.length !== keyLength) throw invalid('made by a query with another order');
  if (!values.every((value) => value === null || typeof value === 'string' || typeof value === 'number')) throw invalid('not valid');
  return values as CursorKey;
}

/** SQL that holds for rows strictly after `values` in this order. */
export function afterClause(columns: string[], values: CursorKey, direction: 'asc' | 'desc'): { clause: string; values: SqlValue[] } {
  if (values.length === 0) return { clause: '1 = 0', values: [] };
  const alternatives: string[] = [];
  const params: SqlValue[] = [];
  for (let i = 0; i < columns.length; i++) {
    const terms: string[] = [];
    for (let j = 0; j < i; j++) {
      terms.push(`${columns[j]} IS ?`);
      params.push(values[j]!);
    }
    const value = values[i]!;
    if (direction === 'asc') {
      if (value === null) terms.push(`${columns[i]} IS NOT NULL`);
      else {
        terms.push(`${columns[i]} > ?`);
        params.push(value);
      }
    } else if (value === null) {
      terms.push('1 = 0');
    } else {
      terms.push(`(${columns[i]} < ? OR ${columns[i]} IS NULL)`);
      params.push(value);
    }
    alternatives.push(`(${terms.join(' AND ')})`);
  }
  return { clause: `(${alternatives.join(' OR ')})`, values: params };
}

/** SQL that holds for rows at or before `values` (the end of a pinned page). */
export function upToClause(columns: string[], values: CursorKey, direction: 'asc' | 'desc'): { clause: string; values: SqlValue[] } {
  const after = afterClause(columns, values, direction);
  return { clause: `NOT ${after.clause}`, values: after.values };
}
