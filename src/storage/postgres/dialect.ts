// How PostgreSQL spells what differs: documents are jsonb, a field is `doc -> 'name'` with JSON
// null folded into SQL NULL (so a missing field and null compare alike, as in SQLite), parameters
// compared with fields are jsonb, and NULL sorts first ascending and last descending, as in SQLite.
// Values of different types in one indexed field sort by jsonb's rules, which differ from SQLite's:
// a documented difference; strings compare by the database's collation.
import type { Dialect, OrderColumn, SqlValue } from '../sql.js';
import { quoteIdentifier, quoteLiteral } from '../sql.js';

const fields = new Map<string, string>();

/** jsonb's order among non-null values: string < number < boolean < array < object. */
function rank(value: unknown): number {
  if (typeof value === 'string') return 1;
  if (typeof value === 'number') return 2;
  if (typeof value === 'boolean') return 3;
  if (Array.isArray(value)) return 4;
  return 5;
}

export const postgresDialect: Dialect = {
  name: 'postgres',
  field(name) {
    let expression = fields.get(name);
    if (expression === undefined) {
      expression =
        name === '_creationTime'
          ? 'creation_time'
          : name === '_id'
            ? 'id'
            : `NULLIF(doc -> ${quoteLiteral(name)}, 'null'::jsonb)`;
      fields.set(name, expression);
    }
    return expression;
  },
  param: (kind) => (kind === 'field' ? '?::jsonb' : '?'),
  fieldValue: (value): SqlValue => (value === undefined || value === null ? null : JSON.stringify(value)),
  keyValue: (value) => value,
  same: (column: OrderColumn) => `${column.sql} IS NOT DISTINCT FROM ${column.kind === 'field' ? '?::jsonb' : '?'}`,
  // Fields may be NULL (missing): first ascending, as in SQLite. Creation time and id never are,
  // and are ordered as the index stores them, so the index serves both directions.
  order: (column, direction, kind) =>
    kind === 'field'
      ? `${column} ${direction === 'asc' ? 'ASC NULLS FIRST' : 'DESC NULLS LAST'}`
      : `${column} ${direction === 'asc' ? 'ASC' : 'DESC'}`,
  createIndex: (name, table, columns) =>
    `CREATE INDEX ${quoteIdentifier(name)} ON _valet_documents (${columns.map((c) => (c.kind === 'field' ? `(${c.sql}) NULLS FIRST` : c.sql)).join(', ')}) WHERE tbl = ${quoteLiteral(table)}`,
  listIndexes:
    "SELECT indexname AS name FROM pg_indexes WHERE schemaname = current_schema() AND indexname LIKE 'valet\\_index\\_\\_%'",
  indexHint: () => '',
  documentTextColumn: 'body',
  documentColumn: 'body AS doc',
  documentOf(value) {
    const json = value as string;
    return { fields: JSON.parse(json) as Record<string, unknown>, json };
  },
  compareFieldValues(a, b) {
    const aNull = a === null || a === undefined;
    const bNull = b === null || b === undefined;
    if (aNull || bNull) return aNull && bNull ? 0 : aNull ? -1 : 1;
    const ra = rank(a);
    const rb = rank(b);
    if (ra !== rb) return ra - rb;
    if (ra === 2) return (a as number) - (b as number);
    if (ra === 3) return Number(a) - Number(b);
    if (ra === 1 && a === b) return 0;
    // Strings follow the database's collation; arrays and objects jsonb's own rules: unknown here.
    return null;
  },
  skipLocked: 'FOR UPDATE SKIP LOCKED',
  // A tsvector made straight from the words and the filter tokens (array_to_tsvector, no parser or
  // dictionary: the words come folded and split already, ../search-text.ts), generated in the
  // row's transaction, GIN-indexed. Filter tokens start with `~`, which no word does, so a
  // word's prefix never matches one.
  search: {
    create: (name) =>
      `CREATE TABLE ${quoteIdentifier(name)} (id text PRIMARY KEY, created double precision NOT NULL, terms text NOT NULL,
        norm double precision NOT NULL, filters text NOT NULL,
        words tsvector GENERATED ALWAYS AS (array_to_tsvector(string_to_array(btrim(terms), '  ') || string_to_array(filters, ' '))) STORED);
       CREATE INDEX ${quoteIdentifier(`${name}__words`)} ON ${quoteIdentifier(name)} USING gin (words);`,
    drop: (name) => `DROP TABLE IF EXISTS ${quoteIdentifier(name)};`,
    from: (name) => `${quoteIdentifier(name)} s`,
    match: () => 's.words @@ CAST(? AS tsquery)',
    // tsquery's own input syntax, with each word a quoted lexeme: taken literally, never parsed.
    matchText: (words, filters, every) =>
      [
        `(${words.map((word, i) => `${quoteLiteral(word)}${i === words.length - 1 ? ':*' : ''}`).join(every ? ' & ' : ' | ')})`,
        ...filters.map((token) => quoteLiteral(`~${token}`)),
      ].join(' & '),
  },
};
