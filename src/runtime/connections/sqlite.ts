// Isolation between async handlers on a synchronous database:
// - one writer connection, whose write transactions run one at a time in FIFO order (grouped
//   under one COMMIT, each in its own savepoint), so no other invocation's statement can land
//   inside one;
// - a pool of reader connections: a query holds one, inside its own read transaction, for its
//   whole run, so it sees one consistent snapshot of committed data whatever interleaves;
// - one auto-commit reader for an action's one-shot reads (committed data, never a transaction).
import type { SchemaDefinition } from '../../server/schema.js';
import { CreationClock, DocumentStore } from '../../storage/documents.js';
import type { DocumentChange } from '../../storage/documents.js';
import { StatementFaults } from '../../storage/fault-injection.js';
import { SqliteExecutor } from '../../storage/sqlite/executor.js';
import { openDatabase } from '../../storage/sqlite/open.js';
import { OneStatementQueries } from './one-statement.js';
import type { Connections } from './types.js';

/** A write transaction waiting for the writer. */
interface PendingWrite {
  task: (store: DocumentStore) => Promise<unknown>;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/** At most this many write transactions share a commit (the first waits for the others). */
const MAX_GROUP = 64;

export class SqliteConnections implements Connections {
  readonly backend = 'sqlite';
  readonly faults = new StatementFaults();
  readonly writer: DocumentStore;
  readonly autoCommit: DocumentStore;
  private readonly writerSql: SqliteExecutor;
  private readonly idleReaders: DocumentStore[] = [];
  private readonly allReaders: DocumentStore[] = [];
  private readonly waiting: ((store: DocumentStore) => void)[] = [];
  private readonly creationClock: CreationClock;
  private readonly commitListeners = new Set<(changes: DocumentChange[]) => void>();
  private readonly oneStatement = new OneStatementQueries(
    (sql) => new DocumentStore(sql, this.schema, this.creationClock),
  );

  constructor(
    readonly target: string,
    private schema: SchemaDefinition<any> | null,
    now: () => number,
    private readonly readerPoolSize = 4,
  ) {
    this.creationClock = new CreationClock(now);
    this.writerSql = new SqliteExecutor(openDatabase(target), this.faults);
    this.writer = new DocumentStore(this.writerSql, schema, this.creationClock);
    this.autoCommit = this.newReader();
  }

  private newReader(): DocumentStore {
    return new DocumentStore(
      new SqliteExecutor(openDatabase(this.target), this.faults),
      this.schema,
      this.creationClock,
    );
  }

  onCommit(listener: (changes: DocumentChange[]) => void): () => void {
    this.commitListeners.add(listener);
    return () => this.commitListeners.delete(listener);
  }

  /**
   * Write transactions commit in groups: the ones waiting when the writer is free run one after
   * another inside one BEGIN IMMEDIATE … COMMIT, each in a savepoint of its own (a task that
   * throws rolls back to it, alone), and are answered once the group's COMMIT is done. A commit
   * (the WAL append, its locks, now and then a checkpoint) costs far more than a small write, and
   * under load it is shared. The order is FIFO, so the result is the same as one by one; nothing
   * is answered before it is committed, and when the COMMIT fails every task of the group is told.
   */
  inWriteTransaction<T>(task: (store: DocumentStore) => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.writes.push({ task, resolve, reject } as PendingWrite);
      if (this.writing) return;
      this.writing = true;
      // After the I/O callbacks of this turn: the writes they bring join one group.
      setImmediate(() => void this.commitGroups());
    });
  }

  private readonly writes: PendingWrite[] = [];
  private writing = false;

  private async commitGroups(): Promise<void> {
    try {
      while (this.writes.length > 0) await this.commitGroup();
    } finally {
      this.writing = false;
    }
  }

  private async commitGroup(): Promise<void> {
    const changes: DocumentChange[] | null = this.commitListeners.size > 0 ? [] : null;
    this.writer.changeLog = changes;
    const done: { write: PendingWrite; value: unknown }[] = [];
    const failAll = (error: unknown, also: PendingWrite[] = []) => {
      for (const { write } of done) write.reject(error);
      for (const write of also) write.reject(error);
      done.length = 0;
    };
    try {
      try {
        this.writerSql.prepare('BEGIN IMMEDIATE').run();
      } catch (error) {
        failAll(error, this.writes.splice(0, MAX_GROUP));
        return;
      }
      for (let taken = 0; taken < MAX_GROUP && this.writes.length > 0; taken++) {
        const write = this.writes.shift()!;
        const mark = changes?.length ?? 0;
        let value: unknown;
        let failure: { error: unknown } | null = null;
        try {
          this.writerSql.prepare('SAVEPOINT valet_write').run();
          try {
            value = await write.task(this.writer);
          } catch (error) {
            failure = { error };
          }
          if (!failure) this.writerSql.prepare('RELEASE valet_write').run();
          else if (this.writerSql.inTransaction) {
            this.writerSql.prepare('ROLLBACK TO valet_write').run();
            this.writerSql.prepare('RELEASE valet_write').run();
          }
        } catch (error) {
          // The savepoint statements themselves failed: the group cannot be trusted.
          if (this.writerSql.inTransaction) this.writerSql.prepare('ROLLBACK').run();
          failAll(error, [write]);
          return;
        }
        if (!failure) {
          done.push({ write, value });
          continue;
        }
        if (!this.writerSql.inTransaction) {
          // SQLite rolled the whole transaction back (a full disk, an I/O error): nothing of the
          // group was applied, and every task of it hears why.
          failAll(failure.error, [write]);
          return;
        }
        if (changes) changes.length = mark;
        write.reject(failure.error);
      }
      try {
        this.faults.check('COMMIT');
        this.writerSql.prepare('COMMIT').run();
      } catch (error) {
        if (this.writerSql.inTransaction) this.writerSql.prepare('ROLLBACK').run();
        failAll(error);
        return;
      }
    } finally {
      this.writer.changeLog = null;
    }
    if (changes && changes.length > 0) for (const listener of this.commitListeners) listener(changes);
    for (const { write, value } of done) write.resolve(value);
  }

  /** A query that reads once runs as one statement on the auto-commit reader (see one-statement.ts). */
  inReadSnapshot<T>(task: (store: DocumentStore) => Promise<T>, rerunnable?: { name: string }): Promise<T> {
    return this.oneStatement.run(
      task,
      rerunnable,
      () => this.autoCommit.sql,
      (again) => this.inSnapshot(again),
    );
  }

  private async inSnapshot<T>(task: (store: DocumentStore) => Promise<T>): Promise<T> {
    const store = this.idleReaders.pop() ?? (await this.acquireReader());
    const sql = store.sql as SqliteExecutor;
    sql.prepare('BEGIN').run();
    try {
      return await task(store);
    } finally {
      if (sql.inTransaction) sql.prepare('COMMIT').run();
      this.releaseReader(store);
    }
  }

  private acquireReader(): Promise<DocumentStore> {
    const idle = this.idleReaders.pop();
    if (idle) return Promise.resolve(idle);
    if (this.allReaders.length < this.readerPoolSize) {
      const store = this.newReader();
      this.allReaders.push(store);
      return Promise.resolve(store);
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  private releaseReader(store: DocumentStore): void {
    const next = this.waiting.shift();
    if (next) next(store);
    else this.idleReaders.push(store);
  }

  setSchema(schema: SchemaDefinition<any> | null): void {
    this.schema = schema;
    for (const store of [this.writer, this.autoCommit, ...this.allReaders]) store.setSchema(schema);
  }

  private probe: SqliteExecutor | null = null;

  // data_version changes when another connection commits, so the probe is a connection of its
  // own (every write here, on any of ours or another process's, is "another connection" to it).
  async changeMarker(): Promise<string> {
    this.probe ??= new SqliteExecutor(openDatabase(this.target));
    return String(this.probe.db.pragma('data_version', { simple: true }));
  }

  async close(): Promise<void> {
    for (const store of [this.autoCommit, ...this.allReaders, this.writer]) (store.sql as SqliteExecutor).close();
    this.probe?.close();
  }
}
