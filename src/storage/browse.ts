// Read-only browsing of documents for `valet data`.
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
