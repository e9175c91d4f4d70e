// Reading ctx.scheduler's work for `valet scheduled ls` and /admin/scheduled.
import type { DocumentStore } from '../../storage/documents.js';
import type { SqlExecutor } from '../../storage/sql.js';
import type { ScheduledStatus } from './statuses.js';
import { noteScheduledChange } from './system-table.js';

export interface ScheduledRow {
  id: string;
  function: string;
  args: unknown;
  runAt: string;
  status: string;
  attempts: number;
  createdAt: string;
  scheduledBy: string | null;
  finishedAt: string | null;
  error: unknown;
}

export async function listScheduled(
  sql: SqlExecutor,
  filter: { status?: ScheduledStatus; limit?: number } = {},
): Promise<ScheduledRow[]> {
  const where = filter.status ? 'WHERE status = ?' : '';
  const rows = await sql.all<Record<string, any>>(
    `SELECT * FROM _valet_scheduled ${where} ORDER BY run_at DESC, id DESC LIMIT ?`,
    [...(filter.status ? [filter.status] : []), filter.limit ?? 50],
  );
  return rows.map((r) => ({
    id: r.id,
    function: r.function,
    args: JSON.parse(r.args),
    runAt: new Date(r.run_at).toISOString(),
    status: r.status,
    attempts: r.attempts,
    createdAt: new Date(r.created_at).toISOString(),
    scheduledBy: r.scheduled_by,
    finishedAt: r.finished_at === null ? null : new Date(r.finished_at).toISOString(),
    error: r.error === null ? null : JSON.parse(r.error),
  }));
}

/** Cancels a call that has not started (ctx.scheduler.cancel, the dashboard); whether it was pending. */
export async function cancelScheduled(store: DocumentStore, id: string, now: number): Promise<boolean> {
  const { changes } = await store.sql.run(
    "UPDATE _valet_scheduled SET status = 'canceled', finished_at = ? WHERE id = ? AND status = 'pending'",
    [now, id],
  );
  if (changes > 0) noteScheduledChange(store, id);
  return changes > 0;
}
