// The delivery worker: claims due rows with a lease, sends them, records the outcome. A row whose
// lease expired (the process died mid-send) is claimed again, so nothing committed is lost and
// delivery is at-least-once. Failures back off exponentially with jitter up to a cap, then the
// row is dead-lettered. Time and randomness are injected.
import type { Clock } from '../clock.js';
import type { Connections } from '../connections.js';
import { Loop } from '../loop.js';
import type { EmailTransport, OutgoingEmail } from './transports.js';
import { PermanentDeliveryError } from './transports.js';

export interface OutboxWorkerOptions {
  connections: Connections;
  transport: EmailTransport;
  clock: Clock;
  random?: () => number;
  maxAttempts?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** How long a claimed row stays reserved before another worker may take it over. */
  leaseMs?: number;
  batchSize?: number;
  concurrency?: number;
  pollMs?: number;
  log?: (line: string) => void;
}

export interface BatchResult {
  sent: number;
  retrying: number;
  dead: number;
}

interface ClaimedRow {
  id: string;
  recipients: string;
  subject: string;
  html: string | null;
  text: string | null;
  delivery_key: string | null;
  attempts: number;
}

type Outcome = { id: string; ok: true } | { id: string; ok: false; error: string; permanent: boolean; attempts: number };

/** min(cap, base·2^(attempt−1)), scaled by a random factor in [0.5, 1): spreads retries out. */
export function backoffDelay(attempt: number, random: () => number, baseMs: number, capMs: number): number {
  const exponential = Math.min(capMs, baseMs * 2 ** (attempt - 1));
  return Math.round(exponential * (0.5 + random() * 0.5));
}

export class OutboxWorker {
  private readonly random: () => number;
  private readonly maxAttempts: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly leaseMs: number;
  private readonly batchSize: number;
  private readonly concurrency: number;
  private readonly pollMs: number;
  private readonly loop: Loop;

  constructor(private readonly options: OutboxWorkerOptions) {
    this.random = options.random ?? Math.random;
    this.maxAttempts = options.maxAttempts ?? 8;
    this.baseDelayMs = options.baseDelayMs ?? 1_000;
    this.maxDelayMs = options.maxDelayMs ?? 5 * 60_000;
    this.leaseMs = options.leaseMs ?? 60_000;
    this.batchSize = options.batchSize ?? 100;
    this.concurrency = options.concurrency ?? 10;
    this.pollMs = options.pollMs ?? 250;
    this.loop = new Loop(
      options.clock,
      async () => {
        await this.drain();
        return this.pollMs;
      },
      (error) => options.log?.(`outbox: delivery failed: ${error.message}`),
    );
  }

  /** Claims up to a batch of due rows (queued, failed and due, or with an expired lease). */
  private claim(): Promise<ClaimedRow[]> {
    const now = this.options.clock.now();
    return this.options.connections.withWriter(
      (store) =>
        store
          .prepare(
            `UPDATE _valet_outbox SET status = 'sending', attempts = attempts + 1, lease_expires_at = ?
             WHERE id IN (SELECT id FROM _valet_outbox
                          WHERE (status IN ('queued', 'failed') AND next_attempt_at <= ?) OR (status = 'sending' AND lease_expires_at <= ?)
                          ORDER BY next_attempt_at LIMIT ?)
             RETURNING id, recipients, subject, html, text, delivery_key, attempts`,
          )
          .all(now + this.leaseMs, now, now, this.batchSize) as ClaimedRow[],
    );
  }

  private async send(row: ClaimedRow): Promise<Outcome> {
    const email: OutgoingEmail = { id: row.id, to: JSON.parse(row.recipients), subject: row.subject, html: row.html, text: row.text, deliveryKey: row.delivery_key };
    try {
      await this.options.transport.send(email);
      return { id: row.id, ok: true };
    } catch (error) {
      return { id: row.id, ok: false, error: (error as Error)?.message ?? String(error), permanent: error instanceof PermanentDeliveryError, attempts: row.attempts };
    }
  }

  private record(outcomes: Outcome[]): Promise<BatchResult> {
    const now = this.options.clock.now();
    return this.options.connections.inWriteTransaction(async (store) => {
      const result: BatchResult = { sent: 0, retrying: 0, dead: 0 };
      const sent = store.prepare("UPDATE _valet_outbox SET status = 'sent', sent_at = ?, lease_expires_at = NULL, last_error = NULL WHERE id = ? AND status = 'sending'");
      const failed = store.prepare('UPDATE _valet_outbox SET status = ?, next_attempt_at = ?, lease_expires_at = NULL, last_error = ? WHERE id = ? AND status = \'sending\'');
      for (const outcome of outcomes) {
        if (outcome.ok) {
          sent.run(now, outcome.id);
          result.sent++;
        } else if (outcome.permanent || outcome.attempts >= this.maxAttempts) {
          failed.run('dead', now, outcome.error, outcome.id);
          result.dead++;
        } else {
          failed.run('failed', now + backoffDelay(outcome.attempts, this.random, this.baseDelayMs, this.maxDelayMs), outcome.error, outcome.id);
          result.retrying++;
        }
      }
      return result;
    });
  }

  /** One batch: claim, send with bounded concurrency, record. */
  async runOnce(): Promise<BatchResult & { claimed: number }> {
    const rows = await this.claim();
    const outcomes: Outcome[] = [];
    let next = 0;
    const lane = async () => {
      while (next < rows.length) outcomes.push(await this.send(rows[next++]!));
    };
    await Promise.all(Array.from({ length: Math.min(this.concurrency, rows.length) }, lane));
    const result = rows.length ? await this.record(outcomes) : { sent: 0, retrying: 0, dead: 0 };
    return { ...result, claimed: rows.length };
  }

  /** Runs batches until nothing is due right now. */
  async drain(): Promise<BatchResult> {
    const total: BatchResult = { sent: 0, retrying: 0, dead: 0 };
    for (;;) {
      const batch = await this.runOnce();
      total.sent += batch.sent;
      total.retrying += batch.retrying;
      total.dead += batch.dead;
      if (batch.claimed < this.batchSize) return total;
    }
  }

  start(): void {
    this.loop.start();
  }

  /** Something was enqueued: deliver soon instead of at the next poll. */
  wake(): void {
    this.loop.wake();
  }

  async stop(): Promise<void> {
    await this.loop.stop();
    await this.options.transport.close();
  }
}
