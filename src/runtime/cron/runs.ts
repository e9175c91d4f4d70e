// Reading cron history for `valet cron runs` and /admin/cron/runs.
import type { SqlExecutor } from '../../storage/sql.js';

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

export async function listCronRuns(
  sql: SqlExecutor,
  filter: { job?: string; limit?: number } = {},
): Promise<CronRun[]> {
  const where = filter.job ? 'WHERE job = ?' : '';
  const rows = await sql.all<Record<string, any>>(
    `SELECT * FROM _valet_cron_runs ${where} ORDER BY dispatched_at DESC, id DESC LIMIT ?`,
    [...(filter.job ? [filter.job] : []), filter.limit ?? 50],
  );
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
export async function lastRuns(sql: SqlExecutor): Promise<Map<string, { status: string; dispatchedAt: number }>> {
  const rows = await sql.all<{ job: string; status: string; at: number }>(
    `SELECT r.job, r.status, r.dispatched_at AS at FROM _valet_cron_runs r
     JOIN (SELECT job, MAX(dispatched_at) AS at FROM _valet_cron_runs GROUP BY job) latest ON latest.job = r.job AND latest.at = r.dispatched_at
     ORDER BY r.id`,
  );
  return new Map(rows.map((r) => [r.job, { status: r.status, dispatchedAt: r.at }]));
}
