// Read-only browsing of documents for `valet data`.
import type Database from 'better-sqlite3';
import type { StoredDocument } from './documents.js';
import { rowToDocument } from './documents.js';

export function listTables(db: Database.Database): { table: string; documents: number }[] {
  return (db.prepare('SELECT tbl AS "table", COUNT(*) AS documents FROM _valet_documents GROUP BY tbl ORDER BY tbl').all() as { table: string; documents: number }[]);
}

export function listDocuments(db: Database.Database, table: string, options: { limit: number; order: 'asc' | 'desc' }): StoredDocument[] {
  const direction = options.order === 'desc' ? 'DESC' : 'ASC';
  return (db.prepare(`SELECT id, tbl, creation_time, doc FROM _valet_documents WHERE tbl = ? ORDER BY creation_time ${direction}, id ${direction} LIMIT ?`).all(table, options.limit) as never[]).map(rowToDocument);
}
