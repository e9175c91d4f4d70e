// Reading the email outbox (written by ctx.email.enqueue) for `valet outbox` and /admin/outbox.
import type Database from 'better-sqlite3';
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

export function listOutbox(db: Database.Database, filter: { status?: OutboxStatus; limit?: number } = {}): OutboxEmail[] {
  const where = filter.status ? 'WHERE status = ?' : '';
  const params: (string | number)[] = filter.status ? [filter.status] : [];
  return (db.prepare(`SELECT * FROM _valet_outbox ${where} ORDER BY created_at DESC, id DESC LIMIT ?`).all(...params, filter.limit ?? 50) as OutboxRow[]).map(toEmail);
}

export function getOutboxEmail(db: Database.Database, id: string): OutboxEmailWithBody | null {
  const row = db.prepare('SELECT * FROM _valet_outbox WHERE id = ?').get(id) as OutboxRow | undefined;
  return row ? { ...toEmail(row), text: row.text, html: row.html } : null;
}

/** Puts emails back in the queue for immediate delivery: the given ids, or every dead one. */
export function retryEmails(db: Database.Database, target: { ids: string[] } | { dead: true }, now: number): string[] {
  const rows =
    'dead' in target
      ? (db.prepare("SELECT id FROM _valet_outbox WHERE status = 'dead'").all() as { id: string }[])
      : (target.ids.map((id) => db.prepare("SELECT id FROM _valet_outbox WHERE id = ? AND status IN ('dead', 'failed')").get(id)).filter(Boolean) as { id: string }[]);
  const requeue = db.prepare("UPDATE _valet_outbox SET status = 'queued', attempts = 0, next_attempt_at = ?, lease_expires_at = NULL WHERE id = ?");
  db.transaction(() => rows.forEach((row) => requeue.run(now, row.id)))();
  return rows.map((row) => row.id);
}
