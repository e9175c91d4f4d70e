// Reading cron history for `valet cron runs` and /admin/cron/runs.
import type Database from 'better-sqlite3';

export interface CronRun {
  id: string;
  job: string;
  function: string;
  status: 'running' | 'succeeded' | 'failed' | 'skipped' | 'interrupted';
  trigger: 'schedule' | 'admin';
  scheduledAt: string;
  dispatchedAt: string;
  finishedAt: string | null;
  lagMs: number;
  catchUp: boolean;
  missedRuns: number;
  error: unknown;
}

export function listCronRuns(db: Database.Database, filter: { job?: string; limit?: number } = {}): CronRun[] {
  const where = filter.job ? 'WHERE job = ?' : '';
  const rows = db.prepare(`SELECT * FROM _valet_cron_runs ${where} ORDER BY dispatched_at DESC, id DESC LIMIT ?`).all(...(filter.job ? [filter.job] : []), filter.limit ?? 50) as Record<string, any>[];
  return rows.map((r) => ({
    id: r.id,
    job: r.job,
    function: r.function,
    status: r.status,
    trigger: r.trigger,
    scheduledAt: new Date(r.scheduled_at).toISOString(),
    dispatchedAt: new Date(r.dispatched_at).toISOString(),
    finishedAt: r.finished_at === null ? null : new Date(r.finished_at).toISOString(),
    lagMs: r.dispatched_at - r.scheduled_at,
    catchUp: r.catch_up === 1,
    missedRuns: r.missed_runs,
    error: r.error === null ? null : JSON.parse(r.error),
  }));
}

/** The last run of each job, for `valet cron ls`. */
export function lastRuns(db: Database.Database): Map<string, { status: string; dispatchedAt: number }> {
  const rows = db.prepare('SELECT job, status, MAX(dispatched_at) AS at FROM _valet_cron_runs GROUP BY job').all() as { job: string; status: string; at: number }[];
  return new Map(rows.map((r) => [r.job, { status: r.status, dispatchedAt: r.at }]));
}
