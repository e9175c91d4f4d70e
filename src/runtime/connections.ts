// Isolation between async handlers on a synchronous database:
// - one writer connection behind a FIFO lock: a mutation or an action transaction holds the lock
//   from BEGIN IMMEDIATE to COMMIT, so no other invocation's statement can land inside it;
// - a pool of reader connections: a query holds one, inside its own read transaction, for its
//   whole run, so it sees one consistent snapshot of committed data whatever interleaves;
// - one auto-commit reader for an action's one-shot reads (committed data, never a transaction).
import type Database from 'better-sqlite3';
import type { SchemaDefinition } from '../server/schema.js';
import { CreationClock, DocumentStore } from '../storage/documents.js';
import type { DocumentChange } from '../storage/documents.js';
import { openDatabase } from '../storage/open.js';
import { Mutex } from './mutex.js';

export class Connections {
  readonly writer: DocumentStore;
  readonly autoCommitReader: DocumentStore;
  private readonly writerLock = new Mutex();
  private readonly idleReaders: DocumentStore[] = [];
  private readonly allReaders: DocumentStore[] = [];
  private readonly waiting: ((store: DocumentStore) => void)[] = [];
  private readonly creationClock: CreationClock;

  constructor(
    readonly file: string,
    private schema: SchemaDefinition<any> | null,
    now: () => number,
    private readonly readerPoolSize = 4,
  ) {
    this.creationClock = new CreationClock(now);
    this.writer = new DocumentStore(openDatabase(file), schema, this.creationClock);
    this.autoCommitReader = this.newReader();
  }

  private newReader(): DocumentStore {
    return new DocumentStore(openDatabase(this.file), this.schema, this.creationClock);
  }

  get writerDb(): Database.Database {
    return this.writer.db;
  }

  private readonly commitListeners = new Set<(changes: DocumentChange[]) => void>();

  /** Hears about every committed batch of document writes (reactive queries); returns an unsubscribe. */
  onCommit(listener: (changes: DocumentChange[]) => void): () => void {
    this.commitListeners.add(listener);
    return () => this.commitListeners.delete(listener);
  }

  /**
   * Runs `task` holding the writer; `task` may await, and nothing else touches the writer meanwhile.
   * Document writes made by a task that succeeds (committed: a whole transaction, or auto-commit
   * statements) are published to commit listeners; a failed task's are dropped with its rollback.
   */
  withWriter<T>(task: (store: DocumentStore) => T | Promise<T>): Promise<T> {
    return this.writerLock.run(async () => {
      const tracking = this.commitListeners.size > 0;
      if (tracking) this.writer.changeLog = [];
      try {
        const result = await task(this.writer);
        const changes = this.writer.changeLog;
        if (changes && changes.length > 0) for (const listener of this.commitListeners) listener(changes);
        return result;
      } finally {
        if (tracking) this.writer.changeLog = null;
      }
    });
  }

  /** Runs `task` in one write transaction: committed if it resolves, rolled back if it throws. */
  inWriteTransaction<T>(task: (store: DocumentStore) => Promise<T>): Promise<T> {
    return this.withWriter(async (store) => {
      store.prepare('BEGIN IMMEDIATE').run();
      try {
        const result = await task(store);
        store.prepare('COMMIT').run();
        return result;
      } catch (error) {
        if (store.db.inTransaction) store.prepare('ROLLBACK').run();
        throw error;
      }
    });
  }

  /** Runs `task` on a pooled reader inside one read transaction (a consistent snapshot). */
  async inReadSnapshot<T>(task: (store: DocumentStore) => Promise<T>): Promise<T> {
    const store = this.idleReaders.pop() ?? (await this.acquireReader());
    store.prepare('BEGIN').run();
    try {
      return await task(store);
    } finally {
      if (store.db.inTransaction) store.prepare('COMMIT').run();
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

  /** A new schema (dev reload): statements are re-prepared against it. */
  setSchema(schema: SchemaDefinition<any> | null): void {
    this.schema = schema;
    for (const store of [this.writer, this.autoCommitReader, ...this.allReaders]) store.setSchema(schema);
  }

  close(): void {
    for (const store of [this.autoCommitReader, ...this.allReaders, this.writer]) store.db.close();
  }
}
