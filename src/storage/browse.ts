// Read-only browsing of documents: `valet data`, the dashboard, and exports read them here.
import type { StoredDocument } from './documents.js';
import { rowToDocument } from './documents.js';
import type { SqlExecutor } from './sql.js';

export function listTables(sql: SqlExecutor): Promise<{ table: string; documents: number }[]> {
  return sql.all('SELECT tbl AS "table", COUNT(*) AS documents FROM _valet_documents GROUP BY tbl ORDER BY tbl');
}

export async function listDocuments(
  sql: SqlExecutor,
  table: string,
  options: { limit: number; order: 'asc' | 'desc' },
): Promise<StoredDocument[]> {
  const direction = options.order === 'desc' ? 'DESC' : 'ASC';
  const rows = await sql.all<never>(
    `SELECT id, tbl, creation_time, ${sql.dialect.documentColumn} FROM _valet_documents WHERE tbl = ? ORDER BY creation_time ${direction}, id ${direction} LIMIT ?`,
    [table, options.limit],
  );
  return rows.map(rowToDocument);
}

/** A document as stored: its fields are the stored JSON text (wire form), never parsed on the way. */
export interface StoredRow {
  id: string;
  tbl: string;
  creation_time: number;
  doc: string;
}

const PAGE = 1000;

/**
 * Every document (of one table, or of all in table order), in (creation time, id) order, a page
 * at a time: however large the table, one page is in memory. Each page is its own read; a
 * document written meanwhile is included or not by where it sorts.
 */
export async function* storedRows(sql: SqlExecutor, table?: string): AsyncGenerator<StoredRow> {
  let after: StoredRow | null = null;
  for (;;) {
    const where: string[] = [];
    const params: unknown[] = [];
    if (table !== undefined) {
      where.push('tbl = ?');
      params.push(table);
    }
    if (after) {
      where.push('(tbl > ? OR (tbl = ? AND (creation_time > ? OR (creation_time = ? AND id > ?))))');
      params.push(after.tbl, after.tbl, after.creation_time, after.creation_time, after.id);
    }
    const rows: StoredRow[] = await sql.all(
      `SELECT id, tbl, creation_time, ${sql.dialect.documentColumn} FROM _valet_documents ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY tbl, creation_time, id LIMIT ${PAGE}`,
      params,
    );
    yield* rows;
    if (rows.length < PAGE) return;
    after = rows[rows.length - 1]!;
  }
}

/** Which table holds a document id (null: none). */
export async function tableOfDocument(sql: SqlExecutor, id: string): Promise<string | null> {
  const row = await sql.get<{ tbl: string }>('SELECT tbl FROM _valet_documents WHERE id = ?', [id]);
  return row?.tbl ?? null;
}
