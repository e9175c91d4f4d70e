// Where a database-backed call log keeps its records. On PostgreSQL (and an in-memory SQLite
// database) that is the app's own database through its connections; a SQLite file keeps them in a
// file of its own, written by a thread of its own (sqlite-file-sink.ts), so a flush never holds the
// app's write lock or the event loop.
import type { Connections } from '../connections/types.js';
import type { CallFilter } from './filter.js';
import type { CallRecord } from './record.js';
import { getStoredCall, insertCalls, listStoredCalls, pruneCalls } from './store.js';

export interface CallSink {
  /** Stores a batch (all or nothing); a record stored twice stays one row. */
  write(records: readonly CallRecord[]): Promise<void>;
  prune(olderThan: number): Promise<void>;
  list(filter: CallFilter): Promise<CallRecord[]>;
  get(id: string): Promise<CallRecord | null>;
  close(): Promise<void>;
}

/** The app's database, through the connections its functions use. */
export class ConnectionsSink implements CallSink {
  constructor(private readonly connections: Connections) {}

  write(records: readonly CallRecord[]): Promise<void> {
    return this.connections.inWriteTransaction((store) => insertCalls(store.sql, records));
  }

  async prune(olderThan: number): Promise<void> {
    await this.connections.inWriteTransaction((store) => pruneCalls(store.sql, olderThan));
  }

  list(filter: CallFilter): Promise<CallRecord[]> {
    return listStoredCalls(this.connections.autoCommit.sql, filter);
  }

  get(id: string): Promise<CallRecord | null> {
    return getStoredCall(this.connections.autoCommit.sql, id);
  }

  async close(): Promise<void> {}
}
