// The body of the call log's writer thread for a SQLite file (sqlite-file-sink.ts). The thread runs
// it from its source text, so it may use nothing but its parameters: `load` is the thread's own
// require, and the statements and the driver's path come from the main thread.

export interface WriterThreadData {
  /** better-sqlite3, resolved by the main thread (the thread's require starts from nowhere). */
  driver: string;
  file: string;
  busyTimeoutMs: number;
  insert: string;
  /** The same for `chunkRows` rows at once (fewer statement runs per row). */
  insertChunk: string;
  chunkRows: number;
  columns: number;
  prune: string;
}

export type WriterRequest =
  /** `values`: the rows' columns one after another (cheaper to pass between threads than rows). */
  { id: number; type: 'write'; values: unknown[] } | { id: number; type: 'prune'; olderThan: number };

export interface WriterReply {
  id: number;
  /** The failure's message; absent when the request was done. */
  error?: string;
}

/** Opens the file and answers each request once it is committed (a batch is one transaction). */
export function callWriterThread(load: (id: string) => any, data: WriterThreadData): void {
  const { parentPort } = load('node:worker_threads');
  const Database = load(data.driver);
  const db = new Database(data.file);
  db.pragma(`busy_timeout = ${data.busyTimeoutMs}`);
  db.pragma('journal_mode = WAL');
  // The log is not the app's data: no fsync for it. A crash of the process loses nothing (the OS
  // has the pages); one of the machine may lose the last records or damage the file, which the
  // sink then moves aside and starts anew.
  db.pragma('synchronous = OFF');
  const insert = db.prepare(data.insert);
  const insertChunk = db.prepare(data.insertChunk);
  const prune = db.prepare(data.prune);
  const chunk = data.chunkRows * data.columns;
  const writeAll = db.transaction((values: unknown[]) => {
    let at = 0;
    for (; at + chunk <= values.length; at += chunk) insertChunk.run(values.slice(at, at + chunk));
    for (; at < values.length; at += data.columns) insert.run(values.slice(at, at + data.columns));
  });
  parentPort.on('message', (request: WriterRequest) => {
    const reply: WriterReply = { id: request.id };
    try {
      if (request.type === 'write') writeAll(request.values);
      else prune.run(request.olderThan);
    } catch (error) {
      reply.error = error instanceof Error ? error.message : String(error);
    }
    parentPort.postMessage(reply);
  });
}
