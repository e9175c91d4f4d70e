// Isolation between async handlers on a synchronous database:
// - one writer connection behind a FIFO lock: a write transaction holds the lock from BEGIN
//   IMMEDIATE to COMMIT, so no other invocation's statement can land inside it;
// - a pool of reader connections: a query holds one, inside its own read transaction, for its
//   whole run, so it sees one consistent snapshot of committed data whatever interleaves;
// - one auto-commit reader for an action's one-shot reads (committed data, never a transaction).
import type { SchemaDefinition } from '../../server/schema.js';
import { CreationClock, DocumentStore } from '../../storage/documents.js';
import type { DocumentChange } from '../../storage/documents.js';
import { StatementFaults } from '../../storage/fault-injection.js';
import { SqliteExecutor } from '../../storage/sqlite/executor.js';
import { openDatabase } from '../../storage/sqlite/open.js';
import { Mutex } from '../mutex.js';
import { OneStatementQueries } from './one-statement.js';
import type { Connections } from './types.js';

export class SqliteConnections implements Connections {
  readonly backend = 'sqlite';
  readonly faults = new StatementFaults();
  readonly writer: DocumentStore;
  readonly autoCommit: DocumentStore;
  private readonly writerSql: SqliteExecutor;
  private readonly writerLock = new Mutex();
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

  inWriteTransaction<T>(task: (store: DocumentStore) => Promise<T>): Promise<T> {
    return this.writerLock.run(async () => {
      const tracking = this.commitListeners.size > 0;
      if (tracking) this.writer.changeLog = [];
      try {
        this.writerSql.prepare('BEGIN IMMEDIATE').run();
        let result: T;
        try {
          result = await task(this.writer);
          this.faults.check('COMMIT');
          this.writerSql.prepare('COMMIT').run();
        } catch (error) {
          if (this.writerSql.inTransaction) this.writerSql.prepare('ROLLBACK').run();
          throw error;
        }
        const changes = this.writer.changeLog;
        if (changes && changes.length > 0) for (const listener of this.commitListeners) listener(changes);
        return result;
      } finally {
        if (tracking) this.writer.changeLog = null;
      }
    });
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
