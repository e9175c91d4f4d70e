// Reading the email outbox (written by ctx.email.enqueue) for `valet outbox` and /admin/outbox.
import type { SqlExecutor } from '../../storage/sql.js';
import type { OutboxStatus } from './statuses.js';

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
}

export interface OutboxEmail {
  id: string;
  to: string[];
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
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

function toEmail(row: OutboxRow): OutboxEmail {
  return {
    id: row.id,
    to: JSON.parse(row.recipients),
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

export async function listOutbox(sql: SqlExecutor, filter?: { status?: OutboxStatus; limit?: number }): Promise<OutboxEmail[]>;
export async function listOutbox(sql: SqlExecutor, filter: { status?: OutboxStatus; limit?: number; bodies: true }): Promise<OutboxEmailWithBody[]>;
export async function listOutbox(sql: SqlExecutor, filter: { status?: OutboxStatus; limit?: number; bodies?: boolean } = {}): Promise<OutboxEmail[]> {
  const where = filter.status ? 'WHERE status = ?' : '';
  const params: (string | number)[] = filter.status ? [filter.status] : [];
  const rows = await sql.all<OutboxRow>(`SELECT * FROM _valet_outbox ${where} ORDER BY created_at DESC, id DESC LIMIT ?`, [...params, filter.limit ?? 50]);
  return rows.map((row) => (filter.bodies ? { ...toEmail(row), text: row.text, html: row.html } : toEmail(row)));
}

export async function getOutboxEmail(sql: SqlExecutor, id: string): Promise<OutboxEmailWithBody | null> {
  const row = await sql.get<OutboxRow>('SELECT * FROM _valet_outbox WHERE id = ?', [id]);
  return row ? { ...toEmail(row), text: row.text, html: row.html } : null;
}

/** Puts emails back in the queue for immediate delivery: the given ids, or every dead one. */
export async function retryEmails(sql: SqlExecutor, target: { ids: string[] } | { dead: true }, now: number): Promise<string[]> {
  const which = 'dead' in target ? "status = 'dead'" : `status IN ('dead', 'failed') AND id IN (${target.ids.map(() => '?').join(', ') || 'NULL'})`;
  const rows = await sql.all<{ id: string }>(`UPDATE _valet_outbox SET status = 'queued', attempts = 0, next_attempt_at = ?, lease_expires_at = NULL WHERE ${which} RETURNING id`, [
    now,
    ...('dead' in target ? [] : target.ids),
  ]);
  return rows.map((row) => row.id);
}
