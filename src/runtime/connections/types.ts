// How invocations get their database: whatever the backend, a write runs in one transaction that
// no other writer can interleave with, a query reads one consistent snapshot, and committed
// document changes are published to listeners (live queries). The backends differ in how:
// SQLite has one writer connection behind a lock and a pool of readers (connections/sqlite.ts);
// PostgreSQL has a pool and serializable transactions, retried on conflict (connections/postgres.ts).
import type { SchemaDefinition } from '../../server/schema.js';
import type { DocumentChange, DocumentStore } from '../../storage/documents.js';
import type { StatementFaults } from '../../storage/fault-injection.js';

export interface WriteOptions {
  /**
   * PostgreSQL only: run at READ COMMITTED instead of SERIALIZABLE. For a single claiming
   * statement (`… FOR UPDATE SKIP LOCKED`), where serializable would only add conflicts.
   */
  readCommitted?: boolean;
  /**
   * PostgreSQL only: on a connection of the engine's own (heartbeats, reaping), never queued
   * behind callers' work for the pool: under load a starved heartbeat looks like a dead instance.
   */
  system?: boolean;
}

export interface Connections {
  readonly backend: 'sqlite' | 'postgres';
  /** The database, for messages: a file path, or a URL without its password. */
  readonly target: string;
  /** Faults injected at exact statements (tests); every executor of these connections obeys them. */
  readonly faults: StatementFaults;
  /** Statements outside any transaction: an action's one-shot reads, inspection, argument checks. */
  readonly autoCommit: DocumentStore;
  /** Hears about every committed batch of document writes; returns an unsubscribe. */
  onCommit(listener: (changes: DocumentChange[]) => void): () => void;
  /**
   * Runs `task` in one write transaction: committed if it resolves (its document changes then
   * published), rolled back if it throws. On PostgreSQL a serialization conflict runs `task`
   * again, so it must do nothing but database work (handlers of mutations are re-run like this).
   */
  inWriteTransaction<T>(task: (store: DocumentStore) => Promise<T>, options?: WriteOptions): Promise<T>;
  /**
   * Runs `task` inside one read-only snapshot of committed data. With `rerunnable` (a query: no
   * effects, the same answer for the same data), a backend may first try it as one statement
   * without a transaction, and run it again in a snapshot if it reads more than once; the name
   * lets it remember which tasks need the snapshot from the start.
   */
  inReadSnapshot<T>(task: (store: DocumentStore) => Promise<T>, rerunnable?: { name: string }): Promise<T>;
  /**
   * A value that changes whenever anything was committed to the database, by this process or
   * another (the dashboard's live updates poll it; cheap enough to ask many times a second).
   */
  changeMarker(): Promise<string>;
  /** A new schema (dev reload). */
  setSchema(schema: SchemaDefinition<any> | null): void;
  close(): Promise<void>;
}
