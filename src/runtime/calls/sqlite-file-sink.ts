// The call log of a SQLite app in a file of its own beside the app's (`data.sqlite` →
// `data.calls.sqlite`), written by a thread of its own. The app's writer lock and the event loop
// never wait for it: the request path only queues a record, and a flush posts the batch to the
// thread, which commits it and answers. Reads (the dashboard, `valet calls`) use a connection of
// the main thread; WAL lets them read while the thread writes. The log is not the app's data: a
// damaged file is moved aside and a new one started, with a line saying so.
import Database from 'better-sqlite3';
import { existsSync, mkdirSync, renameSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, extname, join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { SqliteExecutor } from '../../storage/sqlite/executor.js';
import { describeStorageFailure } from '../../storage/sqlite/open.js';
import type { CallFilter } from './filter.js';
import type { CallRecord } from './record.js';
import type { CallSink } from './sink.js';
import {
  CALL_COLUMNS,
  CALLS_FILE_SCHEMA,
  INSERT_CALL_CHUNK,
  INSERT_ONE_CALL,
  PRUNE_CALLS,
  ROWS_PER_STATEMENT,
  callRowOf,
  getStoredCall,
  listStoredCalls,
} from './store.js';
import { callWriterThread } from './writer-thread.js';
import type { WriterReply, WriterRequest, WriterThreadData } from './writer-thread.js';

/** `dir/data.sqlite` → `dir/data.calls.sqlite`: where a SQLite app's call log is kept. */
export function callsFileOf(database: string): string {
  const extension = extname(database);
  return join(dirname(database), `${basename(database, extension)}.calls${extension || '.sqlite'}`);
}

/** Whether `database` names a file (not `:memory:` or a URI), so its log can have a file of its own. */
export function hasOwnCallsFile(database: string): boolean {
  return database !== ':memory:' && database !== '' && !database.startsWith('file:');
}

const THREAD_SOURCE = `(${callWriterThread.toString()})(require, require('node:worker_threads').workerData)`;

interface Waiting {
  resolve: () => void;
  reject: (error: Error) => void;
}

export class SqliteFileSink implements CallSink {
  private readonly reader: SqliteExecutor;
  private worker: Worker | null = null;
  private readonly waiting = new Map<number, Waiting>();
  private nextRequest = 1;
  private closed = false;

  constructor(
    readonly file: string,
    private readonly options: { log: (line: string) => void; now: () => number; busyTimeoutMs?: number },
  ) {
    this.reader = new SqliteExecutor(this.openReader());
  }

  private openReader(): Database.Database {
    mkdirSync(dirname(this.file), { recursive: true });
    try {
      return openCallsFile(this.file);
    } catch (error) {
      const failure = describeStorageFailure(error, this.file);
      if (failure?.code !== 'database_corrupt') throw failure ?? error;
      const aside = `${this.file}.damaged-${this.options.now()}`;
      renameSync(this.file, aside);
      for (const sidecar of ['-wal', '-shm'])
        if (existsSync(this.file + sidecar)) renameSync(this.file + sidecar, aside + sidecar);
      this.options.log(`the call log ${this.file} was damaged: moved to ${aside}, and a new one started`);
      return openCallsFile(this.file);
    }
  }

  write(records: readonly CallRecord[]): Promise<void> {
    const values: unknown[] = [];
    for (const record of records) for (const value of callRowOf(record)) values.push(value);
    return this.send({ type: 'write', values });
  }

  prune(olderThan: number): Promise<void> {
    return this.send({ type: 'prune', olderThan });
  }

  async list(filter: CallFilter): Promise<CallRecord[]> {
    return listStoredCalls(this.reader, filter);
  }

  async get(id: string): Promise<CallRecord | null> {
    return getStoredCall(this.reader, id);
  }

  /** Stops the thread (after the log's last flush was answered) and closes the reader. */
  async close(): Promise<void> {
    this.closed = true;
    const worker = this.worker;
    this.worker = null;
    this.failWaiting(new Error('the call log is closed'));
    await worker?.terminate();
    this.reader.db.close();
  }

  /** The writer thread, for a test that stops it mid-flush. */
  get writerThread(): Worker | null {
    return this.worker;
  }

  private send(request: { type: 'write'; values: unknown[] } | { type: 'prune'; olderThan: number }): Promise<void> {
    if (this.closed) return Promise.reject(new Error('the call log is closed'));
    const worker = this.worker ?? this.startWorker();
    const id = this.nextRequest++;
    return new Promise<void>((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      // Only an unanswered request keeps the process alive.
      if (this.waiting.size === 1) worker.ref();
      worker.postMessage({ ...request, id } as WriterRequest);
    });
  }

  private startWorker(): Worker {
    const data: WriterThreadData = {
      driver: createRequire(import.meta.url).resolve('better-sqlite3'),
      file: this.file,
      busyTimeoutMs: this.options.busyTimeoutMs ?? 5000,
      insert: INSERT_ONE_CALL,
      insertChunk: INSERT_CALL_CHUNK,
      chunkRows: ROWS_PER_STATEMENT,
      columns: CALL_COLUMNS,
      prune: PRUNE_CALLS,
    };
    const worker = new Worker(THREAD_SOURCE, { eval: true, workerData: data });
    worker.unref();
    worker.on('message', (reply: WriterReply) => {
      const waiting = this.waiting.get(reply.id);
      if (!waiting) return;
      this.waiting.delete(reply.id);
      if (this.waiting.size === 0) worker.unref();
      if (reply.error === undefined) waiting.resolve();
      else waiting.reject(new Error(reply.error));
    });
    // A thread that failed or stopped fails what it had not answered (the log keeps those records
    // pending and sends them again); the next request starts a new thread.
    const lost = (error: Error) => {
      if (this.worker !== worker) return;
      this.worker = null;
      this.failWaiting(error);
    };
    worker.on('error', lost);
    worker.on('exit', (code) => lost(new Error(`the call log's writer thread stopped (exit code ${code})`)));
    this.worker = worker;
    return worker;
  }

  private failWaiting(error: Error): void {
    const waiting = [...this.waiting.values()];
    this.waiting.clear();
    for (const w of waiting) w.reject(error);
  }
}

function openCallsFile(file: string): Database.Database {
  const db = new Database(file);
  try {
    db.pragma('busy_timeout = 5000');
    db.pragma('journal_mode = WAL');
    db.exec(CALLS_FILE_SCHEMA);
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
}
