// ctx.db.query(table): a builder that turns withIndex / order / filter / take / paginate into
// one SQL statement over the table's partial index, streaming rows until enough pass the filter.
import type { SchemaDefinition } from '../server/schema.js';
import type { StoredDocument } from './documents.js';
import { tableDefinition } from '../server/schema.js';
import { DocumentError, rowToDocument, unknownTableError } from './documents.js';
import type { DocumentStore } from './documents.js';
import { sqlIndexName } from './indexes.js';
import type { IndexBound, Read } from './read-set.js';
import type { SqlValue } from './sql-values.js';
import { fieldExpression, quoteIdentifier, quoteLiteral, toSqlValue } from './sql-values.js';

/** Runs a synchronous read against whichever connection the invocation reads from. */
export type ReadExecutor = <T>(read: (store: DocumentStore) => T) => Promise<T>;

type Bound = IndexBound;

class IndexRange {
  readonly bounds: Bound[] = [];
  constructor(private readonly fields: string[], private readonly indexName: string) {}

  private add(op: Bound['op'], field: string, value: unknown): this {
    const position = this.fields.indexOf(field);
    if (position === -1) throw new DocumentError('invalid_document', `withIndex("${this.indexName}"): "${field}" is not a field of this index (${this.fields.join(', ')})`);
    const equalities = this.bounds.filter((b) => b.op === 'eq').length;
    const ranges = this.bounds.filter((b) => b.op !== 'eq');
    if (op === 'eq') {
      if (ranges.length > 0 || position !== equalities) {
        throw new DocumentError('invalid_document', `withIndex("${this.indexName}"): eq("${field}") must come in index order (${this.fields.join(', ')}) and before any range`);
      }
    } else if (position !== equalities || ranges.some((b) => b.field !== field) || ranges.length >= 2) {
      throw new DocumentError('invalid_document', `withIndex("${this.indexName}"): a range is allowed on the first field after the eq() fields only, with at most one lower and one upper bound`);
    }
    this.bounds.push({ op, field, value });
    return this;
  }
  eq(field: string, value: unknown) { return this.add('eq', field, value); }
  gt(field: string, value: unknown) { return this.add('gt', field, value); }
  gte(field: string, value: unknown) { return this.add('gte', field, value); }
  lt(field: string, value: unknown) { return this.add('lt', field, value); }
  lte(field: string, value: unknown) { return this.add('lte', field, value); }
}

const OPERATORS = { gt: '>', gte: '>=', lt: '<', lte: '<=' } as const;

interface Plan {
  index: string | null;
  orderColumns: string[];
  /** Leading order columns pinned by eq(): constant, so left out of ORDER BY (SQLite then
   * sorts with a temp b-tree instead of reading the index in order). */
  pinned: number;
  where: string[];
  params: SqlValue[];
}

function passes(predicate: (doc: StoredDocument) => boolean, doc: StoredDocument): boolean {
  const result = predicate(doc) as unknown;
  if (result instanceof Promise) throw new DocumentError('invalid_document', 'filter: the predicate must return a boolean, not a Promise');
  return Boolean(result);
}

function encodeCursor(values: unknown[]): string {
  return Buffer.from(JSON.stringify(values)).toString('base64url');
}

function decodeCursor(cursor: string): unknown[] {
  try {
    const values = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(values)) return values;
  } catch {
    // fall through to the error below
  }
  throw new DocumentError('invalid_document', 'paginate: the cursor is not one this query returned');
}

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
    this.plan = { index: null, orderColumns: ['creation_time', 'id'], pinned: 0, where: [`tbl = ${quoteLiteral(table)}`], params: [] };
  }

  withIndex(name: string, range?: (q: IndexRange) => IndexRange): this {
    if (this.plan.index !== null || this.ordered || this.predicates.length > 0) {
      throw new DocumentError('invalid_document', 'withIndex must come first, right after query(table)');
    }
    const table = tableDefinition(this.schema, this.table);
    const definition = table?.indexes.find((i: { name: string }) => i.name === name) as { fields: string[] } | undefined;
    if (!definition) {
      const known = table?.indexes.map((i: { name: string }) => i.name) ?? [];
      throw new DocumentError('invalid_document', `table "${this.table}" has no index "${name}"${known.length ? ` (indexes: ${known.join(', ')})` : ''}`);
    }
    const bounds = range ? range(new IndexRange(definition.fields, name)).bounds : [];
    const where = [...this.plan.where];
    const params: SqlValue[] = [];
    for (const bound of bounds) {
      const expression = fieldExpression(bound.field);
      if (bound.op === 'eq') {
        if (bound.value === null || bound.value === undefined) where.push(`${expression} IS NULL`);
        else {
          where.push(`${expression} = ?`);
          params.push(toSqlValue(bound.value));
        }
      } else {
        where.push(`${expression} ${OPERATORS[bound.op]} ?`);
        params.push(toSqlValue(bound.value));
      }
    }
    this.bounds = bounds;
    const pinned = bounds.filter((b) => b.op === 'eq').length;
    this.plan = { index: sqlIndexName(this.table, name), orderColumns: [...definition.fields.map(fieldExpression), 'creation_time', 'id'], pinned, where, params };
    return this;
  }

  order(direction: 'asc' | 'desc'): this {
    if (direction !== 'asc' && direction !== 'desc') throw new DocumentError('invalid_document', `order: expected "asc" or "desc", got ${JSON.stringify(direction)}`);
    this.direction = direction;
    this.ordered = true;
    return this;
  }

  filter(predicate: (doc: any) => boolean): this {
    if (typeof predicate !== 'function') throw new DocumentError('invalid_document', 'filter: pass a function (doc) => boolean');
    this.predicates.push(predicate);
    return this;
  }

  private sql(extraWhere: string[], limit: number | null, withKeys: boolean): string {
    const indexed = this.plan.index ? ` INDEXED BY ${quoteIdentifier(this.plan.index)}` : '';
    const order = this.plan.orderColumns.slice(this.plan.pinned).map((c) => `${c} ${this.direction === 'asc' ? 'ASC' : 'DESC'}`).join(', ');
    const keys = withKeys ? `, ${this.plan.orderColumns.map((c, i) => `${c} AS k${i}`).join(', ')}` : '';
    const limitClause = limit === null ? '' : ` LIMIT ${limit}`;
    return `SELECT id, tbl, creation_time, doc${keys} FROM _valet_documents${indexed} WHERE ${[...this.plan.where, ...extraWhere].join(' AND ')} ORDER BY ${order}${limitClause}`;
  }

  /**
   * Reads rows in order, keeping those that pass the filters, until `limit` are kept. Without
   * filters SQLite applies the limit itself; with filters the rows are streamed and stopped early.
   * `withKeys` also returns the ordering key of the last row read (for pagination cursors).
   */
  private scan(store: DocumentStore, limit: number, after: unknown[] | null, withKeys = false): { docs: StoredDocument[]; last: unknown[] | null; exhausted: boolean } {
    this.onRead?.({ kind: 'range', table: this.table, bounds: this.bounds });
    const extra: string[] = [];
    const params = [...this.plan.params];
    if (after) {
      const { clause, values } = afterClause(this.plan.orderColumns, after, this.direction);
      extra.push(clause);
      params.push(...values);
    }
    if (limit <= 0) return { docs: [], last: null, exhausted: false };
    const keysOf = (row: Record<string, unknown>) => this.plan.orderColumns.map((_, i) => row[`k${i}`]);
    if (this.predicates.length === 0) {
      const bounded = Number.isFinite(limit) ? limit : null;
      const sql = this.sql(extra, bounded, withKeys);
      const rows = store.cachedRead(sql, params, () => store.prepare(sql).all(...params)) as Record<string, unknown>[];
      const last = withKeys && rows.length > 0 ? keysOf(rows[rows.length - 1]!) : null;
      return { docs: rows.map((row) => rowToDocument(row as never)), last, exhausted: bounded === null || rows.length < bounded };
    }
    const docs: StoredDocument[] = [];
    let last: unknown[] | null = null;
    const iterator = store.prepare(this.sql(extra, null, withKeys)).iterate(...params) as IterableIterator<Record<string, unknown>>;
    for (const row of iterator) {
      const doc = rowToDocument(row as never);
      if (withKeys) last = keysOf(row);
      if (this.predicates.every((p) => passes(p, doc))) docs.push(doc);
      if (docs.length >= limit) {
        iterator.return?.();
        return { docs, last, exhausted: false };
      }
    }
    return { docs, last, exhausted: true };
  }

  take(n: number): Promise<StoredDocument[]> {
    if (!Number.isInteger(n) || n < 0) throw new DocumentError('invalid_document', `take: expected a non-negative integer, got ${n}`);
    return this.read((store) => this.scan(store, n, null).docs);
  }

  collect(): Promise<StoredDocument[]> {
    return this.read((store) => this.scan(store, Number.POSITIVE_INFINITY, null).docs);
  }

  first(): Promise<StoredDocument | null> {
    return this.read((store) => this.scan(store, 1, null).docs[0] ?? null);
  }

  unique(): Promise<StoredDocument | null> {
    return this.read((store) => {
      const { docs } = this.scan(store, 2, null);
      if (docs.length > 1) throw new DocumentError('invalid_document', `unique: more than one document in ${this.table} matches (${docs[0]!._id}, ${docs[1]!._id}, ...)`);
      return docs[0] ?? null;
    });
  }

  paginate(options: { cursor: string | null; numItems: number }): Promise<{ page: StoredDocument[]; isDone: boolean; continueCursor: string }> {
    if (!Number.isInteger(options?.numItems) || options.numItems <= 0) {
      throw new DocumentError('invalid_document', `paginate: numItems must be a positive integer, got ${options?.numItems}`);
    }
    return this.read((store) => {
      const after = options.cursor ? decodeCursor(options.cursor) : null;
      const { docs, last, exhausted } = this.scan(store, options.numItems, after, true);
      // A full page may still be the last one: look one row ahead so isDone is exact.
      const isDone = exhausted || (last !== null && this.scan(store, 1, last, true).docs.length === 0);
      return { page: docs, isDone, continueCursor: last ? encodeCursor(last) : (options.cursor ?? encodeCursor([])) };
    });
  }
}

/**
 * "Strictly after `values` in this order", spelled out column by column so NULLs (missing fields,
 * which SQLite sorts first) compare correctly: SQL's row-value comparison would drop them.
 */
function afterClause(columns: string[], values: unknown[], direction: 'asc' | 'desc'): { clause: string; values: SqlValue[] } {
  if (values.length === 0) return { clause: '1 = 0', values: [] };
  const alternatives: string[] = [];
  const params: SqlValue[] = [];
  for (let i = 0; i < columns.length; i++) {
    const terms: string[] = [];
    for (let j = 0; j < i; j++) {
      terms.push(`${columns[j]} IS ?`);
      params.push(values[j] as SqlValue);
    }
    const value = values[i] as SqlValue;
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
