// `_scheduled_functions`, as Convex's ctx.db.system shows it: the scheduler's own rows
// (_valet_scheduled) read as documents, so an app can show a job's state (and watch it live: every
// write to a scheduled row notes a change that live queries over this table hear).
import { decodeValue } from '../../protocol/values.js';
import type { DocumentStore, StoredDocument } from '../../storage/documents.js';
import { toPredicate } from '../../storage/filter-expression.js';
import type { ReadExecutor } from '../../storage/query.js';
import type { Read } from '../../storage/read-set.js';
import { EngineError } from '../errors.js';

export const SCHEDULED_FUNCTIONS = '_scheduled_functions';
const SYSTEM_TABLES = [SCHEDULED_FUNCTIONS];

interface Row {
  id: string;
  function: string;
  args: string;
  run_at: number;
  status: string;
  created_at: number;
  finished_at: number | null;
  error: string | null;
}

const COLUMNS = 'id, function, args, run_at, status, created_at, finished_at, error';

/** Live queries over `_scheduled_functions` hear about a write to this row when it commits. */
export function noteScheduledChange(store: DocumentStore, id: string): void {
  store.changeLog?.push({ table: SCHEDULED_FUNCTIONS, id, before: null, after: { _id: id, _creationTime: 0 } });
}

function stateOf(row: Row): Record<string, unknown> {
  switch (row.status) {
    case 'running':
      return { kind: 'inProgress' };
    case 'done':
      return { kind: 'success' };
    case 'canceled':
      return { kind: 'canceled' };
    case 'failed': {
      const body = JSON.parse(row.error ?? '{}') as { message?: string; code?: string };
      return { kind: 'failed', error: body.message ?? body.code ?? 'failed' };
    }
    default:
      return { kind: 'pending' };
  }
}

function toDocument(row: Row): StoredDocument {
  const doc: StoredDocument = {
    _id: row.id,
    _creationTime: Number(row.created_at),
    name: row.function,
    // Convex keeps the args as a one-element array.
    args: [decodeValue(JSON.parse(row.args))],
    scheduledTime: Number(row.run_at),
    state: stateOf(row),
  };
  if (row.finished_at !== null) doc.completedTime = Number(row.finished_at);
  return doc;
}

function checkTable(table: unknown, operation: string): void {
  if (!SYSTEM_TABLES.includes(table as string))
    throw new EngineError(
      'invalid_query',
      `ctx.db.system.${operation}: no system table ${JSON.stringify(table)} (system tables: ${SYSTEM_TABLES.join(', ')})`,
    );
}

/** `ctx.db.system.query('_scheduled_functions')`: by creation time, filtered in order. */
export class SystemQuery {
  private descending = false;
  private readonly predicates: ((doc: Record<string, unknown>) => boolean)[] = [];

  constructor(private readonly read: ReadExecutor) {}

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
      const direction = this.descending ? 'DESC' : 'ASC';
      // Without a filter the database applies the limit; with one, rows are kept as they pass.
      const bounded = this.predicates.length === 0 && Number.isFinite(limit);
      const rows = await store.sql.all<Row>(
        `SELECT ${COLUMNS} FROM _valet_scheduled ORDER BY created_at ${direction}, id ${direction}${bounded ? ' LIMIT ?' : ''}`,
        bounded ? [limit] : [],
      );
      const kept: StoredDocument[] = [];
      for (const row of rows) {
        const doc = toDocument(row);
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
        `unique: more than one document in ${SCHEDULED_FUNCTIONS} matches (${docs[0]!._id}, ${docs[1]!._id}, ...)`,
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
    get: (...args: unknown[]) => {
      const [table, id] = args.length > 1 ? args : [SCHEDULED_FUNCTIONS, args[0]];
      try {
        checkTable(table, 'get');
      } catch (error) {
        return Promise.reject(error);
      }
      if (typeof id !== 'string') return Promise.resolve(null);
      record?.({ kind: 'id', id });
      return read(async (store) => {
        const row = await store.sql.get<Row>(`SELECT ${COLUMNS} FROM _valet_scheduled WHERE id = ?`, [id]);
        return row ? toDocument(row) : null;
      });
    },
    query: (table: string) => {
      checkTable(table, 'query');
      record?.({ kind: 'range', table: SCHEDULED_FUNCTIONS, bounds: [] });
      return new SystemQuery(read);
    },
  };
}
