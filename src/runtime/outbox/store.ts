// Reading the outbox (email from ctx.email.enqueue, push from ctx.push.enqueue), each message's
// attempts, and the push subscriptions, for `valet outbox`, `valet push` and /admin.
import type { SqlExecutor } from '../../storage/sql.js';
import type { OutboxChannel, OutboxStatus } from './statuses.js';

export type { OutboxStatus } from './statuses.js';

interface OutboxRow {
  id: string;
  delivery_key: string | null;
  recipients: string;
  subject: string;
  html: string | null;
  text: string | null;
  status: OutboxStatus;
  attempts: number;
  next_attempt_at: number;
  last_error: string | null;
  created_at: number;
  sent_at: number | null;
  source: string | null;
  channel: OutboxChannel;
  payload: string | null;
  subscription_id: string | null;
}

export interface OutboxEmail {
  id: string;
  channel: OutboxChannel;
  /** Email: the recipients. Push: empty (see `subscriptionId`). */
  to: string[];
  /** Push: the subscription it goes to. */
  subscriptionId: string | null;
  subject: string;
  status: OutboxStatus;
  deliveryKey: string | null;
  attempts: number;
  lastError: string | null;
  createdAt: string;
  nextAttemptAt: string;
  sentAt: string | null;
  source: string | null;
}

export interface OutboxEmailWithBody extends OutboxEmail {
  text: string | null;
  html: string | null;
  /** Push: the notification and its options, as enqueued. */
  push: { notification: Record<string, unknown>; ttl: number; urgency: string; topic: string | null } | null;
}

export interface OutboxAttempt {
  attempt: number;
  at: string;
  outcome: string;
  detail: string | null;
}

export interface PushSubscriptionRecord {
  id: string;
  endpoint: string;
  userId: string | null;
  createdAt: string;
  updatedAt: string;
  /** Set when the push service said it is gone (404/410): no more messages go to it. */
  invalidAt: string | null;
  invalidReason: string | null;
}

export interface OutboxMessageDetail extends OutboxEmailWithBody {
  history: OutboxAttempt[];
  subscription: PushSubscriptionRecord | null;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

function toEmail(row: OutboxRow): OutboxEmail {
  return {
    id: row.id,
    channel: row.channel ?? 'email',
    to: JSON.parse(row.recipients),
    subscriptionId: row.subscription_id ?? null,
    subject: row.subject,
    status: row.status,
    deliveryKey: row.delivery_key,
    attempts: row.attempts,
    lastError: row.last_error,
    createdAt: iso(row.created_at)!,
    nextAttemptAt: iso(row.next_attempt_at)!,
    sentAt: iso(row.sent_at),
    source: row.source,
  };
}

function withBody(row: OutboxRow): OutboxEmailWithBody {
  return { ...toEmail(row), text: row.text, html: row.html, push: row.payload ? JSON.parse(row.payload) : null };
}

interface OutboxFilter {
  status?: OutboxStatus;
  channel?: OutboxChannel;
  limit?: number;
}

export async function listOutbox(sql: SqlExecutor, filter?: OutboxFilter): Promise<OutboxEmail[]>;
export async function listOutbox(
  sql: SqlExecutor,
  filter: OutboxFilter & { bodies: true },
): Promise<OutboxEmailWithBody[]>;
export async function listOutbox(
  sql: SqlExecutor,
  filter: OutboxFilter & { bodies?: boolean } = {},
): Promise<OutboxEmail[]> {
  const where: string[] = [];
  const params: (string | number)[] = [];
  if (filter.status) {
    where.push('status = ?');
    params.push(filter.status);
  }
  if (filter.channel) {
    where.push('channel = ?');
    params.push(filter.channel);
  }
  const rows = await sql.all<OutboxRow>(
    `SELECT * FROM _valet_outbox ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at DESC, id DESC LIMIT ?`,
    [...params, filter.limit ?? 50],
  );
  return rows.map((row) => (filter.bodies ? withBody(row) : toEmail(row)));
}

interface SubscriptionRow {
  id: string;
  endpoint: string;
  user_id: string | null;
  created_at: number;
  updated_at: number;
  invalid_at: number | null;
  invalid_reason: string | null;
}

function toSubscription(row: SubscriptionRow): PushSubscriptionRecord {
  return {
    id: row.id,
    endpoint: row.endpoint,
    userId: row.user_id,
    createdAt: iso(row.created_at)!,
    updatedAt: iso(row.updated_at)!,
    invalidAt: iso(row.invalid_at),
    invalidReason: row.invalid_reason,
  };
}

/** One message in full: body or push payload, its subscription, and every attempt. */
export async function getOutboxEmail(sql: SqlExecutor, id: string): Promise<OutboxMessageDetail | null> {
  const row = await sql.get<OutboxRow>('SELECT * FROM _valet_outbox WHERE id = ?', [id]);
  if (!row) return null;
  const attempts = await sql.all<{ attempt: number; at: number; outcome: string; detail: string | null }>(
    'SELECT attempt, at, outcome, detail FROM _valet_outbox_attempts WHERE outbox_id = ? ORDER BY attempt',
    [id],
  );
  const subscription = row.subscription_id
    ? await sql.get<SubscriptionRow>('SELECT * FROM _valet_push_subscriptions WHERE id = ?', [row.subscription_id])
    : undefined;
  return {
    ...withBody(row),
    history: attempts.map((a) => ({ attempt: a.attempt, at: iso(a.at)!, outcome: a.outcome, detail: a.detail })),
    subscription: subscription ? toSubscription(subscription) : null,
  };
}

/** Stored push subscriptions, newest first; of one user when `userId` is given. */
export async function listPushSubscriptions(
  sql: SqlExecutor,
  filter: { userId?: string; limit?: number } = {},
): Promise<PushSubscriptionRecord[]> {
  const where = filter.userId ? 'WHERE user_id = ?' : '';
  const rows = await sql.all<SubscriptionRow>(
    `SELECT * FROM _valet_push_subscriptions ${where} ORDER BY created_at DESC, id DESC LIMIT ?`,
    [...(filter.userId ? [filter.userId] : []), filter.limit ?? 100],
  );
  return rows.map(toSubscription);
}

/** Puts emails back in the queue for immediate delivery: the given ids, or every dead one. */
export async function retryEmails(
  sql: SqlExecutor,
  target: { ids: string[] } | { dead: true },
  now: number,
): Promise<string[]> {
  const which =
    'dead' in target
      ? "status = 'dead'"
      : `status IN ('dead', 'failed') AND id IN (${target.ids.map(() => '?').join(', ') || 'NULL'})`;
  const rows = await sql.all<{ id: string }>(
    `UPDATE _valet_outbox SET status = 'queued', attempts = 0, next_attempt_at = ?, lease_expires_at = NULL WHERE ${which} RETURNING id`,
    [now, ...('dead' in target ? [] : target.ids)],
  );
  return rows.map((row) => row.id);
}
