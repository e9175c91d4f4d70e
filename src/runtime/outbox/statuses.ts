// The states of an outbox message, listed once for the engine, the admin API and the CLI.
export const OUTBOX_STATUSES = ['queued', 'sending', 'sent', 'failed', 'dead'] as const;
export type OutboxStatus = (typeof OUTBOX_STATUSES)[number];

export function isOutboxStatus(value: string): value is OutboxStatus {
  return (OUTBOX_STATUSES as readonly string[]).includes(value);
}
