// When a cron job is due: croner reads the expressions (with explicit time zones, UTC by
// default); intervals tick from the moment the job was first seen.
import { Cron } from 'croner';
import type { CronJob } from '../../server/cron.js';

export interface JobSchedule {
  /** The first tick strictly after `after` (ms), or null if the expression never fires again. */
  nextAfter(after: number): number | null;
  describe(): string;
}

export function scheduleOf(job: CronJob): JobSchedule {
  const schedule = job.schedule;
  if (schedule.type === 'interval') {
    return {
      nextAfter: (after) => after + schedule.ms,
      describe: () =>
        `every ${schedule.ms % 3_600_000 === 0 ? `${schedule.ms / 3_600_000} h` : schedule.ms % 60_000 === 0 ? `${schedule.ms / 60_000} min` : `${schedule.ms / 1000} s`}`,
    };
  }
  let cron: Cron;
  try {
    cron = new Cron(schedule.expression, { timezone: schedule.timezone, paused: true });
  } catch (error) {
    throw new Error(
      `cron job "${job.name}": invalid cron expression "${schedule.expression}": ${(error as Error).message}`,
    );
  }
  return {
    nextAfter: (after) => cron.nextRun(new Date(after))?.getTime() ?? null,
    describe: () => `${schedule.expression}${schedule.timezone === 'UTC' ? '' : ` (${schedule.timezone})`}`,
  };
}

/** The ticks in (after, until], at most `limit` of them (a long downtime is one catch-up run). */
export function ticksBetween(
  schedule: JobSchedule,
  after: number,
  until: number,
  limit = 10_000,
): { count: number; latest: number | null } {
  let count = 0;
  let latest: number | null = null;
  for (
    let tick = schedule.nextAfter(after);
    tick !== null && tick <= until && count < limit;
    tick = schedule.nextAfter(tick)
  ) {
    count++;
    latest = tick;
  }
  return { count, latest };
}

/**
 * When a job next runs: after its last tick, not after now, so an interval stays on its own grid
 * (a job never seen yet starts counting now). In the past means due: it runs at once.
 */
export function nextRunOf(schedule: JobSchedule, lastTick: number | undefined, now: number): number | null {
  return schedule.nextAfter(Math.min(lastTick ?? now, now));
}
