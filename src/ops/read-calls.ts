// `valet calls` as a programmatic API: the activity log through the app's running server (which
// holds valet dev's calls in memory, and reads every instance's from the database under valet
// start), else from where a production server stored it: its SQLite file's own call log file, or
// the PostgreSQL database.
import Database from 'better-sqlite3';
import { existsSync } from 'node:fs';
import { UserError } from '../errors/user-error.js';
import type { CallRecord } from '../runtime/calls/record.js';
import { getStoredCall, listStoredCalls } from '../runtime/calls/store.js';
import { callFilterOf } from '../runtime/calls/filter-params.js';
import { EngineError } from '../runtime/errors.js';
import { AppEnv } from '../project/env-files.js';
import { callsFileOf, hasOwnCallsFile } from '../runtime/calls/sqlite-file-sink.js';
import { databaseTargetOf } from '../serve/database-target.js';
import type { SqlExecutor } from '../storage/sql.js';
import { SqliteExecutor } from '../storage/sqlite/executor.js';
import { withAppDatabase } from './open-app-database.js';
import { runningServerOf } from './server-or-local.js';

/** A listing row: lines and events are counted, not carried. */
export type CallSummary = Omit<CallRecord, 'logs' | 'events'> & { lines: number; events: number };

export interface CallsRead<T> {
  value: T;
  /** `server`: a running valet dev / valet start answered; `database`: read from the stored log. */
  via: 'server' | 'database';
}

async function serverJson<T>(response: Response): Promise<T> {
  const body = (await response.json()) as T & { code?: string; message?: string };
  if (!response.ok) throw new UserError(body.message ?? `the server answered ${response.status}`);
  return body;
}

/** Whether the database has the call log at all (one written by an older Valet has not). */
async function hasCallLog(sql: SqlExecutor): Promise<boolean> {
  const probe =
    sql.dialect.name === 'postgres'
      ? "SELECT to_regclass('_valet_calls') IS NOT NULL AS found"
      : "SELECT COUNT(*) > 0 AS found FROM sqlite_master WHERE type = 'table' AND name = '_valet_calls'";
  const row = await sql.get<{ found: boolean | number }>(probe);
  return Boolean(row?.found);
}

/**
 * Runs `read` on the stored call log, or answers `none` when there is none: a SQLite app's log is a
 * file of its own (opened read-only, beside a running server); PostgreSQL's is a table of the app's.
 */
async function withStoredCalls<T>(appDir: string, none: T, read: (sql: SqlExecutor) => Promise<T>): Promise<T> {
  // VALET_DATABASE_URL may come from the app's .env files, as for `valet run`.
  new AppEnv(appDir, 'development').apply();
  const target = databaseTargetOf(appDir);
  if (target.backend === 'sqlite' && hasOwnCallsFile(target.database)) {
    const file = callsFileOf(target.database);
    if (!existsSync(file)) return none;
    const db = new Database(file, { readonly: true, fileMustExist: true });
    try {
      return await read(new SqliteExecutor(db));
    } finally {
      db.close();
    }
  }
  return withAppDatabase(appDir, async (db) => ((await hasCallLog(db.sql)) ? read(db.sql) : none));
}

/** Checks the filter the same way the server does (a bad flag names itself), then lists. */
export async function listCalls(appDir: string, params: URLSearchParams): Promise<CallsRead<CallSummary[]>> {
  let filter: ReturnType<typeof callFilterOf>;
  try {
    filter = callFilterOf(params);
  } catch (error) {
    if (error instanceof EngineError) throw new UserError(error.message, { exitCode: 2 });
    throw error;
  }
  const server = await runningServerOf(appDir);
  if (server) {
    const body = await serverJson<{ calls: CallSummary[] }>(await server.fetch(`/admin/calls?${params}`));
    return { value: body.calls, via: 'server' };
  }
  const calls = await withStoredCalls(appDir, [], (sql) => listStoredCalls(sql, filter));
  return {
    value: calls.map(({ logs, events, ...rest }) => ({ ...rest, lines: logs.length, events: events.length })),
    via: 'database',
  };
}

export async function showCall(
  appDir: string,
  id: string,
): Promise<CallsRead<{ call: CallRecord; trace: CallRecord[] }>> {
  const server = await runningServerOf(appDir);
  if (server) {
    const response = await server.fetch(`/admin/calls/${encodeURIComponent(id)}`);
    return { value: await serverJson(response), via: 'server' };
  }
  const found = await withStoredCalls(appDir, null, async (sql) => {
    const call = await getStoredCall(sql, id);
    if (!call) return null;
    const trace = await listStoredCalls(sql, { root: call.root, limit: 500 });
    return { call, trace: trace.sort((a, b) => a.startedAt - b.startedAt) };
  });
  if (!found)
    throw new UserError(
      `no call ${id} in the stored call log (valet dev keeps its calls in memory: run this while it runs)`,
    );
  return { value: found, via: 'database' };
}
