// _valet_calls: the activity log kept in the database (valet start), so every instance's calls
// are read in one place. Written in batches off the request's path (log.ts), pruned by age.
import type { SqlExecutor } from '../../storage/sql.js';
import type { CallFilter } from './filter.js';
import { DEFAULT_CALL_LIMIT } from './filter.js';
import type { CallRecord } from './record.js';

interface CallRow {
  id: string;
  parent: string | null;
  root: string;
  path: string;
  kind: CallRecord['kind'];
  source: CallRecord['source'];
  caller: string;
  instance: string | null;
  started_at: number;
  duration_ms: number | null;
  outcome: CallRecord['outcome'];
  error_code: string | null;
  invocation: string | null;
  /** The error, lines and events as JSON; null when the call had none (most calls). */
  detail: string | null;
}

const COLUMNS =
  'id, parent, root, path, kind, source, caller, instance, started_at, duration_ms, outcome, error_code, invocation, detail';

function toRecord(row: CallRow): CallRecord {
  const detail = (row.detail ? JSON.parse(row.detail) : {}) as Partial<Pick<CallRecord, 'error' | 'logs' | 'events'>>;
  return {
    id: row.id,
    parent: row.parent,
    root: row.root,
    path: row.path,
    kind: row.kind,
    source: row.source,
    caller: row.caller,
    instance: row.instance,
    startedAt: Number(row.started_at),
    durationMs: row.duration_ms === null ? null : Number(row.duration_ms),
    outcome: row.outcome,
    error: detail.error ?? null,
    invocation: row.invocation,
    logs: detail.logs ?? [],
    events: detail.events ?? [],
  };
}

/** One record as the values of COLUMNS, in order. */
export function callRowOf(r: CallRecord): unknown[] {
  return [
    r.id,
    r.parent,
    r.root,
    r.path,
    r.kind,
    r.source,
    r.caller,
    r.instance,
    r.startedAt,
    r.durationMs,
    r.outcome,
    r.error?.code ?? null,
    r.invocation,
    r.error || r.logs.length > 0 || r.events.length > 0
      ? JSON.stringify({ error: r.error, logs: r.logs, events: r.events })
      : null,
  ];
}

/** Many rows per statement: a flush of a busy second is a handful of statements. */
export const ROWS_PER_STATEMENT = 100;
const ROW = `(${Array(14).fill('?').join(', ')})`;
// A record written twice (a flush retried after its COMMIT broke off) stays one row.
const insertText = (rows: number) =>
  `INSERT INTO _valet_calls (${COLUMNS}) VALUES ${Array(rows).fill(ROW).join(', ')} ON CONFLICT (id) DO NOTHING`;

/** One row's insert, for a writer that prepares it once (a separate SQLite file's writer thread). */
export const INSERT_ONE_CALL = insertText(1);
/** The writer thread's statement for a full chunk (one statement per ROWS_PER_STATEMENT rows). */
export const INSERT_CALL_CHUNK = insertText(ROWS_PER_STATEMENT);
export const CALL_COLUMNS = 14;
export const PRUNE_CALLS = 'DELETE FROM _valet_calls WHERE started_at < ?';

/**
 * The log's table in a file of its own (SQLite): the shape migration 9 gives the app's, but its
 * root index holds only calls with a parent (most calls are roots of nothing: one index write
 * fewer for each; a trace finds its root by id), and the table is keyed by the call's id itself
 * (WITHOUT ROWID: one B-tree fewer to write per call; a process's ids grow, so rows append).
 */
export const CALLS_FILE_SCHEMA = `
  CREATE TABLE IF NOT EXISTS _valet_calls (
    id TEXT PRIMARY KEY, parent TEXT, root TEXT NOT NULL, path TEXT NOT NULL, kind TEXT NOT NULL,
    source TEXT NOT NULL, caller TEXT NOT NULL, instance TEXT, started_at REAL NOT NULL,
    duration_ms REAL, outcome TEXT NOT NULL, error_code TEXT, invocation TEXT, detail TEXT
  ) WITHOUT ROWID;
  CREATE INDEX IF NOT EXISTS _valet_calls_by_start ON _valet_calls (started_at, id);
  CREATE INDEX IF NOT EXISTS _valet_calls_children ON _valet_calls (root, started_at) WHERE parent IS NOT NULL;
`;

export async function insertCalls(sql: SqlExecutor, records: readonly CallRecord[]): Promise<void> {
  for (let start = 0; start < records.length; start += ROWS_PER_STATEMENT) {
    const chunk = records.slice(start, start + ROWS_PER_STATEMENT);
    await sql.run(insertText(chunk.length), chunk.flatMap(callRowOf));
  }
}

export async function listStoredCalls(sql: SqlExecutor, filter: CallFilter): Promise<CallRecord[]> {
  const where: string[] = [];
  const params: unknown[] = [];
  const equal = (column: string, value: unknown) => {
    where.push(`${column} = ?`);
    params.push(value);
  };
  if (filter.kind) equal('kind', filter.kind);
  if (filter.path) equal('path', filter.path);
  if (filter.outcome) equal('outcome', filter.outcome);
  if (filter.code) equal('error_code', filter.code);
  if (filter.root) {
    // The root call itself, and the calls under it (a root has no parent: see CALLS_FILE_SCHEMA).
    where.push('(id = ? OR (root = ? AND parent IS NOT NULL))');
    params.push(filter.root, filter.root);
  }
  if (filter.caller) {
    if (filter.caller.includes(':')) equal('caller', filter.caller);
    else {
      where.push('(caller = ? OR caller LIKE ?)');
      params.push(filter.caller, `${filter.caller}:%`);
    }
  }
  if (filter.since !== undefined) {
    where.push('started_at >= ?');
    params.push(filter.since);
  }
  if (filter.until !== undefined) {
    where.push('started_at < ?');
    params.push(filter.until);
  }
  const text = `SELECT ${COLUMNS} FROM _valet_calls ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY started_at DESC, id DESC LIMIT ?`;
  return (await sql.all<CallRow>(text, [...params, filter.limit ?? DEFAULT_CALL_LIMIT])).map(toRecord);
}

export async function getStoredCall(sql: SqlExecutor, id: string): Promise<CallRecord | null> {
  const row = await sql.get<CallRow>(`SELECT ${COLUMNS} FROM _valet_calls WHERE id = ?`, [id]);
  return row ? toRecord(row) : null;
}

export async function pruneCalls(sql: SqlExecutor, olderThan: number): Promise<number> {
  return (await sql.run(PRUNE_CALLS, [olderThan])).changes;
}
