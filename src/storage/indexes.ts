// Schema indexes as real SQLite indexes: one partial expression index per declared index,
// over the document table, ordered like queries read it (fields, then creation time and id).
import type Database from 'better-sqlite3';
import type { SchemaDefinition } from '../server/schema.js';
import { fieldExpression, quoteIdentifier, quoteLiteral } from './sql-values.js';

const PREFIX = 'valet_index__';

export function sqlIndexName(table: string, index: string): string {
  return `${PREFIX}${table}__${index}`;
}

function indexSql(table: string, index: string, fields: string[]): string {
  const columns = [...fields.map(fieldExpression), 'creation_time', 'id'].join(', ');
  return `CREATE INDEX ${quoteIdentifier(sqlIndexName(table, index))} ON _valet_documents (${columns}) WHERE tbl = ${quoteLiteral(table)}`;
}

/**
 * Makes the SQLite indexes match the schema: creates new ones, recreates changed ones, drops
 * ones the schema no longer declares. Returns what changed, for the dev server's one-line report.
 */
export function applySchemaIndexes(db: Database.Database, schema: SchemaDefinition<any> | null): { created: string[]; dropped: string[] } {
  const existing = new Map(
    (db.prepare("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND name LIKE 'valet_index__%'").all() as { name: string; sql: string }[]).map(
      (row) => [row.name, row.sql],
    ),
  );
  const wanted = new Map<string, string>();
  for (const [table, definition] of Object.entries(schema?.tables ?? {})) {
    for (const index of (definition as { indexes: { name: string; fields: string[] }[] }).indexes) {
      wanted.set(sqlIndexName(table, index.name), indexSql(table, index.name, index.fields));
    }
  }
  const created: string[] = [];
  const dropped: string[] = [];
  db.transaction(() => {
    for (const [name, sql] of existing) {
      if (wanted.get(name) !== sql) {
        db.exec(`DROP INDEX ${quoteIdentifier(name)}`);
        dropped.push(name);
      }
    }
    for (const [name, sql] of wanted) {
      if (existing.get(name) !== sql) {
        db.exec(sql);
        created.push(name);
      }
    }
  }).immediate();
  return { created, dropped };
}
