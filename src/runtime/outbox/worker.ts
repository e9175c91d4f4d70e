// The delivery worker, for email and push alike: claims due rows with a lease, sends each on its
// own lane (email by SMTP or the capture, push by web-push), records each outcome — and each
// attempt, in _valet_outbox_attempts — as soon as it is known. A message that hangs (a silent SMTP server) holds one lane until
// its send timeout, never the rest of the queue. A row whose lease expired (the process died
// mid-send) is claimed again, so nothing committed is lost and delivery is at-least-once.
// Failures back off exponentially with jitter up to a cap, then the row is dead-lettered. Time and
// randomness are injected. The claim's attempt number fences the outcome (claims/fence.ts): a
// worker whose lease ran out and whose row another took over records nothing; and the outcome is
// recorded through storage faults (claims/lasting-write.ts), since an unrecorded send is resent.
import { LastingWrites } from '../claims/lasting-write.js';
import type { Clock } from '../clock.js';
import type { Connections } from '../connections/types.js';
import { Loop } from '../loop.js';
import { capturePushTransport, pushPayloadText, retryAfterMs } from './push-transport.js';
import type { OutgoingPush, PushOutcome, PushTransport } from './push-transport.js';
import type { EmailTransport, OutgoingEmail } from './transports.js';
import { PermanentDeliveryError } from './transports.js';

export interface OutboxWorkerOptions {
  connections: Connections;
  transport: EmailTransport;
  /** Where push messages go (the capture when not given). */
  pushTransport?: PushTransport;
  clock: Clock;
  random?: () => number;
  maxAttempts?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** How long a claimed row stays reserved before another worker may take it over. */
  leaseMs?: number;
  /** How long one send may take before it counts as failed (and is retried later). */
  sendTimeoutMs?: number;
  batchSize?: number;
  /** Sends in flight at once. */
  concurrency?: number;
  pollMs?: number;
  log?: (line: string) => void;
  /** The instance claiming (runtime/instances.ts), recorded on each row it sends. */
  instance?: string | null;
  /** Where outcomes are recorded until they land (one of its own when not given). */
  lasting?: LastingWrites;
  /** Told when a row was taken over by another worker before this one recorded its outcome. */
  onLostClaim?: (label: string) => void;
  /** Told of each send attempt (tracing makes a span of it under the call that enqueued it). */
  onSend?: (send: OutboxSend) => void;
}

/** One attempt at delivering one message, for tracing. */
export interface OutboxSend {
  id: string;
  channel: 'email' | 'push';
  /** The call that enqueued it (`<call id> <root id>`), when a call did. */
  causedBy: string | null;
  attempt: number;
  startedAt: number;
  durationMs: number;
  status: string;
  error: string | null;
}

export interface BatchResult {
  sent: number;
  retrying: number;
  dead: number;
  /** Push: the subscription is gone (404/410). */
  undeliverable: number;
  /** Push: sent, then no answer; not resent. */
  maybeDelivered: number;
}

interface ClaimedRow {
  id: string;
  channel: 'email' | 'push';
  recipients: string;
  subject: string;
  html: string | null;
  text: string | null;
  payload: string | null;
  subscription_id: string | null;
  delivery_key: string | null;
  attempts: number;
  caused_by: string | null;
}

type Verdict = keyof BatchResult;

/** How one attempt ended, as the row records it. */
interface Recorded {
  verdict: Verdict;
  status: 'sent' | 'failed' | 'dead' | 'unable_to_deliver' | 'maybe_delivered';
  /** For failed: when to try again. */
  nextAt: number;
  error: string | null;
  /** The attempt's line in _valet_outbox_attempts. */
  outcome: string;
  detail: string | null;
}

/** A 429's Retry-After is honoured, within reason. */
const MAX_RETRY_AFTER_MS = 60 * 60_000;

/** min(cap, base·2^(attempt−1)), scaled by a random factor in [0.5, 1): spreads retries out. */
export function backoffDelay(attempt: number, random: () => number, baseMs: number, capMs: number): number {
  const exponential = Math.min(capMs, baseMs * 2 ** (attempt - 1));
  return Math.round(exponential * (0.5 + random() * 0.5));
}

const CAPTURE_PUSH = capturePushTransport(() => undefined);

class SendTimeout extends Error {
  constructor(ms: number) {
    super(`no answer from the mail server within ${ms} ms`);
    this.name = 'SendTimeout';
  }
}

export class OutboxWorker {
  private readonly random: () => number;
  private readonly maxAttempts: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly leaseMs: number;
  private readonly sendTimeoutMs: number;
  private readonly batchSize: number;
  private readonly concurrency: number;
  private readonly pollMs: number;
  private readonly loop: Loop;
  private readonly inFlight = new Set<Promise<Verdict>>();
  private readonly lasting: LastingWrites;
  /** A worker made on its own (tests) ends the retries of its records when it stops. */
  private readonly ownsLasting: boolean;

  constructor(private readonly options: OutboxWorkerOptions) {
    this.random = options.random ?? Math.random;
    this.maxAttempts = options.maxAttempts ?? 8;
    this.baseDelayMs = options.baseDelayMs ?? 1_000;
    this.maxDelayMs = options.maxDelayMs ?? 5 * 60_000;
    this.leaseMs = options.leaseMs ?? 60_000;
    this.sendTimeoutMs = options.sendTimeoutMs ?? 20_000;
    this.batchSize = options.batchSize ?? 100;
    this.concurrency = options.concurrency ?? 10;
    this.pollMs = options.pollMs ?? 250;
    this.ownsLasting = !options.lasting;
    this.lasting = options.lasting ?? new LastingWrites(options.clock, options.log ?? (() => undefined));
    this.loop = new Loop(
      options.clock,
      () => this.pump(),
      (error) => options.log?.(`outbox: delivery failed: ${error.message}`),
    );
  }

  /** Claims up to `limit` due rows (queued, failed and due, or with an expired lease). */
  private claim(limit: number): Promise<ClaimedRow[]> {
    const now = this.options.clock.now();
    // One statement; on PostgreSQL, rows another instance is claiming right now are skipped.
    return this.options.connections.inWriteTransaction(
      (store) =>
        store.sql.all<ClaimedRow>(
          `UPDATE _valet_outbox SET status = 'sending', attempts = attempts + 1, lease_expires_at = ?, instance = ?
           WHERE id IN (SELECT id FROM _valet_outbox
                        WHERE (status IN ('queued', 'failed') AND next_attempt_at <= ?) OR (status = 'sending' AND lease_expires_at <= ?)
                        ORDER BY next_attempt_at LIMIT ? ${store.dialect.skipLocked})
           RETURNING id, channel, recipients, subject, html, text, payload, subscription_id, delivery_key, attempts, caused_by`,
          [now + this.leaseMs, this.options.instance ?? null, now, now, limit],
        ),
      { readCommitted: true },
    );
  }

  /** The transport's send, or a SendTimeout once the time is up (the send itself may still finish; it is at-least-once). */
  private sendWithTimeout(email: OutgoingEmail): Promise<void> {
    const { clock } = this.options;
    let timer: unknown;
    const timeout = new Promise<never>((_, reject) => {
      timer = clock.setTimeout(() => reject(new SendTimeout(this.sendTimeoutMs)), this.sendTimeoutMs);
    });
    return Promise.race([this.options.transport.send(email), timeout]).finally(() => clock.clearTimeout(timer));
  }

  /** Sends one email; how it went. */
  private async sendEmail(row: ClaimedRow, now: () => number): Promise<Recorded> {
    const email: OutgoingEmail = {
      id: row.id,
      to: JSON.parse(row.recipients),
      subject: row.subject,
      html: row.html,
      text: row.text,
      deliveryKey: row.delivery_key,
    };
    try {
      await this.sendWithTimeout(email);
      return { verdict: 'sent', status: 'sent', nextAt: now(), error: null, outcome: 'sent', detail: null };
    } catch (error) {
      const message = (error as Error)?.message ?? String(error);
      return this.failed(row, now(), message, error instanceof PermanentDeliveryError, null);
    }
  }

  /** A failure: retried after the backoff (or `retryAt`), dead once permanent or out of attempts. */
  private failed(row: ClaimedRow, now: number, error: string, permanent: boolean, retryAt: number | null): Recorded {
    const dead = permanent || row.attempts >= this.maxAttempts;
    const nextAt = dead
      ? now
      : (retryAt ?? now + backoffDelay(row.attempts, this.random, this.baseDelayMs, this.maxDelayMs));
    return {
      verdict: dead ? 'dead' : 'retrying',
      status: dead ? 'dead' : 'failed',
      nextAt,
      error,
      outcome: dead ? 'dead' : 'failed',
      detail: error,
    };
  }

  /** Sends one push message to its subscription; how it went (a gone subscription is marked so). */
  private async sendPush(row: ClaimedRow, now: () => number): Promise<Recorded> {
    const subscription = await this.options.connections.autoCommit.sql.get<{
      endpoint: string;
      p256dh: string;
      auth: string;
      invalid_at: number | null;
      invalid_reason: string | null;
    }>('SELECT endpoint, p256dh, auth, invalid_at, invalid_reason FROM _valet_push_subscriptions WHERE id = ?', [
      row.subscription_id,
    ]);
    if (!subscription || subscription.invalid_at !== null) {
      const why = subscription
        ? `the subscription is no longer valid (${subscription.invalid_reason})`
        : 'the subscription was removed';
      return {
        verdict: 'undeliverable',
        status: 'unable_to_deliver',
        nextAt: now(),
        error: why,
        outcome: 'unable_to_deliver',
        detail: why,
      };
    }
    const stored = JSON.parse(row.payload ?? '{}') as {
      notification: Record<string, unknown>;
      ttl: number;
      urgency: string;
      topic: string | null;
    };
    const message: OutgoingPush = {
      id: row.id,
      subscription: { endpoint: subscription.endpoint, keys: { p256dh: subscription.p256dh, auth: subscription.auth } },
      payload: pushPayloadText(stored.notification, row.id, row.delivery_key),
      ttl: stored.ttl,
      urgency: stored.urgency,
      topic: stored.topic,
      deliveryKey: row.delivery_key,
    };
    let outcome: PushOutcome;
    try {
      outcome = await this.push.send(message);
    } catch (error) {
      outcome = { kind: 'retry', detail: (error as Error)?.message ?? String(error) };
    }
    const at = now();
    switch (outcome.kind) {
      case 'delivered':
        return { verdict: 'sent', status: 'sent', nextAt: at, error: null, outcome: 'sent', detail: outcome.detail };
      case 'gone':
        await this.options.connections.inWriteTransaction((store) =>
          store.sql.run(
            'UPDATE _valet_push_subscriptions SET invalid_at = ?, invalid_reason = ? WHERE id = ? AND invalid_at IS NULL',
            [at, `the push service answered ${outcome.detail}`, row.subscription_id],
          ),
        );
        return {
          verdict: 'undeliverable',
          status: 'unable_to_deliver',
          nextAt: at,
          error: `the subscription is gone: ${outcome.detail}`,
          outcome: 'unable_to_deliver',
          detail: outcome.detail,
        };
      case 'maybe':
        return {
          verdict: 'maybeDelivered',
          status: 'maybe_delivered',
          nextAt: at,
          error: outcome.detail,
          outcome: 'maybe_delivered',
          detail: outcome.detail,
        };
      case 'rejected':
        return this.failed(row, at, outcome.detail, true, null);
      case 'throttled': {
        const retryAfter = retryAfterMs(outcome.retryAfter, at);
        return {
          ...this.failed(
            row,
            at,
            outcome.detail,
            false,
            retryAfter === null ? null : at + Math.min(retryAfter, MAX_RETRY_AFTER_MS),
          ),
          outcome: 'throttled',
        };
      }
      case 'retry':
        return this.failed(row, at, outcome.detail, false, null);
    }
  }

  private get push(): PushTransport {
    return this.options.pushTransport ?? CAPTURE_PUSH;
  }

  /** Sends one row and records how it went, at once. */
  private async deliver(row: ClaimedRow): Promise<Verdict> {
    const now = () => this.options.clock.now();
    const startedAt = now();
    const started = performance.now();
    const result = row.channel === 'push' ? await this.sendPush(row, now) : await this.sendEmail(row, now);
    this.options.onSend?.({
      id: row.id,
      channel: row.channel,
      causedBy: row.caused_by,
      attempt: row.attempts,
      startedAt,
      durationMs: performance.now() - started,
      status: result.status,
      error: result.error,
    });
    const at = now();
    const label = `outbox message ${row.id}`;
    const claimed = "WHERE id = ? AND status = 'sending' AND attempts = ?";
    await this.lasting.land(label, () =>
      this.options.connections.inWriteTransaction(async (store) => {
        const { changes } =
          result.status === 'sent'
            ? await store.sql.run(
                `UPDATE _valet_outbox SET status = 'sent', sent_at = ?, lease_expires_at = NULL, last_error = NULL ${claimed}`,
                [at, row.id, row.attempts],
              )
            : await store.sql.run(
                `UPDATE _valet_outbox SET status = ?, next_attempt_at = ?, lease_expires_at = NULL, last_error = ? ${claimed}`,
                [result.status, result.nextAt, result.error, row.id, row.attempts],
              );
        if (changes === 0) {
          // Another worker took the row over after this one's lease ran out: its attempt is the one recorded.
          this.options.onLostClaim?.(label);
          return;
        }
        // Numbered per message, not by `attempts` (which a retry by hand resets), so history stays.
        await store.sql.run(
          'INSERT INTO _valet_outbox_attempts (outbox_id, attempt, at, outcome, detail) VALUES (?, (SELECT COALESCE(MAX(attempt), 0) + 1 FROM _valet_outbox_attempts WHERE outbox_id = ?), ?, ?, ?)',
          [row.id, row.id, at, result.outcome, result.detail],
        );
      }),
    ).done;
    return result.verdict;
  }

  private launch(row: ClaimedRow): Promise<Verdict> {
    const delivery = this.deliver(row);
    this.inFlight.add(delivery);
    void delivery
      .catch((error: Error) => this.options.log?.(`outbox: recording a delivery failed: ${error.message}`))
      .finally(() => {
        this.inFlight.delete(delivery);
        // A lane is free: take the next due row without waiting for the poll.
        this.loop.wake();
      });
    return delivery;
  }

  /** The background loop's round: fill the free lanes with due rows; never waits for a send. */
  private async pump(): Promise<number> {
    const free = this.concurrency - this.inFlight.size;
    if (free <= 0) return this.pollMs;
    const rows = await this.claim(Math.min(free, this.batchSize));
    // Not awaited: launch tracks each send in inFlight and logs its failure; pump only fills the lanes.
    for (const row of rows) void this.launch(row);
    return rows.length === free ? 0 : this.pollMs;
  }

  /** One batch, waited for: claim up to the batch size, send them concurrently (bounded), record each. */
  async runOnce(): Promise<BatchResult & { claimed: number }> {
    const rows = await this.claim(this.batchSize);
    const result: BatchResult = { sent: 0, retrying: 0, dead: 0, undeliverable: 0, maybeDelivered: 0 };
    let next = 0;
    const lane = async () => {
      while (next < rows.length) result[await this.deliver(rows[next++]!)]++;
    };
    await Promise.all(Array.from({ length: Math.min(this.concurrency, rows.length) }, lane));
    return { ...result, claimed: rows.length };
  }

  /** Runs batches until nothing is due right now. */
  async drain(): Promise<BatchResult> {
    const total: BatchResult = { sent: 0, retrying: 0, dead: 0, undeliverable: 0, maybeDelivered: 0 };
    for (;;) {
      const batch = await this.runOnce();
      for (const key of Object.keys(total) as Verdict[]) total[key] += batch[key];
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

  /** Stops claiming; sends in flight finish (each within its timeout) and are recorded. */
  async stop(): Promise<void> {
    await this.loop.stop();
    await Promise.allSettled([...this.inFlight]);
    if (this.ownsLasting) await this.lasting.close();
    await this.options.transport.close();
    await this.options.pushTransport?.close();
  }
}
