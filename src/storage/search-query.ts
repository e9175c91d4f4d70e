// ctx.db.query(table).withSearchIndex(name, q => q.search(field, text).eq(filterField, value)):
// the documents holding any word of `text` (the last also as a prefix), narrowed by equality on
// filter fields, most relevant first: those holding more of the words, then by relevance. One statement: the engine's full-text index finds the rows
// (words and filter values alike), the relevance (./search-indexes.ts) is computed from each row's
// words in SQL, and the order (relevance, then newest, then id) is total, so pages are keyed by
// cursors as index pages are.
import { EngineError } from '../protocol/engine-error.js';
import type { SearchIndexDefinition } from '../server/schema.js';
import { afterClause, decodeCursor, encodeCursor, upToClause } from './cursor.js';
import type { CursorKey } from './cursor.js';
import type { DocumentStore, StoredDocument } from './documents.js';
import { findNonJson, rowToDocument } from './documents.js';
import { toPredicate } from './filter-expression.js';
import { checkPaginateOptions } from './paginate-options.js';
import type { PaginateOptions } from './paginate-options.js';
import type { PaginationResult, ReadExecutor } from './query.js';
import type { IndexBound, Read } from './read-set.js';
import { filterToken, sqlSearchTableName } from './search-indexes.js';
import { searchTerms } from './search-text.js';
import type { OrderColumn } from './sql.js';

/** At most this many documents from one search (Convex's limit too). */
export const MAX_SEARCH_RESULTS = 1024;
/** Rows read per statement while `.filter()` skips some. */
const FILTER_BATCH = 256;

/** The order of results: relevance, then newest first, then id (a total order, for cursors). */
const ORDER: OrderColumn[] = [
  { sql: 'score', kind: 'number' },
  { sql: 'creation_time', kind: 'number' },
  { sql: 'id', kind: 'text' },
];

export class SearchFilter {
  query: string | null = null;
  readonly equalities: IndexBound[] = [];

  constructor(private readonly index: SearchIndexDefinition) {}

  search(field: string, query: string): this {
    const name = this.index.name;
    if (this.query !== null)
      throw new EngineError('invalid_query', `withSearchIndex("${name}"): search() is called once`);
    if (field !== this.index.searchField)
      throw new EngineError(
        'invalid_query',
        `withSearchIndex("${name}"): search("${field}") — this index searches "${this.index.searchField}"`,
      );
    if (typeof query !== 'string')
      throw new EngineError('invalid_query', `withSearchIndex("${name}"): search() takes the text to find, a string`);
    this.query = query;
    return this;
  }

  eq(field: string, value: unknown): this {
    const name = this.index.name;
    if (!this.index.filterFields.includes(field))
      throw new EngineError(
        'invalid_query',
        `withSearchIndex("${name}"): "${field}" is not a filter field of this index (${this.index.filterFields.join(', ') || 'none'})`,
      );
    if (this.equalities.some((bound) => bound.field === field))
      throw new EngineError('invalid_query', `withSearchIndex("${name}"): eq("${field}") is given twice`);
    const problem = findNonJson(value, `withSearchIndex("${name}").eq("${field}")`, { text: true });
    if (problem) throw new EngineError(problem.text ? 'invalid_text' : 'invalid_query', problem.message);
    this.equalities.push({ op: 'eq', field, value });
    return this;
  }
}

/** A search's cursor: relevance, creation time, id (or the empty end). */
function searchCursor(cursor: unknown): CursorKey {
  const key = decodeCursor(cursor, ORDER.length);
  if (key.length === 0) return key;
  const [score, creationTime, id] = key;
  if (typeof score !== 'number' || typeof creationTime !== 'number' || typeof id !== 'string')
    throw new EngineError(
      'invalid_cursor',
      'paginate: the cursor is not one this query returned (not a search cursor)',
    );
  return key;
}

type Range = { after?: CursorKey | null; upTo?: CursorKey | null };

export class SearchQuery {
  private readonly words: string[];
  private readonly filterTokens: string[];
  private readonly predicates: ((doc: StoredDocument) => boolean)[] = [];

  constructor(
    private readonly read: ReadExecutor,
    private readonly table: string,
    private readonly index: SearchIndexDefinition,
    private readonly filter_: SearchFilter,
    private readonly onRead?: (read: Read) => void,
  ) {
    if (filter_.query === null)
      throw new EngineError(
        'invalid_query',
        `withSearchIndex("${index.name}"): call q.search("${index.searchField}", text) in the search filter`,
      );
    this.words = searchTerms(filter_.query).words;
    this.filterTokens = filter_.equalities.map((bound) =>
      filterToken(index.filterFields.indexOf(bound.field), bound.value),
    );
  }

  /** A plain predicate `(doc) => boolean`, or Convex's builder, applied to each result in order. */
  filter(predicate: (arg: any) => unknown): this {
    this.predicates.push(toPredicate(predicate));
    return this;
  }

  /**
   * Results in order after `after` and up to `upTo`, at most `limit`. Results holding every word
   * rank above all others, so they are asked for first, of the full-text index's much smaller
   * "all of these words" set; the "any of these words" set (with every row of it scored) is read
   * only when those run out.
   */
  private async fetch(store: DocumentStore, limit: number, range: Range): Promise<Record<string, unknown>[]> {
    const words = this.words.length;
    // The end of the results: nothing after it.
    if (range.after && range.after.length === 0) return [];
    const inFirstTier = (key: CursorKey | null | undefined) => !key || Number(key[0]) >= words;
    const rows = inFirstTier(range.after) ? await this.fetchTier(store, limit, range, 'every') : [];
    // One word: "every" and "any" are the same set. A page ending among rows holding every word: no more.
    if (rows.length >= limit || words === 1 || (range.upTo && inFirstTier(range.upTo))) return rows;
    const after = inFirstTier(range.after) ? null : range.after;
    rows.push(...(await this.fetchTier(store, limit - rows.length, { after, upTo: range.upTo }, 'some')));
    return rows;
  }

  /**
   * One statement: the search table alone finds, scores, orders and limits the rows (filters are
   * tokens of its full-text index); the documents are read for the rows kept. `every`: rows
   * holding every word; `some`: rows holding some but not all of them.
   */
  private fetchTier(
    store: DocumentStore,
    limit: number,
    range: Range,
    tier: 'every' | 'some',
  ): Promise<Record<string, unknown>[]> {
    const dialect = store.dialect;
    const search = dialect.search;
    const name = sqlSearchTableName(this.table, this.index.name);
    const words = this.words.length;
    const params: unknown[] = [];
    // Occurrences of each word in the row's words: ` word ` exactly, or ` prefix` for the last.
    const counts = this.words.map((word, i) => {
      const needle = i === words - 1 ? ` ${word}` : ` ${word} `;
      params.push(needle, needle.length);
      return `CAST((length(s.terms) - length(replace(s.terms, ?, ''))) / ? AS DOUBLE PRECISION) AS tf${i}`;
    });
    // How many of the words the row holds, then (a fraction below 1) how strongly: the mean of
    // each word's saturating count. More of the words always ranks first.
    const matched = this.words.map((_, i) => `(CASE WHEN tf${i} > 0 THEN 1 ELSE 0 END)`).join(' + ');
    const strength = this.words.map((_, i) => `tf${i} / (tf${i} + norm)`).join(' + ');
    const score = `${matched} + (${strength}) / ${words}`;
    params.push(search.matchText(this.words, this.filterTokens, tier === 'every'));
    const where = tier === 'some' ? [`score < ${words}`] : [];
    for (const [key, clauseOf] of [
      [range.after, afterClause],
      [range.upTo, upToClause],
    ] as const) {
      if (!key) continue;
      const { clause, values } = clauseOf(dialect, ORDER, key, 'desc');
      where.push(clause);
      params.push(...values);
    }
    const matches = `SELECT s.id AS id, s.created AS creation_time, s.norm AS norm, ${counts.join(', ')} FROM ${search.from(name)} WHERE ${search.match(name)}`;
    const scored = `SELECT id, creation_time, ${score} AS score FROM (${matches}) counted`;
    const kept = `SELECT id, creation_time, score FROM (${scored}) scored${where.length > 0 ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY score DESC, creation_time DESC, id DESC LIMIT ${limit}`;
    const text = `SELECT d.id AS id, d.tbl AS tbl, d.creation_time AS creation_time, d.${dialect.documentColumn}, found.score AS score FROM (${kept}) found JOIN _valet_documents d ON d.id = found.id ORDER BY found.score DESC, found.creation_time DESC, found.id DESC`;
    return store.cachedRead(text, params, () => store.sql.all(text, params));
  }

  /** Reads results in order, keeping those that pass `.filter()`, until `limit` are kept. */
  private async scan(
    store: DocumentStore,
    limit: number,
    range: Range = {},
    maxRows = Number.POSITIVE_INFINITY,
  ): Promise<{ docs: StoredDocument[]; last: CursorKey | null; exhausted: boolean }> {
    // What a write must touch to matter: the table, narrowed by top-level filter fields (a dotted
    // path's value is not a field of the document as read sets compare them: left out, so a change
    // there re-runs the search rather than being missed).
    const bounds = this.filter_.equalities.filter((bound) => !bound.field.includes('.'));
    this.onRead?.({ kind: 'range', table: this.table, bounds });
    // No words (an empty search, or only punctuation): nothing matches, rather than everything.
    if (limit <= 0 || this.words.length === 0) return { docs: [], last: null, exhausted: this.words.length === 0 };
    const keyOf = (row: Record<string, unknown>): CursorKey => [Number(row.score), row.creation_time, row.id];
    const docs: StoredDocument[] = [];
    let last: CursorKey | null = null;
    let read = 0;
    let after = range.after ?? null;
    const batch = this.predicates.length === 0 ? Math.min(limit, maxRows, MAX_SEARCH_RESULTS + 1) : FILTER_BATCH;
    for (;;) {
      const rows = await this.fetch(store, batch, { after, upTo: range.upTo });
      for (const row of rows) {
        const doc = rowToDocument(row as never);
        read++;
        last = keyOf(row);
        if (this.predicates.every((p) => p(doc))) docs.push(doc);
        if (docs.length >= limit || read >= maxRows) return { docs, last, exhausted: false };
      }
      if (rows.length < batch) return { docs, last, exhausted: true };
      after = last;
    }
  }

  private bounded(n: number, what: string): number {
    if (!Number.isInteger(n) || n < 0)
      throw new EngineError('invalid_query', `${what}: expected a non-negative integer, got ${n}`);
    if (n > MAX_SEARCH_RESULTS)
      throw new EngineError(
        'invalid_query',
        `${what}: a search returns at most ${MAX_SEARCH_RESULTS} documents (asked for ${n}); paginate for more`,
      );
    return n;
  }

  take(n: number): Promise<StoredDocument[]> {
    const limit = this.bounded(n, 'take');
    return this.read(async (store) => (await this.scan(store, limit)).docs);
  }

  /** The first 1024 results at most: a search is for the best matches, not for every document. */
  collect(): Promise<StoredDocument[]> {
    return this.read(async (store) => (await this.scan(store, MAX_SEARCH_RESULTS)).docs);
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
          `unique: more than one document in ${this.table} matches the search (${docs[0]!._id}, ${docs[1]!._id}, ...)`,
        );
      return docs[0] ?? null;
    });
  }

  order(): never {
    throw new EngineError('invalid_query', 'a search is in relevance order: order() does not apply to withSearchIndex');
  }

  paginate(options: PaginateOptions): Promise<PaginationResult> {
    checkPaginateOptions(options);
    const numItems = this.bounded(options.numItems, 'paginate');
    const after = options.cursor === null || options.cursor === undefined ? null : searchCursor(options.cursor);
    const upTo = options.endCursor === null || options.endCursor === undefined ? null : searchCursor(options.endCursor);
    const maxRows = options.maximumRowsRead ?? Number.POSITIVE_INFINITY;
    return this.read(async (store) => {
      if (upTo) {
        // A pinned page: exactly the results between its cursors, however many there are now.
        const { docs } = await this.scan(store, MAX_SEARCH_RESULTS, { after, upTo });
        const isDone = (await this.scan(store, 1, { after: upTo })).docs.length === 0;
        return { page: docs, isDone, continueCursor: options.endCursor! };
      }
      const { docs, last, exhausted } = await this.scan(store, numItems, { after }, maxRows);
      const isDone = exhausted || (last !== null && (await this.scan(store, 1, { after: last })).docs.length === 0);
      return { page: docs, isDone, continueCursor: last ? encodeCursor(last) : (options.cursor ?? encodeCursor([])) };
    });
  }
}
