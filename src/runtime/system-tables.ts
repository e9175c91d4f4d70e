// ctx.db.system: the system tables as Convex shows them (`_scheduled_functions`, `_storage`),
// each read from the engine's own rows by its source, recorded like any read for live queries
// (every write to such a row notes a change of its table when it commits).
import type { StoredDocument } from '../storage/documents.js';
import { toPredicate } from '../storage/filter-expression.js';
import type { ReadExecutor } from '../storage/query.js';
import type { Read } from '../storage/read-set.js';
import type { SqlExecutor } from '../storage/sql.js';
import { EngineError } from './errors.js';
import { storedFiles } from './files/system-table.js';
import { scheduledFunctions } from './scheduler/system-table.js';

export interface SystemSource {
  table: string;
  get(sql: SqlExecutor, id: string): Promise<StoredDocument | null>;
  /** By creation time (then id), at most `limit` (Infinity: all). */
  list(sql: SqlExecutor, descending: boolean, limit: number): Promise<StoredDocument[]>;
}

const SOURCES: SystemSource[] = [scheduledFunctions, storedFiles];
const NAMES = SOURCES.map((source) => source.table);

function sourceOf(table: unknown, operation: string): SystemSource {
  const source = SOURCES.find((candidate) => candidate.table === table);
  if (!source)
    throw new EngineError(
      'invalid_query',
      `ctx.db.system.${operation}: no system table ${JSON.stringify(table)} (system tables: ${NAMES.join(', ')})`,
    );
  return source;
}

/** `ctx.db.system.query(table)`: by creation time, filtered in order. */
export class SystemQuery {
  private descending = false;
  private readonly predicates: ((doc: Record<string, unknown>) => boolean)[] = [];

  constructor(
    private readonly read: ReadExecutor,
    private readonly source: SystemSource,
  ) {}

  order(direction: 'asc' | 'desc'): this {
    if (direction !== 'asc' && direction !== 'desc')
      throw new EngineError('invalid_query', `order: expected 'asc' or 'desc', got ${JSON.stringify(direction)}`);
    this.descending = direction === 'desc';
    return this;
  }

  filter(predicate: (arg: any) => unknown): this {
    this.predicates.push(toPredicate(predicate));
    return this;
  }

  private scan(limit: number): Promise<StoredDocument[]> {
    return this.read(async (store) => {
      // Without a filter the database applies the limit; with one, rows are kept as they pass.
      const docs = await this.source.list(
        store.sql,
        this.descending,
        this.predicates.length === 0 ? limit : Number.POSITIVE_INFINITY,
      );
      const kept: StoredDocument[] = [];
      for (const doc of docs) {
        if (this.predicates.every((passes) => passes(doc))) kept.push(doc);
        if (kept.length >= limit) break;
      }
      return kept;
    });
  }

  take(n: number): Promise<StoredDocument[]> {
    if (!Number.isInteger(n) || n < 0)
      return Promise.reject(new EngineError('invalid_query', `take: expected a non-negative integer, got ${n}`));
    return this.scan(n);
  }

  collect(): Promise<StoredDocument[]> {
    return this.scan(Number.POSITIVE_INFINITY);
  }

  async first(): Promise<StoredDocument | null> {
    return (await this.scan(1))[0] ?? null;
  }

  async unique(): Promise<StoredDocument | null> {
    const docs = await this.scan(2);
    if (docs.length > 1)
      throw new EngineError(
        'invalid_query',
        `unique: more than one document in ${this.source.table} matches (${docs[0]!._id}, ${docs[1]!._id}, ...)`,
      );
    return docs[0] ?? null;
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<StoredDocument> {
    yield* await this.collect();
  }
}

/** ctx.db.system: reads of the system tables, recorded like any read for live queries. */
export function systemReader(read: ReadExecutor, record?: (read: Read) => void) {
  return {
    /** `get(id)` looks in each system table (their ids never collide); `get(table, id)` in one. */
    get: (...args: unknown[]) => {
      let sources: SystemSource[];
      let id: unknown;
      try {
        sources = args.length > 1 ? [sourceOf(args[0], 'get')] : SOURCES;
        id = args.length > 1 ? args[1] : args[0];
      } catch (error) {
        return Promise.reject(error);
      }
      if (typeof id !== 'string') return Promise.resolve(null);
      record?.({ kind: 'id', id });
      return read(async (store) => {
        for (const source of sources) {
          const doc = await source.get(store.sql, id as string);
          if (doc) return doc;
        }
        return null;
      });
    },
    query: (table: string) => {
      const source = sourceOf(table, 'query');
      record?.({ kind: 'range', table: source.table, bounds: [] });
      return new SystemQuery(read, source);
    },
  };
}
