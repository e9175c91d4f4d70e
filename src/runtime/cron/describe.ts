// A cron job as `valet cron ls`, /admin/crons and the dashboard show it: its schedule, when it
// runs next (from the last tick stored), and how its last run went.
import { systemClock } from '../clock.js';
import type { CronJob } from '../../server/cron.js';
import type { SqlExecutor } from '../../storage/sql.js';
import { lastRuns } from './runs.js';
import { nextRunOf, scheduleOf } from './schedule.js';

export interface CronJobInfo {
  name: string;
  schedule: string;
  function: string;
  nextRun: string | null;
  lastStatus: string | null;
  lastRunAt: string | null;
}

export type LastRuns = Awaited<ReturnType<typeof lastRunsAndTicks>>;

export async function lastRunsAndTicks(sql: SqlExecutor) {
  const ticks = new Map(
    (await sql.all<{ job: string; last_tick: number }>('SELECT job, last_tick FROM _valet_cron_state')).map((r) => [
      r.job,
      r.last_tick,
    ]),
  );
  return { runs: await lastRuns(sql), ticks };
}

/** The jobs of a registry with their schedule, next run and last outcome (what /admin/crons serves). */
export async function describeCronJobs(
  crons: readonly CronJob[],
  sql: SqlExecutor,
  now = systemClock.now(),
): Promise<CronJobInfo[]> {
  return describeJobs(crons, await lastRunsAndTicks(sql), now);
}

export function describeJobs(crons: readonly CronJob[], { runs, ticks }: LastRuns, now: number): CronJobInfo[] {
  return crons.map((job) => {
    const schedule = scheduleOf(job);
    const next = nextRunOf(schedule, ticks.get(job.name), now);
    const previous = runs.get(job.name);
    return {
      name: job.name,
      schedule: schedule.describe(),
      function: job.ref.path,
      nextRun: next === null ? null : new Date(next).toISOString(),
      lastStatus: previous?.status ?? null,
      lastRunAt: previous ? new Date(previous.dispatchedAt).toISOString() : null,
    };
  });
}
