// Pagination cursors: the ordering key of the last row read (index fields, then creation time
// and id), opaque to callers. "Strictly after a key" is spelled column by column so NULLs
// (missing fields, which sort first) compare correctly: SQL's row-value comparison would drop
// them. A cursor this query could not have returned is refused with 400 invalid_cursor.
import { isStorableText } from '../protocol/text.js';
import { EngineError } from '../protocol/engine-error.js';
import type { Dialect, OrderColumn } from './sql.js';

export type CursorKey = unknown[];

export function encodeCursor(values: unknown[]): string {
  return Buffer.from(JSON.stringify(values)).toString('base64url');
}

const invalid = (why: string) =>
  new EngineError('invalid_cursor', `paginate: the cursor is not one this query returned (${why})`);

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
  if (values.some((value) => typeof value === 'string' && !isStorableText(value))) throw invalid('not valid');
  // An empty key is the end: nothing comes after it.
  if (values.length !== 0 && values.length !== keyLength) throw invalid('made by a query with another order');
  return values;
}

function bind(dialect: Dialect, column: OrderColumn, value: unknown): unknown {
  return column.kind === 'field' ? dialect.fieldValue(value) : value;
}

/** SQL that holds for rows strictly after `values` in this order. */
export function afterClause(
  dialect: Dialect,
  columns: OrderColumn[],
  values: CursorKey,
  direction: 'asc' | 'desc',
): { clause: string; values: unknown[] } {
  if (values.length === 0) return { clause: '1 = 0', values: [] };
  const alternatives: string[] = [];
  const params: unknown[] = [];
  for (let i = 0; i < columns.length; i++) {
    const terms: string[] = [];
    for (let j = 0; j < i; j++) {
      terms.push(dialect.same(columns[j]!));
      params.push(bind(dialect, columns[j]!, values[j]));
    }
    const column = columns[i]!;
    const value = values[i];
    const placeholder = dialect.param(column.kind);
    if (direction === 'asc') {
      if (value === null || value === undefined) terms.push(`${column.sql} IS NOT NULL`);
      else {
        terms.push(`${column.sql} > ${placeholder}`);
        params.push(bind(dialect, column, value));
      }
    } else if (value === null || value === undefined) {
      terms.push('1 = 0');
    } else {
      terms.push(`(${column.sql} < ${placeholder} OR ${column.sql} IS NULL)`);
      params.push(bind(dialect, column, value));
    }
    alternatives.push(`(${terms.join(' AND ')})`);
  }
  return { clause: `(${alternatives.join(' OR ')})`, values: params };
}

/** SQL that holds for rows at or before `values` (the end of a pinned page). */
export function upToClause(
  dialect: Dialect,
  columns: OrderColumn[],
  values: CursorKey,
  direction: 'asc' | 'desc',
): { clause: string; values: unknown[] } {
  const after = afterClause(dialect, columns, values, direction);
  return { clause: `NOT ${after.clause}`, values: after.values };
}
