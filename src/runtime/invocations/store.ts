// _valet_action_invocations: one row per action invocation, which is also its idempotency
// record. Reads back for `valet invocations` and /admin.
import type { ErrorBody } from '../../protocol/errors.js';
import type { SqlExecutor } from '../../storage/sql.js';
import type { InvocationStatus } from './statuses.js';

export type { InvocationStatus } from './statuses.js';

export interface InvocationRow {
  id: string;
  function: string;
  principal: string;
  invoker: string;
  idempotency_key: string | null;
  args: string | null;
  args_hash: string;
  sensitive: number;
  safe_to_retry: number;
  status: InvocationStatus;
  http_status: number | null;
  result: string | null;
  error: string | null;
  attempts: number;
  started_at: number;
  finished_at: number | null;
  duration_ms: number | null;
  rerun_of?: string | null;
  error_stack?: string | null;
}

/** The shape `valet invocations --json` prints and /admin serves. */
export interface Invocation {
  id: string;
  function: string;
  invoker: unknown;
  idempotencyKey: string | null;
  args: unknown;
  status: InvocationStatus;
  httpStatus: number | null;
  result: unknown;
  error: unknown;
  attempts: number;
  sensitive: boolean;
  safeToRetry: boolean;
  startedAt: string;
  finishedAt: string | null;
  durationMs: number | null;
  /** The invocation this one re-ran (from the dashboard), if any. */
  rerunOf: string | null;
  /** A failed handler's stack, mapped to valet/ files. */
  errorStack: string | null;
}

const parse = (text: string | null) => (text === null ? null : JSON.parse(text));

export function toInvocation(row: InvocationRow): Invocation {
  return {
    id: row.id,
    function: row.function,
    invoker: parse(row.invoker),
    idempotencyKey: row.idempotency_key,
    args: row.sensitive ? null : parse(row.args),
    status: row.status,
    httpStatus: row.http_status,
    result: row.sensitive ? null : parse(row.result),
    error: parse(row.error),
    attempts: row.attempts,
    sensitive: row.sensitive === 1,
    safeToRetry: row.safe_to_retry === 1,
    startedAt: new Date(row.started_at).toISOString(),
    finishedAt: row.finished_at === null ? null : new Date(row.finished_at).toISOString(),
    durationMs: row.duration_ms,
    rerunOf: row.rerun_of ?? null,
    errorStack: row.error_stack ?? null,
  };
}

export interface InvocationFilter {
  function?: string;
  status?: InvocationStatus;
  /** Only those started at or after this time (ms). */
  since?: number;
  limit?: number;
}

export async function listInvocations(sql: SqlExecutor, filter: InvocationFilter = {}): Promise<Invocation[]> {
  const where: string[] = [];
  const params: (string | number)[] = [];
  if (filter.function) {
    where.push('function = ?');
    params.push(filter.function);
  }
  if (filter.status) {
    where.push('status = ?');
    params.push(filter.status);
  }
  if (filter.since !== undefined) {
    where.push('started_at >= ?');
    params.push(filter.since);
  }
  const text = `SELECT * FROM _valet_action_invocations ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY started_at DESC, id DESC LIMIT ?`;
  return (await sql.all<InvocationRow>(text, [...params, filter.limit ?? 50])).map(toInvocation);
}

export async function getInvocation(sql: SqlExecutor, id: string): Promise<Invocation | null> {
  const row = await sql.get<InvocationRow>('SELECT * FROM _valet_action_invocations WHERE id = ?', [id]);
  return row ? toInvocation(row) : null;
}

/** Links a re-run to the invocation it repeats. */
export async function markRerun(sql: SqlExecutor, id: string, original: string): Promise<void> {
  await sql.run('UPDATE _valet_action_invocations SET rerun_of = ? WHERE id = ?', [original, id]);
}

/** The error an interrupted invocation answers with when its key is replayed (see idempotency.ts). */
export const INTERRUPTED_ERROR: ErrorBody = {
  code: 'interrupted',
  message:
    'the server stopped while this action ran, so whether it completed is unknown; it is not safeToRetry, so it was not run again',
};

/** Drops finished records older than `retentionMs` (at least 24 h, so idempotent replays keep working). */
export async function pruneInvocations(sql: SqlExecutor, olderThan: number): Promise<number> {
  return (
    await sql.run("DELETE FROM _valet_action_invocations WHERE status != 'running' AND started_at < ?", [olderThan])
  ).changes;
}
