// The states of an outbox message, listed once for the engine, the admin API and the CLI.
// queued → sending → sent; failed (retried after a backoff) → … → dead (no more attempts, or a
// permanent refusal). Push only: unable_to_deliver (the subscription is gone: 404/410) and
// maybe_delivered (no answer after the request was sent: not resent, it may have arrived).
export const OUTBOX_STATUSES = [
  'queued',
  'sending',
  'sent',
  'failed',
  'dead',
  'unable_to_deliver',
  'maybe_delivered',
] as const;
export type OutboxStatus = (typeof OUTBOX_STATUSES)[number];

export function isOutboxStatus(value: string): value is OutboxStatus {
  return (OUTBOX_STATUSES as readonly string[]).includes(value);
}

export const OUTBOX_CHANNELS = ['email', 'push'] as const;
export type OutboxChannel = (typeof OUTBOX_CHANNELS)[number];

export function isOutboxChannel(value: string): value is OutboxChannel {
  return (OUTBOX_CHANNELS as readonly string[]).includes(value);
}
