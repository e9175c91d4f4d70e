// The body of the call log's writer thread for a SQLite file (sqlite-file-sink.ts). The thread runs
// it from its source text, so it may use nothing but its parameters: `load` is the thread's own
// require, and the statements and the driver's path come from the main thread.

export interface WriterThreadData {
  /** better-sqlite3, resolved by the main thread (the thread's require starts from nowhere). */
  driver: string;
  file: string;
  busyTimeoutMs: number;
  insert: string;
  prune: string;
}

export type WriterRequest =
  | { id: number; type: 'write'; rows: unknown[][] }
  | { id: number; type: 'prune'; olderThan: number };

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
  db.pragma('synchronous = NORMAL');
  const insert = db.prepare(data.insert);
  const prune = db.prepare(data.prune);
  const writeAll = db.transaction((rows: unknown[][]) => {
    for (const row of rows) insert.run(row);
  });
  parentPort.on('message', (request: WriterRequest) => {
    const reply: WriterReply = { id: request.id };
    try {
      if (request.type === 'write') writeAll(request.rows);
      else prune.run(request.olderThan);
    } catch (error) {
      reply.error = error instanceof Error ? error.message : String(error);
    }
    parentPort.postMessage(reply);
  });
}
