// The types of `ctx.db` as handlers see them. The engine implements them on SQLite; these
// declarations are what makes documents and ids typed from the app's schema.
import type { GenericDataModel, SearchIndexShape, TableNamesOf } from './schema.js';
import type { GenericId } from './values.js';

type Doc<DM extends GenericDataModel, T extends TableNamesOf<DM>> = DM[T]['document'];
type Fields<DM extends GenericDataModel, T extends TableNamesOf<DM>> = Omit<Doc<DM, T>, '_id' | '_creationTime'>;
type IdOf<DM extends GenericDataModel, T extends TableNamesOf<DM>> = GenericId<T>;

/** Builds a range over an index's fields, in index order: equalities first, then one range. */
export interface IndexRangeBuilder<Document, IndexFields extends readonly string[]> {
  eq<F extends IndexFields[number] & keyof Document>(
    field: F,
    value: Document[F],
  ): IndexRangeBuilder<Document, IndexFields>;
  gt<F extends IndexFields[number] & keyof Document>(
    field: F,
    value: Document[F],
  ): IndexRangeBuilder<Document, IndexFields>;
  gte<F extends IndexFields[number] & keyof Document>(
    field: F,
    value: Document[F],
  ): IndexRangeBuilder<Document, IndexFields>;
  lt<F extends IndexFields[number] & keyof Document>(
    field: F,
    value: Document[F],
  ): IndexRangeBuilder<Document, IndexFields>;
  lte<F extends IndexFields[number] & keyof Document>(
    field: F,
    value: Document[F],
  ): IndexRangeBuilder<Document, IndexFields>;
}

export interface PaginationOptions {
  cursor: string | null;
  numItems: number;
  /** Pins the page's end (live paginated lists keep each loaded page's boundaries this way). */
  endCursor?: string | null;
  /** Read at most this many rows for the page (filters may skip many). */
  maximumRowsRead?: number;
  /** Set by clients to tell pages apart; ignored by the database. */
  id?: number;
}

export interface PaginationResult<Document> {
  page: Document[];
  isDone: boolean;
  continueCursor: string;
}

/** An expression built with Convex's filter builder (`q.eq(q.field('author'), 'ada')`). */
export interface FilterExpression<T> {
  readonly __type?: T;
}

type Operand<T> = FilterExpression<T> | T;

/** Convex's filter builder: `.filter(q => q.and(q.eq(q.field('author'), 'ada'), q.gt(q.field('n'), 3)))`. */
export interface FilterBuilder<Document> {
  field<F extends keyof Document & string>(name: F): FilterExpression<Document[F]>;
  field(name: string): FilterExpression<unknown>;
  eq<T>(a: Operand<T>, b: Operand<T>): FilterExpression<boolean>;
  neq<T>(a: Operand<T>, b: Operand<T>): FilterExpression<boolean>;
  lt<T>(a: Operand<T>, b: Operand<T>): FilterExpression<boolean>;
  lte<T>(a: Operand<T>, b: Operand<T>): FilterExpression<boolean>;
  gt<T>(a: Operand<T>, b: Operand<T>): FilterExpression<boolean>;
  gte<T>(a: Operand<T>, b: Operand<T>): FilterExpression<boolean>;
  and(...terms: Operand<boolean>[]): FilterExpression<boolean>;
  or(...terms: Operand<boolean>[]): FilterExpression<boolean>;
  not(term: Operand<boolean>): FilterExpression<boolean>;
  add(a: Operand<number>, b: Operand<number>): FilterExpression<number>;
  sub(a: Operand<number>, b: Operand<number>): FilterExpression<number>;
  mul(a: Operand<number>, b: Operand<number>): FilterExpression<number>;
  div(a: Operand<number>, b: Operand<number>): FilterExpression<number>;
  mod(a: Operand<number>, b: Operand<number>): FilterExpression<number>;
  neg(a: Operand<number>): FilterExpression<number>;
}

/**
 * What `.filter(fn)` passes: typed as the document and the builder at once, because TypeScript
 * cannot choose between two callback shapes; at run time `fn` gets one or the other, as written.
 */
export type FilterArgument<Document> = Document & FilterBuilder<Document>;

export interface OrderedQuery<Document> {
  /**
   * Keeps matching documents (evaluated after the index range): a predicate `(doc) => boolean`, or
   * Convex's builder `(q) => q.eq(q.field('author'), 'ada')`.
   */
  filter(predicate: (doc: FilterArgument<Document>) => boolean | FilterExpression<boolean>): this;
  take(n: number): Promise<Document[]>;
  first(): Promise<Document | null>;
  /** The single matching document, null when none; throws when there is more than one. */
  unique(): Promise<Document | null>;
  collect(): Promise<Document[]>;
  paginate(options: PaginationOptions): Promise<PaginationResult<Document>>;
}

export interface Query<Document> extends OrderedQuery<Document> {
  order(order: 'asc' | 'desc'): OrderedQuery<Document>;
}

/** The type at a field path of a document (`properties.name`); unknown where it cannot tell. */
export type ValueAtPath<D, P extends string> = P extends keyof D
  ? D[P]
  : P extends `${infer Head}.${infer Rest}`
    ? Head extends keyof D
      ? ValueAtPath<NonNullable<D[Head]>, Rest>
      : unknown
    : unknown;

/** After `search()`: narrow by equality on the index's filter fields. */
export interface SearchFilterFinalizer<Document, Index extends SearchIndexShape> {
  eq<F extends Index['filterFields']>(
    field: F,
    value: ValueAtPath<Document, F>,
  ): SearchFilterFinalizer<Document, Index>;
}

/** `q` in `withSearchIndex(name, q => q.search(field, text).eq(...))`. */
export interface SearchFilterBuilder<Document, Index extends SearchIndexShape> {
  /** Documents holding any word of `text`, more of them first (case and accents ignored; the last also as a prefix). */
  search(field: Index['searchField'], text: string): SearchFilterFinalizer<Document, Index>;
}

export interface QueryInitializer<
  Document,
  Indexes extends Record<string, readonly string[]>,
  SearchIndexes extends Record<string, SearchIndexShape> = {},
> extends Query<Document> {
  withIndex<I extends keyof Indexes & string>(
    index: I,
    range?: (q: IndexRangeBuilder<Document, Indexes[I]>) => IndexRangeBuilder<Document, Indexes[I]>,
  ): Query<Document>;
  /** Full-text search, most relevant first (at most 1024 documents; `.filter()` and pages as for other queries). */
  withSearchIndex<I extends keyof SearchIndexes & string>(
    index: I,
    search: (q: SearchFilterBuilder<Document, SearchIndexes[I]>) => SearchFilterFinalizer<Document, SearchIndexes[I]>,
  ): OrderedQuery<Document>;
}

/** A table's search indexes (none in a data model written before they existed). */
type SearchIndexesOf<Info> = Info extends { searchIndexes: infer S extends Record<string, SearchIndexShape> } ? S : {};

/** A call ctx.scheduler made, as `ctx.db.system` shows it (Convex's `_scheduled_functions`). */
export interface ScheduledFunction {
  _id: GenericId<'_scheduled_functions'>;
  _creationTime: number;
  /** The function's path: `emails:send`. */
  name: string;
  /** The args, as a one-element array (Convex's shape). */
  args: any[];
  scheduledTime: number;
  completedTime?: number;
  state:
    | { kind: 'pending' }
    | { kind: 'inProgress' }
    | { kind: 'success' }
    | { kind: 'failed'; error: string }
    | { kind: 'canceled' };
}

/** A stored file, as `ctx.db.system` shows it (Convex's `_storage`). */
export interface StoredFile {
  _id: GenericId<'_storage'>;
  _creationTime: number;
  /** The Content-Type it was uploaded or stored with, if any. */
  contentType?: string;
  /** Hex SHA-256 of its bytes (also its ETag). */
  sha256: string;
  size: number;
}

/** The system tables `ctx.db.system` reads. */
export interface SystemTables {
  _scheduled_functions: ScheduledFunction;
  _storage: StoredFile;
}

/** A query over a system table: by creation time, with filters; no indexes or pages. */
export interface SystemQuery<Document> {
  order(order: 'asc' | 'desc'): SystemQuery<Document>;
  filter(predicate: (doc: FilterArgument<Document>) => boolean | FilterExpression<boolean>): SystemQuery<Document>;
  take(n: number): Promise<Document[]>;
  first(): Promise<Document | null>;
  unique(): Promise<Document | null>;
  collect(): Promise<Document[]>;
}

/** `ctx.db.system`: read-only, live like any read. */
export interface SystemReader {
  get(id: GenericId<'_scheduled_functions'>): Promise<ScheduledFunction | null>;
  get(id: GenericId<'_storage'>): Promise<StoredFile | null>;
  get<T extends keyof SystemTables>(table: T, id: GenericId<T>): Promise<SystemTables[T] | null>;
  query<T extends keyof SystemTables>(table: T): SystemQuery<SystemTables[T]>;
}

export interface DatabaseReader<DM extends GenericDataModel> {
  get<T extends TableNamesOf<DM>>(id: GenericId<T>): Promise<Doc<DM, T> | null>;
  /** Convex's newer form: the id must belong to `table`. */
  get<T extends TableNamesOf<DM>>(table: T, id: GenericId<T>): Promise<Doc<DM, T> | null>;
  query<T extends TableNamesOf<DM>>(table: T): QueryInitializer<Doc<DM, T>, DM[T]['indexes'], SearchIndexesOf<DM[T]>>;
  /**
   * `id` as an id of `table` when it can be one (a string in id form, a table the schema declares),
   * else null: for ids that arrive untyped (a URL, a form). Synchronous, as in Convex; Valet ids do
   * not name their table, so `get(table, id)` is what confirms the document is that table's.
   */
  normalizeId<T extends TableNamesOf<DM>>(table: T, id: string): GenericId<T> | null;
  /** The system tables: `ctx.db.system.get(scheduledId)`, `ctx.db.system.query('_scheduled_functions')`. */
  system: SystemReader;
}

export interface DatabaseWriter<DM extends GenericDataModel> extends DatabaseReader<DM> {
  insert<T extends TableNamesOf<DM>>(table: T, doc: Fields<DM, T>): Promise<IdOf<DM, T>>;
  /** Inserts a document with a caller-chosen `_id` once; later calls with the same id change nothing. */
  insertOrIgnore<T extends TableNamesOf<DM>>(table: T, doc: Fields<DM, T> & { _id: string }): Promise<IdOf<DM, T>>;
  patch<T extends TableNamesOf<DM>>(id: GenericId<T>, fields: Partial<Fields<DM, T>>): Promise<void>;
  patch<T extends TableNamesOf<DM>>(table: T, id: GenericId<T>, fields: Partial<Fields<DM, T>>): Promise<void>;
  replace<T extends TableNamesOf<DM>>(id: GenericId<T>, doc: Fields<DM, T>): Promise<void>;
  replace<T extends TableNamesOf<DM>>(table: T, id: GenericId<T>, doc: Fields<DM, T>): Promise<void>;
  delete(id: GenericId<TableNamesOf<DM>>): Promise<void>;
  delete<T extends TableNamesOf<DM>>(table: T, id: GenericId<T>): Promise<void>;
}

/** An action's database: every call auto-commits; `transaction` groups writes atomically. */
export interface ActionDatabase<DM extends GenericDataModel> extends DatabaseWriter<DM> {
  /** Runs `fn` in one transaction. `fetch` inside throws; nesting throws. */
  transaction<R>(fn: (tx: DatabaseWriter<DM>) => Promise<R>): Promise<R>;
}
