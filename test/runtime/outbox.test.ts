// The email outbox: enqueue validation, the delivery worker's retries, backoff, dead letters and
// leases (with an injected clock and randomness), and real SMTP delivery.
import { waitUntil } from '../helpers/instances.js';
import { afterAll, describe, expect, it } from 'vitest';
import { listOutbox, retryEmails } from '../../src/runtime/outbox/store.js';
import { smtpTransport } from '../../src/runtime/outbox/transports.js';
import type { EmailTransport, OutgoingEmail } from '../../src/runtime/outbox/transports.js';
import { PermanentDeliveryError } from '../../src/runtime/outbox/transports.js';
import { backoffDelay, OutboxWorker } from '../../src/runtime/outbox/worker.js';
import { removeTempDirs } from '../helpers/apps.js';
import { engineFor, ManualClock } from '../helpers/engine.js';
import { startSmtpServer } from '../helpers/smtp.js';

afterAll(removeTempDirs);

/** A transport scripted by the test: each send takes the next outcome. */
type Outcome = 'ok' | 'fail' | 'permanent' | 'hang';

function scriptedTransport(outcomes: (Outcome | Promise<Outcome>)[]): EmailTransport & { sent: OutgoingEmail[] } {
  const sent: OutgoingEmail[] = [];
  return {
    name: 'scripted',
    sent,
    async send(email) {
      const outcome = await (outcomes.shift() ?? 'ok');
      if (outcome === 'hang') return new Promise(() => undefined);
      if (outcome === 'fail') throw new Error('connection refused');
      if (outcome === 'permanent') throw new PermanentDeliveryError('SMTP 550: no such user');
      sent.push(email);
    },
    async close() {},
  };
}

describe('ctx.email.enqueue', async () => {
  const { call } = await engineFor('engine-app');
  it.each([
    [{ to: 'not-an-address', subject: 'Hi' }, 'ctx.email.enqueue: to: "not-an-address" is not an email address'],
    [{ to: 'a@example.com', subject: '  ' }, 'ctx.email.enqueue: subject: a non-empty string is required'],
    [
      { to: 'a@example.com', subject: 'Line\r\nBcc: x@evil.example' },
      'ctx.email.enqueue: subject: must be one line (no line breaks)',
    ],
  ])('refuses %j with a clear error', async (args, message) => {
    expect(await call('mutation', 'jobs:badEmail', args)).toMatchObject({
      status: 400,
      body: { code: 'invalid_email', message },
    });
  });
});

describe('the delivery worker', () => {
  const setup = async (outcomes: Parameters<typeof scriptedTransport>[0], extra: object = {}) => {
    const clock = new ManualClock();
    const { value, engine } = await engineFor('engine-app', { clock });
    const transport = scriptedTransport(outcomes);
    const worker = new OutboxWorker({
      connections: engine.connections,
      transport,
      clock,
      random: () => 0.5,
      maxAttempts: 3,
      baseDelayMs: 1000,
      maxDelayMs: 60_000,
      ...extra,
    });
    const statuses = async () =>
      (await listOutbox(engine.connections.autoCommit.sql)).map((e) => [e.deliveryKey, e.status, e.attempts]);
    return { clock, value, engine, transport, worker, statuses };
  };

  it('backs off exponentially with jitter, up to the cap', () => {
    expect([1, 2, 3, 4].map((n) => backoffDelay(n, () => 0, 1000, 5000))).toEqual([500, 1000, 2000, 2500]);
    expect([1, 2, 3, 4].map((n) => backoffDelay(n, () => 0.999, 1000, 5000))).toEqual([1000, 1999, 3998, 4998]);
  });

  it('sends due emails and marks them sent', async () => {
    const { value, worker, transport, statuses } = await setup([]);
    await value('mutation', 'jobs:mailMany', { prefix: 'ok', count: 3 });
    expect(await worker.drain()).toEqual({ sent: 3, retrying: 0, dead: 0, undeliverable: 0, maybeDelivered: 0 });
    expect(transport.sent.map((e) => e.deliveryKey).sort()).toEqual(['ok-0', 'ok-1', 'ok-2']);
    expect((await statuses()).map(([, status]) => status)).toEqual(['sent', 'sent', 'sent']);
  });

  it('retries a failure after the backoff, then dead-letters it after the attempt limit', async () => {
    const { value, worker, clock, statuses, engine } = await setup(['fail', 'fail', 'fail']);
    await value('mutation', 'jobs:mailMany', { prefix: 'flaky', count: 1 });
    expect(await worker.runOnce()).toMatchObject({ retrying: 1 });
    expect(await statuses()).toEqual([['flaky-0', 'failed', 1]]);
    const [email] = await listOutbox(engine.connections.autoCommit.sql);
    expect(Date.parse(email!.nextAttemptAt) - clock.now()).toBe(750);
    expect((await worker.runOnce()).claimed).toBe(0);
    clock.advance(750);
    expect(await worker.runOnce()).toMatchObject({ retrying: 1 });
    clock.advance(1500);
    expect(await worker.runOnce()).toMatchObject({ dead: 1 });
    expect(await statuses()).toEqual([['flaky-0', 'dead', 3]]);
    expect((await listOutbox(engine.connections.autoCommit.sql))[0]!.lastError).toBe('connection refused');
  });

  it('dead-letters a permanent failure at once, and sends it after a retry', async () => {
    const { value, worker, statuses, engine, clock } = await setup(['permanent']);
    await value('mutation', 'jobs:mailMany', { prefix: 'perm', count: 1 });
    expect(await worker.runOnce()).toMatchObject({ dead: 1 });
    expect(await retryEmails(engine.connections.autoCommit.sql, { dead: true }, clock.now())).toHaveLength(1);
    expect(await worker.runOnce()).toMatchObject({ sent: 1 });
    expect(await statuses()).toEqual([['perm-0', 'sent', 1]]);
  });

  it('takes over a row whose lease expired (the sender died mid-send), so nothing is lost', async () => {
    const { value, engine, clock, transport, statuses } = await setup(['hang']);
    await value('mutation', 'jobs:mailMany', { prefix: 'lease', count: 1 });
    const crashed = new OutboxWorker({ connections: engine.connections, transport, clock, leaseMs: 10_000 });
    void crashed.runOnce();
    // The crashed sender has claimed the row (it hangs in the transport from then on).
    await waitUntil(async () => (await statuses())[0]?.[1] === 'sending', 30_000, 'the row to be claimed');
    expect(await statuses()).toEqual([['lease-0', 'sending', 1]]);
    const survivor = new OutboxWorker({ connections: engine.connections, transport, clock, leaseMs: 10_000 });
    expect((await survivor.runOnce()).claimed).toBe(0);
    clock.advance(10_000);
    expect(await survivor.runOnce()).toMatchObject({ sent: 1 });
    expect(await statuses()).toEqual([['lease-0', 'sent', 2]]);
  });

  it('refuses the outcome of a worker whose row was taken over: only the current attempt is recorded', async () => {
    let finishFirst!: (outcome: Outcome) => void;
    let finishSecond!: (outcome: Outcome) => void;
    const first = new Promise<Outcome>((resolve) => (finishFirst = resolve));
    const second = new Promise<Outcome>((resolve) => (finishSecond = resolve));
    const { value, engine, clock, transport, statuses } = await setup([first, second]);
    await value('mutation', 'jobs:mailMany', { prefix: 'fenced', count: 1 });
    const lost: string[] = [];
    const options = {
      connections: engine.connections,
      transport,
      clock,
      leaseMs: 10_000,
      onLostClaim: (label: string) => lost.push(label),
    };
    const paused = new OutboxWorker(options).runOnce();
    await expect.poll(statuses).toEqual([['fenced-0', 'sending', 1]]);
    clock.advance(10_000);
    const current = new OutboxWorker(options).runOnce();
    await expect.poll(statuses).toEqual([['fenced-0', 'sending', 2]]);
    // The paused worker wakes up, its send failed: it may not schedule a retry over the live attempt.
    finishFirst('fail');
    await paused;
    expect(lost).toEqual([expect.stringMatching(/^outbox message /)]);
    expect(await statuses()).toEqual([['fenced-0', 'sending', 2]]);
    finishSecond('ok');
    expect(await current).toMatchObject({ sent: 1 });
    expect(await statuses()).toEqual([['fenced-0', 'sent', 2]]);
    const [row] = await listOutbox(engine.connections.autoCommit.sql);
    const attempts = await engine.connections.autoCommit.sql.all<{ outcome: string }>(
      'SELECT outcome FROM _valet_outbox_attempts WHERE outbox_id = ?',
      [row!.id],
    );
    expect(attempts.map((a) => a.outcome)).toEqual(['sent']);
  });
});

describe('SMTP delivery against a real SMTP server', async () => {
  const smtp = await startSmtpServer();
  afterAll(() => smtp.close());
  const clock = new ManualClock();
  const { value, engine } = await engineFor('engine-app', { clock });
  const transport = await smtpTransport({ url: smtp.url, from: 'Valet <valet@example.com>' });
  const worker = new OutboxWorker({ connections: engine.connections, transport, clock, random: () => 0.5 });
  const status = async (key: string) =>
    (await listOutbox(engine.connections.autoCommit.sql, { limit: 500 })).find((e) => e.deliveryKey === key)!;
  afterAll(() => transport.close());

  it('delivers with the delivery key in a header and the Message-ID', async () => {
    await value('mutation', 'jobs:mailMany', { prefix: 'smtp', count: 5, to: 'reader@example.com' });
    expect(await worker.drain()).toMatchObject({ sent: 5 });
    expect(smtp.received.map((m) => m.deliveryKey).sort()).toEqual(['smtp-0', 'smtp-1', 'smtp-2', 'smtp-3', 'smtp-4']);
    expect(smtp.received[0]).toMatchObject({
      to: ['reader@example.com'],
      messageId: expect.stringMatching(/^<smtp-\d@valet\.outbox>$/),
    });
  });

  it('dead-letters a message the server rejects permanently (5xx)', async () => {
    smtp.mode = { kind: 'reject', code: 550 };
    await value('mutation', 'jobs:mailMany', { prefix: 'rejected', count: 1 });
    expect(await worker.drain()).toMatchObject({ dead: 1 });
    expect(await status('rejected-0')).toMatchObject({ status: 'dead', lastError: expect.stringContaining('550') });
  });

  it('retries after a temporary rejection (4xx) or a dropped connection, then delivers', async () => {
    smtp.mode = { kind: 'reject', code: 451 };
    await value('mutation', 'jobs:mailMany', { prefix: 'later', count: 1 });
    expect(await worker.drain()).toMatchObject({ retrying: 1 });
    smtp.mode = { kind: 'drop' };
    clock.advance(60_000);
    expect(await worker.drain()).toMatchObject({ retrying: 1 });
    expect(await status('later-0')).toMatchObject({ status: 'failed', attempts: 2 });
    smtp.mode = { kind: 'accept' };
    clock.advance(60_000);
    expect(await worker.drain()).toMatchObject({ sent: 1 });
    expect(smtp.received.some((m) => m.deliveryKey === 'later-0')).toBe(true);
  });
});

describe('a message the SMTP server never answers', async () => {
  const smtp = await startSmtpServer();
  afterAll(() => smtp.close());
  const { value, engine } = await engineFor('engine-app', {
    background: true,
    emailTransport: await smtpTransport({ url: smtp.url, from: 'Valet <valet@example.com>' }),
    outbox: { sendTimeoutMs: 1500, random: () => 0.5 },
  });
  afterAll(() => engine.close());
  const status = async (key: string) =>
    (await listOutbox(engine.connections.autoCommit.sql, { limit: 500 })).find((e) => e.deliveryKey === key)!;

  it('does not hold other due email back, and is retried after its send timeout', async () => {
    smtp.silentFor.add('silent@example.com');
    await value('mutation', 'jobs:mailMany', { prefix: 'stuck', count: 1, to: 'silent@example.com' });
    // The stuck message is being sent (claimed) before the others are even written.
    await waitUntil(async () => (await status('stuck-0'))?.status === 'sending', 30_000, 'the stuck send to start');
    await value('mutation', 'jobs:mailMany', { prefix: 'fine', count: 5 });
    await expect
      .poll(() => smtp.received.filter((m) => m.deliveryKey?.startsWith('fine-')).length, {
        timeout: 5000,
        interval: 20,
      })
      .toBe(5);
    // Delivered while the stuck one still waits for its answer.
    expect((await status('stuck-0')).status).toBe('sending');
    await expect.poll(async () => (await status('stuck-0')).status, { timeout: 5000, interval: 50 }).toBe('failed');
    expect((await status('stuck-0')).lastError).toContain('no answer from the mail server within 1500 ms');
  });
});
