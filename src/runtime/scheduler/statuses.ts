// The states of a call scheduled with ctx.scheduler, listed once for the engine, the admin API
// and the CLI.
export const SCHEDULED_STATUSES = ['pending', 'running', 'done', 'failed', 'canceled'] as const;
export type ScheduledStatus = (typeof SCHEDULED_STATUSES)[number];

export function isScheduledStatus(value: string): value is ScheduledStatus {
  return (SCHEDULED_STATUSES as readonly string[]).includes(value);
}
