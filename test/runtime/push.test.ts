// ctx.push against a real Web Push service on loopback (test/helpers/push-receiver.ts verifies the
// VAPID JWT and decrypts every body): subscribe → enqueue → deliver, with the transaction, and
// every answer a push service gives — 201, 404, 410, 413, 429 with Retry-After, 500, silence.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadOrCreateVapidKeys } from '../../src/project/keys.js';
import { systemResolver } from '../../src/runtime/fetch-guard/guard.js';
import { getOutboxEmail, listOutbox, listPushSubscriptions } from '../../src/runtime/outbox/store.js';
import { webPushTransport } from '../../src/runtime/outbox/push-transport.js';
import { removeTempDirs, tempDir } from '../helpers/apps.js';
import { engineFor, ManualClock } from '../helpers/engine.js';
import { startPushReceiver } from '../helpers/push-receiver.js';
import type { PushReceiver } from '../helpers/push-receiver.js';

let receiver: PushReceiver;
beforeAll(async () => {
  receiver = await startPushReceiver();
});
afterAll(async () => {
  await receiver.close();
  removeTempDirs();
});

describe('push', async () => {
  const clock = new ManualClock();
  const vapid = { ...loadOrCreateVapidKeys(tempDir()), subject: 'mailto:ops@example.com' };
  const pushTransport = webPushTransport({
    vapid,
    policy: { allowLoopback: true, resolve: systemResolver },
    sendTimeoutMs: 300,
  });
  const { engine, call, value } = await engineFor('engine-app', {
    clock,
    pushTransport,
    allowInsecurePushEndpoints: true,
    outbox: { random: () => 0.5, baseDelayMs: 1000, maxAttempts: 3 },
  });
  const sql = engine.connections.autoCommit.sql;
  const statusOf = async (id: string) => (await getOutboxEmail(sql, id))!;

  it('delivers a notification enqueued with a purchase, encrypted for the subscription and signed with VAPID', async () => {
    const browser = receiver.subscribe();
    await value('mutation', 'push:register', { subscription: browser, userId: 'buyer-1' });
    const [id] = await value('mutation', 'push:purchase', { userId: 'buyer-1', item: 'book', deliveryKey: 'order-1' });
    const drained = await engine.outbox.drain();
    expect(drained, (await statusOf(id)).lastError ?? '').toMatchObject({ sent: 1 });
    const [got] = receiver.received.slice(-1);
    expect(got!.payload).toEqual({
      title: 'Thanks for your purchase',
      body: 'book',
      url: '/orders/book',
      data: { item: 'book' },
      id,
      deliveryKey: expect.stringMatching(/^order-1:/),
    });
    expect(got).toMatchObject({
      ttl: '3600',
      urgency: 'high',
      topic: 'orders',
      claims: { aud: receiver.url, sub: 'mailto:ops@example.com' },
    });
    expect(receiver.rejected).toEqual([]);
    const detail = await statusOf(id);
    expect(detail).toMatchObject({
      channel: 'push',
      status: 'sent',
      attempts: 1,
      subscription: { userId: 'buyer-1', endpoint: browser.endpoint },
    });
    expect(detail.history).toEqual([expect.objectContaining({ attempt: 1, outcome: 'sent', detail: 'HTTP 201' })]);
  });

  it('writes nothing when the mutation rolls back, and nothing twice for one delivery key', async () => {
    await value('mutation', 'push:register', { subscription: receiver.subscribe(), userId: 'buyer-2' });
    expect((await call('mutation', 'push:purchase', { userId: 'buyer-2', item: 'lamp', fail: true })).status).toBe(500);
    expect(await listOutbox(sql, { channel: 'push', limit: 100 })).not.toContainEqual(
      expect.objectContaining({
        subject: 'Thanks for your purchase',
        source: 'mutation push:purchase',
        deliveryKey: expect.stringMatching(/^lamp/),
      }),
    );
    const first = await value('mutation', 'push:purchase', { userId: 'buyer-2', item: 'lamp', deliveryKey: 'order-2' });
    const again = await value('mutation', 'push:purchase', { userId: 'buyer-2', item: 'lamp', deliveryKey: 'order-2' });
    expect(again).toEqual(first);
    expect(await value('action', 'push:inTransaction', { userId: 'buyer-2', fail: true })).toBe('rolled back');
    expect(await value('action', 'push:inTransaction', { userId: 'buyer-2', fail: false })).toBe('committed');
    const keys = (await listOutbox(sql, { channel: 'push', limit: 100 })).map((m) => m.deliveryKey);
    expect(keys.filter((k) => k?.startsWith('tx-'))).toEqual([expect.stringMatching(/^tx-false:/)]);
    await engine.outbox.drain();
  });

  it('sends to every valid subscription of a user, and to a subscription given whole', async () => {
    const phone = receiver.subscribe();
    const laptop = receiver.subscribe();
    await value('mutation', 'push:register', { subscription: phone, userId: 'multi' });
    await value('mutation', 'push:register', { subscription: laptop, userId: 'multi' });
    // Registering again is idempotent per endpoint.
    await value('mutation', 'push:register', { subscription: phone, userId: 'multi' });
    expect(await value('mutation', 'push:many', { userId: 'multi', prefix: 'multi', count: 1 })).toBe(1);
    const direct = receiver.subscribe();
    expect(
      await value('action', 'push:direct', { subscription: direct, title: 'direct', data: { n: 1 } }),
    ).toHaveLength(1);
    await engine.outbox.drain();
    const ids = receiver.received
      .filter((r) => r.payload.title === 'Message 0' || r.payload.title === 'direct')
      .map((r) => r.subscription);
    expect(new Set(ids).size).toBe(3);
    expect(await listPushSubscriptions(sql, { userId: 'multi' })).toHaveLength(2);
  });

  it('marks a subscription gone on 404 or 410 and ends its message unable_to_deliver; later messages skip it', async () => {
    for (const status of [404, 410] as const) {
      const browser = receiver.subscribe();
      await value('mutation', 'push:register', { subscription: browser, userId: `gone-${status}` });
      receiver.answers.push({ status });
      await value('mutation', 'push:many', { userId: `gone-${status}`, prefix: `gone-${status}`, count: 1 });
      const id = (await listOutbox(sql, { channel: 'push', limit: 500 })).find((m) =>
        m.deliveryKey?.startsWith(`gone-${status}`),
      )?.id;
      expect(await engine.outbox.drain()).toMatchObject({ undeliverable: 1 });
      expect(await statusOf(id!)).toMatchObject({
        status: 'unable_to_deliver',
        lastError: expect.stringContaining(`HTTP ${status}`),
        subscription: { invalidAt: expect.any(String), invalidReason: expect.stringContaining(`HTTP ${status}`) },
      });
      // A user's later pushes no longer target it.
      expect(
        await value('mutation', 'push:many', { userId: `gone-${status}`, prefix: `after-${status}`, count: 1 }),
      ).toBe(1);
      expect(
        (await listOutbox(sql, { channel: 'push', limit: 500 })).filter((m) =>
          m.deliveryKey?.startsWith(`after-${status}`),
        ),
      ).toEqual([]);
    }
  });

  it('dead-letters a 413 (too large) at once, retries a 500, and honours Retry-After on a 429', async () => {
    await value('mutation', 'push:register', { subscription: receiver.subscribe(), userId: 'codes' });
    receiver.answers.push({ status: 413 });
    await value('mutation', 'push:many', { userId: 'codes', prefix: 'large', count: 1 });
    expect(await engine.outbox.drain()).toMatchObject({ dead: 1 });
    const large = (await listOutbox(sql, { channel: 'push', limit: 500 })).find((m) =>
      m.deliveryKey?.startsWith('large'),
    )!;
    expect(large).toMatchObject({ status: 'dead', attempts: 1, lastError: expect.stringContaining('HTTP 413') });

    receiver.answers.push({ status: 500 });
    await value('mutation', 'push:many', { userId: 'codes', prefix: 'flaky', count: 1 });
    expect(await engine.outbox.drain()).toMatchObject({ retrying: 1 });
    clock.advance(1000);
    expect(await engine.outbox.drain()).toMatchObject({ sent: 1 });
    const flaky = (await listOutbox(sql, { channel: 'push', limit: 500 })).find((m) =>
      m.deliveryKey?.startsWith('flaky'),
    )!;
    expect((await statusOf(flaky.id)).history.map((h) => h.outcome)).toEqual(['failed', 'sent']);

    receiver.answers.push({ status: 429, retryAfter: 120 });
    await value('mutation', 'push:many', { userId: 'codes', prefix: 'throttled', count: 1 });
    expect(await engine.outbox.drain()).toMatchObject({ retrying: 1 });
    const throttled = (await listOutbox(sql, { channel: 'push', limit: 500 })).find((m) =>
      m.deliveryKey?.startsWith('throttled'),
    )!;
    expect(Date.parse(throttled.nextAttemptAt) - clock.now()).toBe(120_000);
    clock.advance(60_000);
    expect(await engine.outbox.drain()).toMatchObject({ sent: 0 });
    clock.advance(60_000);
    expect(await engine.outbox.drain()).toMatchObject({ sent: 1 });
    expect((await statusOf(throttled.id)).history.map((h) => h.outcome)).toEqual(['throttled', 'sent']);
  });

  it('records a push that got no answer after it was sent as maybe_delivered, and does not resend it', async () => {
    await value('mutation', 'push:register', { subscription: receiver.subscribe(), userId: 'silent' });
    receiver.answers.push({ status: 'hang' });
    await value('mutation', 'push:many', { userId: 'silent', prefix: 'silent', count: 1 });
    expect(await engine.outbox.drain()).toMatchObject({ maybeDelivered: 1 });
    const silent = (await listOutbox(sql, { channel: 'push', limit: 500 })).find((m) =>
      m.deliveryKey?.startsWith('silent'),
    )!;
    expect(silent).toMatchObject({
      status: 'maybe_delivered',
      lastError: expect.stringContaining('no answer within 300 ms'),
    });
    clock.advance(24 * 3600_000);
    expect(await engine.outbox.drain()).toEqual({ sent: 0, retrying: 0, dead: 0, undeliverable: 0, maybeDelivered: 0 });
  });

  it('refuses bad subscriptions and notifications with 400 naming the field', async () => {
    const browser = receiver.subscribe();
    const bad = [
      [{ ...browser, endpoint: 'ftp://push.example.com/x' }, /endpoint: push services are https/],
      [{ ...browser, keys: { ...browser.keys, p256dh: 'short' } }, /keys.p256dh: expected a P-256 public key/],
      [{ ...browser, keys: { ...browser.keys, auth: 'AAAA' } }, /keys.auth: expected a 16-byte secret/],
    ] as const;
    for (const [subscription, message] of bad) {
      expect(await call('mutation', 'push:register', { subscription, userId: 'x' })).toMatchObject({
        status: 400,
        body: { code: 'invalid_push', message: expect.stringMatching(message) },
      });
    }
    expect(await call('mutation', 'push:register', { subscription: browser })).toMatchObject({
      status: 400,
      body: { message: expect.stringContaining('pass { userId }') },
    });
    const huge = await call('action', 'push:direct', { subscription: browser, title: 'big', data: 'x'.repeat(5000) });
    expect(huge).toMatchObject({
      status: 400,
      body: { message: expect.stringMatching(/a push carries at most 3993/) },
    });
  });

  it('counts the size of a notification in bytes, as the push service will', async () => {
    const browser = receiver.subscribe();
    // 1 990 characters either way; as UTF-8, "é" is two bytes and takes the payload past 3 993.
    expect(
      await call('action', 'push:direct', { subscription: browser, title: 'ascii', data: 'e'.repeat(1990) }),
    ).toMatchObject({ status: 200 });
    expect(
      await call('action', 'push:direct', { subscription: browser, title: 'accented', data: 'é'.repeat(1990) }),
    ).toMatchObject({
      status: 400,
      body: {
        code: 'invalid_push',
        message: expect.stringMatching(/is \d{4} bytes as JSON; a push carries at most 3993/),
      },
    });
    expect(await call('action', 'push:direct', { subscription: browser, title: '😀'.repeat(999) })).toMatchObject({
      status: 400,
    });
    await engine.outbox.drain();
    expect(receiver.rejected).toEqual([]);
  });

  it('refuses at subscribe a p256dh of the right length that is not a point on P-256', async () => {
    const browser = receiver.subscribe();
    const offCurve = Buffer.concat([Buffer.from([4]), Buffer.alloc(64, 1)]).toString('base64url');
    const compressedTag = Buffer.concat([
      Buffer.from([2]),
      Buffer.from(browser.keys.p256dh, 'base64url').subarray(1),
    ]).toString('base64url');
    for (const p256dh of [offCurve, compressedTag]) {
      expect(
        await call('mutation', 'push:register', {
          subscription: { ...browser, keys: { ...browser.keys, p256dh } },
          userId: 'curve',
        }),
      ).toMatchObject({
        status: 400,
        body: { code: 'invalid_push', message: expect.stringContaining('a point on the curve') },
      });
    }
  });

  it('ends at the first attempt a message that cannot be encrypted for its subscription (no retry can fix it)', async () => {
    const strict = webPushTransport({ vapid, policy: { allowLoopback: true, resolve: systemResolver } });
    const browser = receiver.subscribe();
    const before = receiver.received.length;
    const outcome = await strict.send({
      id: 'z',
      subscription: { ...browser, keys: { ...browser.keys, p256dh: Buffer.alloc(65, 1).toString('base64url') } },
      payload: '{}',
      ttl: 60,
      urgency: 'normal',
      topic: null,
      deliveryKey: null,
    });
    expect(outcome.kind).toBe('rejected');
    expect(receiver.received.length).toBe(before);
  });

  it('never sends to a private address a browser claims as its endpoint', async () => {
    const strict = webPushTransport({ vapid, policy: { allowLoopback: false, resolve: systemResolver } });
    const outcome = await strict.send({
      id: 'x',
      subscription: receiver.subscribe(),
      payload: '{}',
      ttl: 60,
      urgency: 'normal',
      topic: null,
      deliveryKey: null,
    });
    expect(outcome).toMatchObject({ kind: 'rejected', detail: expect.stringContaining('refused (loopback)') });
    const metadata = await strict.send({
      id: 'y',
      subscription: { ...receiver.subscribe(), endpoint: 'https://169.254.169.254/latest' },
      payload: '{}',
      ttl: 60,
      urgency: 'normal',
      topic: null,
      deliveryKey: null,
    });
    expect(metadata.kind).toBe('rejected');
  });
});
