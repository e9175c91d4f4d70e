// How SQLite spells what differs: json_extract yields 1/0 for booleans, NULL for null or a missing
// field, JSON text for arrays and objects, so bound values are spelled the same way; NULL sorts
// first ascending; INDEXED BY pins the schema index a query was planned for.
import type { ColumnKind, Dialect, OrderColumn, SqlValue } from '../sql.js';
import { quoteIdentifier, quoteLiteral } from '../sql.js';

const fields = new Map<string, string>();

/** `$."field"`: the JSON path of a top-level field, quoted so any field name is safe. */
function fieldPath(field: string): string {
  return `'$.${JSON.stringify(field).replaceAll("'", "''")}'`;
}

/** SQLite's order for json_extract values: NULL < numbers (booleans as 0/1) < text (JSON text for objects). */
function sortKey(value: unknown): [number, number | string] {
  if (value === null || value === undefined) return [0, 0];
  if (typeof value === 'boolean') return [1, value ? 1 : 0];
  if (typeof value === 'number') return [1, value];
  if (typeof value === 'string') return [2, value];
  return [2, JSON.stringify(value)];
}

export const sqliteDialect: Dialect = {
  name: 'sqlite',
  field(name) {
    let expression = fields.get(name);
    if (expression === undefined) {
      expression =
        name === '_creationTime' ? 'creation_time' : name === '_id' ? 'id' : `json_extract(doc, ${fieldPath(name)})`;
      fields.set(name, expression);
    }
    return expression;
  },
  param: () => '?',
  fieldValue(value): SqlValue {
    if (value === undefined || value === null) return null;
    if (typeof value === 'boolean') return value ? 1 : 0;
    if (typeof value === 'number' || typeof value === 'string') return value;
    return JSON.stringify(value);
  },
  keyValue: (value) => value,
  same: (column: OrderColumn) => `${column.sql} IS ?`,
  order: (column, direction) => `${column} ${direction === 'asc' ? 'ASC' : 'DESC'}`,
  createIndex: (name, table, columns) =>
    `CREATE INDEX ${quoteIdentifier(name)} ON _valet_documents (${columns.map((c) => c.sql).join(', ')}) WHERE tbl = ${quoteLiteral(table)}`,
  listIndexes: "SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE 'valet_index__%'",
  indexHint: (name) => (name ? ` INDEXED BY ${quoteIdentifier(name)}` : ''),
  documentTextColumn: 'doc',
  documentColumn: 'doc',
  documentOf(value) {
    const json = value as string;
    return { fields: JSON.parse(json) as Record<string, unknown>, json };
  },
  compareFieldValues(a, b) {
    const [ra, va] = sortKey(a);
    const [rb, vb] = sortKey(b);
    if (ra !== rb) return ra - rb;
    return va < vb ? -1 : va > vb ? 1 : 0;
  },
  skipLocked: '',
  // FTS5, external content: the index keeps no copy of the words. The words come folded and split
  // already (../search-text.ts), so the `ascii` tokenizer, which splits on ASCII punctuation and
  // space only, takes them exactly as they are; filter values are tokens of their own column.
  // Positions are not kept (no phrase queries) nor sizes (relevance is computed from `terms`).
  // Triggers keep the index in the row's transaction.
  search: {
    create: (name) => {
      const table = quoteIdentifier(name);
      const fts = quoteIdentifier(`${name}__fts`);
      return `CREATE TABLE ${table} (row INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, created REAL NOT NULL, terms TEXT NOT NULL, norm REAL NOT NULL, filters TEXT NOT NULL);
        CREATE VIRTUAL TABLE ${fts} USING fts5(terms, filters, content=${quoteLiteral(name)}, content_rowid='row', tokenize='ascii', detail='column', columnsize=0);
        CREATE TRIGGER ${quoteIdentifier(`${name}__added`)} AFTER INSERT ON ${table} BEGIN
          INSERT INTO ${fts} (rowid, terms, filters) VALUES (new.row, new.terms, new.filters); END;
        CREATE TRIGGER ${quoteIdentifier(`${name}__removed`)} AFTER DELETE ON ${table} BEGIN
          INSERT INTO ${fts} (${fts}, rowid, terms, filters) VALUES ('delete', old.row, old.terms, old.filters); END;`;
    },
    drop: (name) =>
      `DROP TABLE IF EXISTS ${quoteIdentifier(`${name}__fts`)}; DROP TABLE IF EXISTS ${quoteIdentifier(name)};`,
    from: (name) =>
      `${quoteIdentifier(`${name}__fts`)} JOIN ${quoteIdentifier(name)} s ON s.row = ${quoteIdentifier(`${name}__fts`)}.rowid`,
    match: (name) => `${quoteIdentifier(`${name}__fts`)} MATCH ?`,
    // Words and filter tokens hold letters and digits only; quoted all the same, so nothing in
    // them is query syntax. Each is held to its column.
    matchText: (words, filters, every) =>
      [
        `(${words.map((word, i) => `terms : "${word}"${i === words.length - 1 ? '*' : ''}`).join(every ? ' AND ' : ' OR ')})`,
        ...filters.map((token) => `filters : "${token}"`),
      ].join(' AND '),
  },
};

export type { ColumnKind };
