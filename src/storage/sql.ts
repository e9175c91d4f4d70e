// The storage seam: every part of the engine talks to its database through an SqlExecutor and
// writes SQL once, with `?` placeholders and the few spellings that differ between SQLite and
// PostgreSQL asked of the Dialect. Executors are asynchronous because PostgreSQL's driver is; the
// SQLite one answers synchronously underneath.
export type SqlValue = string | number | bigint | boolean | Buffer | null;
export type Row = Record<string, unknown>;

/** What a column of an ordering key holds: a document field (JSON), creation time, or the id. */
export type ColumnKind = 'field' | 'number' | 'text';

export interface OrderColumn {
  sql: string;
  kind: ColumnKind;
}

export interface Dialect {
  readonly name: 'sqlite' | 'postgres';
  /** The expression for a document field, spelled the same by indexes and queries. */
  field(name: string): string;
  /** A placeholder for a value compared with a column of this kind. */
  param(kind: ColumnKind): string;
  /** A document field's value as a bound parameter (for comparisons with `field()`). */
  fieldValue(value: unknown): SqlValue;
  /** A key value read back from a result row, as cursors keep it. */
  keyValue(value: unknown, kind: ColumnKind): unknown;
  /** Null-safe equality with a parameter: `x IS ?` / `x IS NOT DISTINCT FROM ?`. */
  same(column: OrderColumn): string;
  /** An ORDER BY term: missing fields (NULL) sort first ascending, last descending, on both backends. */
  order(column: string, direction: 'asc' | 'desc', kind: ColumnKind): string;
  /** CREATE INDEX for a schema index over the document table, matching how queries order. */
  createIndex(name: string, table: string, columns: OrderColumn[]): string;
  /** A statement listing the names of Valet's schema indexes (`valet_index__…`). */
  readonly listIndexes: string;
  /** An index hint after the table name (SQLite's INDEXED BY), or ''. */
  indexHint(name: string | null): string;
  /**
   * The column a document's JSON text is written to, as written: SQLite's \`doc\`; PostgreSQL's
   * \`body\`, from which its jsonb \`doc\` (what indexes and filters read) is generated, so a
   * document reads back with its fields in the order they were written, as on SQLite.
   */
  readonly documentTextColumn: string;
  /** The document column as selected (always JSON text, parsed here). */
  readonly documentColumn: string;
  /** A document body from a result row (text to parse, or an object the driver parsed). */
  documentOf(value: unknown): { fields: Record<string, unknown>; json: string | null };
  /** How this backend orders two field values in an index (for live-query read sets). */
  compareFieldValues(a: unknown, b: unknown): number | null;
  /** `FOR UPDATE SKIP LOCKED` where the backend has it (claims by several instances), else ''. */
  readonly skipLocked: string;
  /** How a search index's table is made and matched (see ./search-indexes.ts). */
  readonly search: SearchDialect;
}

/**
 * A search index is a table `name` of (id, created, terms, norm, filters) rows written by
 * ./search-indexes.ts, and the engine's own full-text index over `terms` (words already folded
 * and split) and `filters` (one token per filter field's value).
 */
export interface SearchDialect {
  /** Statements making the table and its full-text index (empty). */
  create(name: string): string;
  /** Statements dropping both, if there. */
  drop(name: string): string;
  /** The FROM clause giving the table as `s`, joined to its full-text index where that is apart. */
  from(name: string): string;
  /** A condition with one parameter (`matchText`): `s` holds a word and every filter token. */
  match(name: string): string;
  /**
   * The engine's query: any of the words (every one of them with `every`; the last also as a
   * prefix), and every filter token.
   */
  matchText(words: readonly string[], filterTokens: readonly string[], every: boolean): string;
}

export interface SqlExecutor {
  readonly dialect: Dialect;
  all<T = Row>(sql: string, params?: readonly unknown[]): Promise<T[]>;
  get<T = Row>(sql: string, params?: readonly unknown[]): Promise<T | undefined>;
  run(sql: string, params?: readonly unknown[]): Promise<{ changes: number }>;
  /** Statements without parameters (DDL), possibly several. */
  exec(sql: string): Promise<void>;
}

/** Identifiers come from validated schema names; quoting keeps them literal anyway. */
export function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

export function quoteLiteral(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}
