// Reading ctx.scheduler's work for `valet scheduled ls` and /admin/scheduled.
import type Database from 'better-sqlite3';
import type { ScheduledStatus } from './statuses.js';

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

export function listScheduled(db: Database.Database, filter: { status?: ScheduledStatus; limit?: number } = {}): ScheduledRow[] {
  const where = filter.status ? 'WHERE status = ?' : '';
  const rows = db.prepare(`SELECT * FROM _valet_scheduled ${where} ORDER BY run_at DESC LIMIT ?`).all(...(filter.status ? [filter.status] : []), filter.limit ?? 50) as Record<string, any>[];
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
