// ctx.db for each function kind, over the connections chosen in connections.ts. Every call
// first checks that its invocation is still running: a call from a forgotten promise after the
// handler returned would otherwise land in some other invocation's transaction.
import type { DocumentStore, StoredDocument } from '../storage/documents.js';
import { QueryBuilder } from '../storage/query.js';
import { isStorableText } from '../protocol/text.js';
import type { SchemaDefinition } from '../server/schema.js';
import { tableDefinition } from '../server/schema.js';
import type { ReadExecutor } from '../storage/query.js';
import type { Read } from '../storage/read-set.js';
import type { Fence } from './claims/fence.js';
import type { Connections } from './connections/types.js';
import { EngineError } from './errors.js';
import { systemReader } from './system-tables.js';
import { currentScope, runInScope } from './scope.js';

/** What an invocation's ctx needs to know about its own state. */
export interface InvocationState {
  path: string;
  active: boolean;
  /** Set while an action's ctx.db.transaction runs: the writer store inside that transaction. */
  transaction: DocumentStore | null;
  /** Rejects when the invocation times out, so a transaction it holds is rolled back and released. */
  aborted?: Promise<never>;
  /** The claim an action runs under: its write transactions commit only while it holds. */
  fence?: Fence;
  /** Set once one of an action's writes committed (a transient failure after that is not "nothing happened"). */
  committed?: boolean;
}

function ensureActive(state: InvocationState): void {
  if (!state.active) {
    throw new EngineError(
      'ctx_used_after_finish',
      `${state.path}: ctx.db was used after the function finished (a missing await?)`,
    );
  }
}

function attempt<T>(run: () => T | Promise<T>): Promise<T> {
  try {
    return Promise.resolve(run());
  } catch (error) {
    return Promise.reject(error);
  }
}

/** `(id, …rest)` or Convex's newer `(table, id, …rest)`: the table, when given, must match the id's. */
function splitTable(args: unknown[], arity: number): { table: string | undefined; id: string; rest: unknown[] } {
  if (args.length > arity) return { table: args[0] as string, id: args[1] as string, rest: args.slice(2) };
  return { table: undefined, id: args[0] as string, rest: args.slice(1) };
}

/**
 * Convex's ctx.db.normalizeId, synchronous as there: the id when it can be one of `table`'s, else
 * null. Valet ids do not carry their table, so this checks the table and the id's form without a
 * lookup; ctx.db.get(table, id) then answers whether it is really that table's.
 */
/** Longer than any id Valet makes (26 characters) or an insertOrIgnore key should be. */
const MAX_ID_LENGTH = 512;

function normalizeId(schema: SchemaDefinition<any> | null, table: string, id: unknown): string | null {
  if (typeof table !== 'string' || (schema && !tableDefinition(schema, table))) return null;
  return typeof id === 'string' && id.length > 0 && id.length <= MAX_ID_LENGTH && isStorableText(id) ? id : null;
}

function readerApi(state: InvocationState, read: ReadExecutor, store: () => DocumentStore | null, reads?: Read[]) {
  const schema = () => (store() ?? null)?.currentSchema ?? null;
  const record = reads ? (r: Read) => reads.push(r) : undefined;
  let system: ReturnType<typeof systemReader> | undefined;
  return {
    get: (...args: unknown[]) => {
      const { table, id } = splitTable(args, 1);
      record?.({ kind: 'id', id });
      return read((s) => s.get(id, table));
    },
    query: (table: string) => {
      ensureActive(state);
      return new QueryBuilder(read, schema(), table, record);
    },
    normalizeId: (table: string, id: unknown) => normalizeId(schema(), table, id),
    // Made on first use: few handlers read system tables, and this runs on every call.
    get system() {
      system ??= systemReader(read, record);
      return system;
    },
  };
}

/** Notes on the state that a write transaction of the invocation committed. */
function committedBy<T>(state: InvocationState, transaction: Promise<T>): Promise<T> {
  return transaction.then((result) => {
    state.committed = true;
    return result;
  });
}

export type WriteExecutor = <T>(op: (store: DocumentStore) => Promise<T>) => Promise<T>;

function writerApi(_state: InvocationState, write: WriteExecutor) {
  return {
    insert: (table: string, doc: Record<string, unknown>) => write((s) => s.insert(table, doc)),
    insertOrIgnore: (table: string, doc: Record<string, unknown>) =>
      write(async (s) => (await s.insertOrIgnore(table, doc)).id),
    patch: (...args: unknown[]) => {
      const { table, id, rest } = splitTable(args, 2);
      return write((s) => s.patch(id, rest[0] as Record<string, unknown>, table));
    },
    replace: (...args: unknown[]) => {
      const { table, id, rest } = splitTable(args, 2);
      return write((s) => s.replace(id, rest[0] as Record<string, unknown>, table));
    },
    delete: (...args: unknown[]) => {
      const { table, id } = splitTable(args, 1);
      return write((s) => s.delete(id, table));
    },
  };
}

/** A query's ctx.db: reads only, all from one snapshot; `reads` collects what it read (reactive queries). */
export function queryDatabase(state: InvocationState, snapshot: DocumentStore, reads?: Read[]) {
  return readerApi(state, queryReader(state, snapshot), () => snapshot, reads);
}

/** A query's reads: all from its one snapshot. */
export function queryReader(state: InvocationState, snapshot: DocumentStore): ReadExecutor {
  return (op) => attempt(() => (ensureActive(state), op(snapshot)));
}

/** A mutation's ctx.db: reads and writes inside the mutation's one transaction. */
export function mutationWriter(state: InvocationState, store: DocumentStore): WriteExecutor {
  return (op) => attempt(() => (ensureActive(state), op(store)));
}

export function mutationDatabase(state: InvocationState, store: DocumentStore) {
  const run = mutationWriter(state, store);
  return { ...readerApi(state, run, () => store), ...writerApi(state, run) };
}

/**
 * An action's ctx.db: each call auto-commits, unless it runs inside ctx.db.transaction, where it
 * joins the transaction (so `ctx.db.patch` inside the callback is as atomic as `tx.patch`).
 */
export function actionWriter(state: InvocationState, connections: Connections): WriteExecutor {
  return <T>(op: (s: DocumentStore) => Promise<T>): Promise<T> => {
    try {
      ensureActive(state);
    } catch (error) {
      return Promise.reject(error);
    }
    const tx = currentScope()?.inTransaction ? state.transaction : null;
    if (tx) return attempt(() => op(tx));
    return committedBy(
      state,
      connections.inWriteTransaction(async (store) => {
        const result = await op(store);
        await state.fence?.check(store);
        return result;
      }),
    );
  };
}

/** An action's reads: the latest committed data, or its transaction's own inside ctx.db.transaction. */
export function actionReader(state: InvocationState, connections: Connections): ReadExecutor {
  const inTransaction = () => (currentScope()?.inTransaction ? state.transaction : null);
  return (op) =>
    attempt(() => {
      ensureActive(state);
      return op(inTransaction() ?? connections.autoCommit);
    });
}

export function actionDatabase(state: InvocationState, connections: Connections) {
  const inTransaction = () => (currentScope()?.inTransaction ? state.transaction : null);
  const read = actionReader(state, connections);
  const write = actionWriter(state, connections);

  const transaction = async <R>(fn: (tx: unknown) => Promise<R>): Promise<R> => {
    ensureActive(state);
    const scope = currentScope();
    if (scope?.inTransaction || state.transaction) {
      throw new EngineError(
        'nested_transaction',
        `${state.path}: ctx.db.transaction cannot be nested; put all the writes in the outer transaction`,
      );
    }
    if (typeof fn !== 'function')
      throw new EngineError('invalid_transaction', 'ctx.db.transaction: pass an async function (tx) => { ... }');
    return committedBy(
      state,
      connections.inWriteTransaction(async (store) => {
        state.transaction = store;
        try {
          const tx = mutationDatabase(state, store);
          const inner = scope ? { ...scope, inTransaction: true } : undefined;
          const work = inner ? runInScope(inner, () => fn(tx)) : fn(tx);
          const result = await (state.aborted ? Promise.race([work, state.aborted]) : work);
          await state.fence?.check(store);
          return result;
        } finally {
          state.transaction = null;
        }
      }),
    );
  };

  return {
    ...readerApi(state, read, () => inTransaction() ?? connections.autoCommit),
    ...writerApi(state, write),
    transaction,
  };
}

export type { StoredDocument };
