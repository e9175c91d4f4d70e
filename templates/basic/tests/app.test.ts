// Tests of this app's functions, on Valet's real engine in this process (valet/testing): a fresh
// database per valetTest(), time that moves when the test says, email and fetch that never leave
// the process. Run them with `npm test`.
import { afterEach, expect, it } from 'vitest';
import { user, valetTest } from 'valet/testing';
import type { ValetTest } from 'valet/testing';
import { api } from '../valet/_generated/valet/api';

let t: ValetTest;
afterEach(() => t?.close());

it('records a purchase, and the scheduled action it starts calls out', async () => {
  process.env.PURCHASE_NOTIFY_URL = 'https://ntfy.example/my-shop';
  t = await valetTest();
  const sent: string[] = [];
  t.fetch.on('POST https://ntfy.example/my-shop', async (request) => {
    sent.push(await request.text());
    return new Response('ok');
  });

  const purchaseId = await t.as(user('ada')).mutation(api.purchases.record, { item: 'book', amountCents: 1200 });
  expect(sent).toEqual([]); // scheduled by the mutation, not run yet

  await t.finishScheduled();
  expect(sent).toEqual(['New purchase: book (12)']);
  expect(await t.run(async (ctx) => (await ctx.db.get(purchaseId))?.notified)).toBe(true);
});

it("pushes to the buyer's browsers and emails a receipt, in the purchase's transaction", async () => {
  t = await valetTest();
  const ada = t.as(user('ada'));
  // What registerPush() in a page sends: the browser's subscription (here, a made-up one).
  const subscription = {
    endpoint: 'https://push.example/send/ada-laptop',
    keys: {
      p256dh: 'BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM',
      auth: 'tBHItJI5svbpez7KI4CCXg',
    },
  };
  await ada.mutation(api.push.register, { subscription });

  await ada.mutation(api.purchases.record, { item: 'lamp', amountCents: 4500, receiptEmail: 'ada@example.com' });
  expect(t.pushes()).toEqual([
    expect.objectContaining({
      userId: 'ada',
      endpoint: subscription.endpoint,
      notification: expect.objectContaining({ title: 'Thanks for your purchase', body: 'lamp, $45.00' }),
      status: 'sent',
    }),
  ]);
  expect(t.outbox()).toEqual([expect.objectContaining({ to: ['ada@example.com'], subject: 'Your receipt: lamp' })]);
});

it('sends a welcome email through the outbox', async () => {
  t = await valetTest();
  const ada = t.as(user('ada'));
  const userId = await ada.mutation(api.users.create, { email: 'ada@example.com', name: 'Ada' });
  expect(await ada.action(api.actions.sendWelcomeEmail, { userId })).toEqual({ accepted: true });
  expect(t.outbox()).toEqual([
    expect.objectContaining({
      to: ['ada@example.com'],
      subject: 'Welcome to Valet',
      html: '<h1>Hello Ada</h1>',
      status: 'sent',
    }),
  ]);
});

it('keeps system functions away from users, and signed-in ones from guests', async () => {
  t = await valetTest();
  await expect(t.as(user('ada')).action(api.digest.sendDaily, {})).rejects.toMatchObject({
    code: 'function_not_found',
  });
  expect(await t.asSystem().action(api.digest.sendDaily, {})).toEqual({ queued: 0 });
  await expect(t.mutation(api.users.create, { email: 'guest@example.com' })).rejects.toMatchObject({
    code: 'unauthenticated',
    status: 401,
  });
});
