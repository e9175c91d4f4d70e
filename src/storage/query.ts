// ctx.db.query(table): a builder that turns withIndex / order / filter / take / paginate into one
// SQL statement over the table's index, reading rows in batches until enough pass the filter.
// Every table has the built-in indexes by_creation_time and by_id; every index orders by its
// fields, then creation time, then id, so order is total and pagination cursors are exact. The
// SQL is the dialect's: the same builder serves SQLite and PostgreSQL.
import type { SchemaDefinition } from '../server/schema.js';
import { tableDefinition } from '../server/schema.js';
import { afterClause, decodeCursor, encodeCursor, upToClause } from './cursor.js';
import type { CursorKey } from './cursor.js';
import type { StoredDocument } from './documents.js';
import { EngineError } from '../protocol/engine-error.js';
import { findNonJson, rowToDocument, unknownTableError } from './documents.js';
import type { DocumentStore } from './documents.js';
import { toPredicate } from './filter-expression.js';
import { sqlIndexName } from './indexes.js';
import { checkPaginateOptions } from './paginate-options.js';
import type { PaginateOptions } from './paginate-options.js';
export type { PaginateOptions };
import { SearchFilter, SearchQuery } from './search-query.js';
import { searchIndexesOf } from './search-indexes.js';
import type { IndexBound, Read } from './read-set.js';
import type { ColumnKind, Dialect, OrderColumn } from './sql.js';
import { quoteLiteral } from './sql.js';

/** Runs a read against whichever store the invocation reads from. */
export type ReadExecutor = <T>(read: (store: DocumentStore) => Promise<T>) => Promise<T>;

/** Indexes every table has without declaring them (the names Convex reserves too). */
export const BUILT_IN_INDEXES: Record<string, string[]> = { by_creation_time: ['_creationTime'], by_id: ['_id'] };

class IndexRange {
  readonly bounds: IndexBound[] = [];
  constructor(
    private readonly fields: string[],
    private readonly indexName: string,
  ) {}

  private add(op: IndexBound['op'], field: string, value: unknown): this {
    const position = this.fields.indexOf(field);
    if (position === -1)
      throw new EngineError(
        'invalid_query',
        `withIndex("${this.indexName}"): "${field}" is not a field of this index (${this.fields.join(', ')})`,
      );
    const equalities = this.bounds.filter((b) => b.op === 'eq').length;
    const ranges = this.bounds.filter((b) => b.op !== 'eq');
    if (op === 'eq') {
      if (ranges.length > 0 || position !== equalities) {
        throw new EngineError(
          'invalid_query',
          `withIndex("${this.indexName}"): eq("${field}") must come in index order (${this.fields.join(', ')}) and before any range`,
        );
      }
    } else if (position !== equalities || ranges.some((b) => b.field !== field) || ranges.length >= 2) {
      throw new EngineError(
        'invalid_query',
        `withIndex("${this.indexName}"): a range is allowed on the first field after the eq() fields only, with at most one lower and one upper bound`,
      );
    }
    // A bound is compared with stored values: text neither backend stores matches nothing on one and fails on the other.
    const problem = findNonJson(value, `withIndex("${this.indexName}").${op}("${field}")`, { text: true });
    if (problem?.text) throw new EngineError('invalid_text', problem.message);
    this.bounds.push({ op, field, value });
    return this;
  }
  eq(field: string, value: unknown) {
    return this.add('eq', field, value);
  }
  gt(field: string, value: unknown) {
    return this.add('gt', field, value);
  }
  gte(field: string, value: unknown) {
    return this.add('gte', field, value);
  }
  lt(field: string, value: unknown) {
    return this.add('lt', field, value);
  }
  lte(field: string, value: unknown) {
    return this.add('lte', field, value);
  }
}

const OPERATORS = { gt: '>', gte: '>=', lt: '<', lte: '<=' } as const;

interface Plan {
  /** The schema index to read (SQLite is told which), or null for the table's own. */
  index: string | null;
  /** Index fields, then creation time and id (column SQL is the dialect's). */
  orderFields: string[];
  /** Leading order columns pinned by eq(): constant, so left out of ORDER BY (SQLite then
   * sorts with a temp b-tree instead of reading the index in order). */
  pinned: number;
}

/** Statement texts by query shape (backend, table, index, bounds, order, limit): built once each. */
const STATEMENT_TEXTS = new Map<string, string>();
/** Shapes are few in any app; past this many (limits that vary) the cache starts over. */
const MAX_STATEMENT_TEXTS = 2_000;

/** Rows a filtered scan reads per statement while it looks for enough that pass. */
const FILTER_BATCH = 256;

/** `eq(field, null)`: matched with IS NULL, no parameter. */
const isNullEquality = (bound: IndexBound): boolean =>
  bound.op === 'eq' && (bound.value === null || bound.value === undefined);

const kindOf = (field: string): ColumnKind =>
  field === '_creationTime' ? 'number' : field === '_id' ? 'text' : 'field';

export interface PaginationResult {
  page: StoredDocument[];
  isDone: boolean;
  continueCursor: string;
}

type Range = { after?: CursorKey | null; upTo?: CursorKey | null };

export class QueryBuilder {
  private plan: Plan;
  private direction: 'asc' | 'desc' = 'asc';
  private predicates: ((doc: StoredDocument) => boolean)[] = [];
  private ordered = false;
  private bounds: IndexBound[] = [];

  constructor(
    private readonly read: ReadExecutor,
    private readonly schema: SchemaDefinition<any> | null,
    private readonly table: string,
    /** Told what each execution read (table and index bounds), for reactive queries. */
    private readonly onRead?: (read: Read) => void,
  ) {
    if (schema && !tableDefinition(schema, table)) throw unknownTableError(schema, table);
    this.plan = { index: null, orderFields: ['_creationTime', '_id'], pinned: 0 };
  }

  private indexFields(name: string): { fields: string[]; sqlIndex: string | null } {
    if (Object.hasOwn(BUILT_IN_INDEXES, name)) return { fields: BUILT_IN_INDEXES[name]!, sqlIndex: null };
    const table = tableDefinition(this.schema, this.table);
    const definition = table?.indexes.find((i: { name: string }) => i.name === name) as
      | { fields: string[] }
      | undefined;
    if (!definition) {
      const known = [...(table?.indexes.map((i: { name: string }) => i.name) ?? []), ...Object.keys(BUILT_IN_INDEXES)];
      throw new EngineError(
        'invalid_query',
        `table "${this.table}" has no index "${name}" (indexes: ${known.join(', ')})`,
      );
    }
    return { fields: definition.fields, sqlIndex: sqlIndexName(this.table, name) };
  }

  withIndex(name: string, range?: (q: IndexRange) => IndexRange): this {
    if (this.plan.index !== null || this.bounds.length > 0 || this.ordered || this.predicates.length > 0) {
      throw new EngineError('invalid_query', 'withIndex must come first, right after query(table)');
    }
    const { fields, sqlIndex } = this.indexFields(name);
    this.bounds = range ? range(new IndexRange(fields, name)).bounds : [];
    this.plan = {
      index: sqlIndex,
      orderFields: [...new Set([...fields, '_creationTime', '_id'])],
      pinned: this.bounds.filter((b) => b.op === 'eq').length,
    };
    return this;
  }

  /** Full-text search over a search index: a query of its own, in relevance order. */
  withSearchIndex(name: string, filter: (q: SearchFilter) => SearchFilter): SearchQuery {
    if (this.plan.index !== null || this.bounds.length > 0 || this.ordered || this.predicates.length > 0) {
      throw new EngineError('invalid_query', 'withSearchIndex must come first, right after query(table)');
    }
    const indexes = searchIndexesOf(this.schema, this.table);
    const index = indexes.find((entry) => entry.name === name);
    if (!index)
      throw new EngineError(
        'invalid_query',
        `table "${this.table}" has no search index "${name}" (search indexes: ${indexes.map((entry) => entry.name).join(', ') || 'none'})`,
      );
    if (typeof filter !== 'function')
      throw new EngineError('invalid_query', `withSearchIndex("${name}"): pass (q) => q.search(field, text)`);
    const built = filter(new SearchFilter(index));
    if (!(built instanceof SearchFilter))
      throw new EngineError('invalid_query', `withSearchIndex("${name}"): the search filter must return q`);
    return new SearchQuery(this.read, this.table, index, built, this.onRead);
  }

  order(direction: 'asc' | 'desc'): this {
    if (direction !== 'asc' && direction !== 'desc')
      throw new EngineError('invalid_query', `order: expected "asc" or "desc", got ${JSON.stringify(direction)}`);
    this.direction = direction;
    this.ordered = true;
    return this;
  }

  /** A plain predicate `(doc) => boolean`, or Convex's builder `(q) => q.eq(q.field('x'), 1)`. */
  filter(predicate: (arg: any) => unknown): this {
    this.predicates.push(toPredicate(predicate));
    return this;
  }

  private columns(dialect: Dialect): OrderColumn[] {
    return this.plan.orderFields.map((field) => ({ sql: dialect.field(field), kind: kindOf(field) }));
  }

  /** The table and the index range, as SQL conditions and their parameters. */
  private rangeWhere(dialect: Dialect): { where: string[]; params: unknown[] } {
    const where = [`tbl = ${quoteLiteral(this.table)}`];
    for (const bound of this.bounds) {
      const expression = dialect.field(bound.field);
      if (isNullEquality(bound)) where.push(`${expression} IS NULL`);
      else
        where.push(
          `${expression} ${bound.op === 'eq' ? '=' : OPERATORS[bound.op]} ${dialect.param(kindOf(bound.field))}`,
        );
    }
    return { where, params: this.rangeParams(dialect) };
  }

  /** The index range's parameters, in the order rangeWhere places them. */
  private rangeParams(dialect: Dialect): unknown[] {
    const params: unknown[] = [];
    for (const bound of this.bounds) {
      if (isNullEquality(bound)) continue;
      params.push(kindOf(bound.field) === 'field' ? dialect.fieldValue(bound.value) : bound.value);
    }
    return params;
  }

  /** One statement: rows in order after `after` and up to `upTo`, at most `limit`. */
  private fetch(
    store: DocumentStore,
    limit: number | null,
    range: Range,
    withKeys: boolean,
  ): Promise<Record<string, unknown>[]> {
    const dialect = store.dialect;
    if (range.after || range.upTo) {
      const { text, params } = this.statement(dialect, limit, range, withKeys);
      return store.cachedRead(text, params, () => store.sql.all(text, params));
    }
    // Without cursors the text depends on the query's shape only: built once per shape.
    let shape = `${dialect.name}\0${this.table}\0${this.plan.index}\0${this.plan.orderFields.join('\0')}\0${this.direction}\0${limit}\0${withKeys}`;
    for (const bound of this.bounds) shape += `\0${bound.field}\0${isNullEquality(bound) ? 'null' : bound.op}`;
    let text = STATEMENT_TEXTS.get(shape);
    if (text === undefined) {
      text = this.statement(dialect, limit, range, withKeys).text;
      if (STATEMENT_TEXTS.size >= MAX_STATEMENT_TEXTS) STATEMENT_TEXTS.clear();
      STATEMENT_TEXTS.set(shape, text);
    }
    const params = this.rangeParams(dialect);
    const statement = text;
    return store.cachedRead(statement, params, () => store.sql.all(statement, params));
  }

  private statement(
    dialect: Dialect,
    limit: number | null,
    range: Range,
    withKeys: boolean,
  ): { text: string; params: unknown[] } {
    const columns = this.columns(dialect);
    const { where, params } = this.rangeWhere(dialect);
    for (const [key, clauseOf] of [
      [range.after, afterClause],
      [range.upTo, upToClause],
    ] as const) {
      if (!key) continue;
      const { clause, values } = clauseOf(dialect, columns, key, this.direction);
      where.push(clause);
      params.push(...values);
    }
    const order = columns
      .slice(this.plan.pinned)
      .map((c) => dialect.order(c.sql, this.direction, c.kind))
      .join(', ');
    const keys = withKeys ? `, ${columns.map((c, i) => `${c.sql} AS k${i}`).join(', ')}` : '';
    const text = `SELECT id, tbl, creation_time, ${dialect.documentColumn}${keys} FROM _valet_documents${dialect.indexHint(this.plan.index)} WHERE ${where.join(' AND ')} ORDER BY ${order}${limit === null ? '' : ` LIMIT ${limit}`}`;
    return { text, params };
  }

  /**
   * Reads rows in order, keeping those that pass the filters, until `limit` are kept or `maxRows`
   * were read. Without filters the database applies the limit itself; with filters rows are read
   * in batches and reading stops as soon as enough passed. `withKeys` also returns the ordering
   * key of the last row read (for pagination cursors).
   */
  private async scan(
    store: DocumentStore,
    limit: number,
    range: Range = {},
    withKeys = false,
    maxRows = Number.POSITIVE_INFINITY,
  ): Promise<{ docs: StoredDocument[]; last: CursorKey | null; exhausted: boolean }> {
    this.onRead?.({ kind: 'range', table: this.table, bounds: this.bounds });
    if (limit <= 0) return { docs: [], last: null, exhausted: false };
    const dialect = store.dialect;
    const kinds = this.plan.orderFields.map(kindOf);
    const keysOf = (row: Record<string, unknown>) => kinds.map((kind, i) => dialect.keyValue(row[`k${i}`], kind));
    if (this.predicates.length === 0) {
      const bound = Math.min(limit, maxRows);
      const bounded = Number.isFinite(bound) ? bound : null;
      const rows = await this.fetch(store, bounded, range, withKeys);
      const last = withKeys && rows.length > 0 ? keysOf(rows[rows.length - 1]!) : null;
      return {
        docs: rows.map((row) => rowToDocument(row as never)),
        last,
        exhausted: bounded === null || rows.length < bounded,
      };
    }
    const docs: StoredDocument[] = [];
    let last: CursorKey | null = null;
    let read = 0;
    let after = range.after ?? null;
    for (;;) {
      const rows = await this.fetch(store, FILTER_BATCH, { after, upTo: range.upTo }, true);
      for (const row of rows) {
        const doc = rowToDocument(row as never);
        read++;
        last = keysOf(row);
        if (this.predicates.every((p) => p(doc))) docs.push(doc);
        if (docs.length >= limit || read >= maxRows) return { docs, last: withKeys ? last : null, exhausted: false };
      }
      if (rows.length < FILTER_BATCH) return { docs, last: withKeys ? last : null, exhausted: true };
      after = last;
    }
  }

  take(n: number): Promise<StoredDocument[]> {
    if (!Number.isInteger(n) || n < 0)
      throw new EngineError('invalid_query', `take: expected a non-negative integer, got ${n}`);
    return this.read(async (store) => (await this.scan(store, n)).docs);
  }

  collect(): Promise<StoredDocument[]> {
    return this.read(async (store) => (await this.scan(store, Number.POSITIVE_INFINITY)).docs);
  }

  first(): Promise<StoredDocument | null> {
    return this.read(async (store) => (await this.scan(store, 1)).docs[0] ?? null);
  }

  unique(): Promise<StoredDocument | null> {
    return this.read(async (store) => {
      const { docs } = await this.scan(store, 2);
      if (docs.length > 1)
        throw new EngineError(
          'invalid_query',
          `unique: more than one document in ${this.table} matches (${docs[0]!._id}, ${docs[1]!._id}, ...)`,
        );
      return docs[0] ?? null;
    });
  }

  paginate(options: PaginateOptions): Promise<PaginationResult> {
    checkPaginateOptions(options);
    const keyLength = this.plan.orderFields.length;
    const after =
      options.cursor === null || options.cursor === undefined ? null : decodeCursor(options.cursor, keyLength);
    const upTo =
      options.endCursor === null || options.endCursor === undefined ? null : decodeCursor(options.endCursor, keyLength);
    const maxRows = options.maximumRowsRead ?? Number.POSITIVE_INFINITY;
    return this.read(async (store) => {
      if (upTo) {
        // A pinned page: exactly the rows between its cursors, however many there are now.
        const { docs } = await this.scan(store, Number.POSITIVE_INFINITY, { after, upTo }, true);
        const isDone = (await this.scan(store, 1, { after: upTo }, true)).docs.length === 0;
        return { page: docs, isDone, continueCursor: options.endCursor! };
      }
      const { docs, last, exhausted } = await this.scan(store, options.numItems, { after }, true, maxRows);
      // A full page may still be the last one: look one row ahead so isDone is exact.
      const isDone =
        exhausted || (last !== null && (await this.scan(store, 1, { after: last }, true)).docs.length === 0);
      return { page: docs, isDone, continueCursor: last ? encodeCursor(last) : (options.cursor ?? encodeCursor([])) };
    });
  }
}
