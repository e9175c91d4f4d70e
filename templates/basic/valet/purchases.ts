import { api, defineAction, defineMutation, v } from './_generated/valet/api';
import type { MutationCtx } from 'valet/server';
import type { DataModel } from './_generated/valet/api';

// The pattern from Convex's advice on actions: the client calls a mutation that records the
// intent and schedules a `system` action to do the calling out. The action cannot be called
// from outside, and the purchase is recorded even if the third party is down.
// The buyer's push notification and receipt email are outbox rows written in the same
// transaction: they exist exactly when the purchase does, and the outbox worker delivers them.

const REVIEW_AFTER_MS = 3 * 24 * 3600 * 1000;

type Purchase = { item: string; amountCents: number; externalId?: string; buyer?: string; receiptEmail?: string };

async function recordPurchase(ctx: MutationCtx<DataModel>, { receiptEmail, ...purchase }: Purchase) {
  if (purchase.externalId) {
    // Webhooks are retried by their senders: the same event must not record twice.
    const existing = await ctx.db
      .query('purchases')
      .withIndex('by_external_id', (q) => q.eq('externalId', purchase.externalId))
      .first();
    if (existing) return existing._id;
  }
  const purchaseId = await ctx.db.insert('purchases', { ...purchase, notified: false });
  // Scheduled only if this mutation commits.
  await ctx.scheduler.runAfter(0, api.purchases.notify, { purchaseId });
  const price = `$${(purchase.amountCents / 100).toFixed(2)}`;
  if (purchase.buyer) {
    // Every browser the buyer registered (valet/push.ts); none yet is fine. The delivery key
    // makes a retried mutation enqueue it once.
    await ctx.push.enqueue({
      userId: purchase.buyer,
      notification: {
        title: 'Thanks for your purchase',
        body: `${purchase.item}, ${price}`,
        url: '/',
        data: { purchaseId },
      },
      deliveryKey: `purchase-${purchaseId}`,
    });
    // A follow-up in three days, stored until then (it survives restarts; cancel it with ctx.scheduler.cancel).
    await ctx.scheduler.runAfter(REVIEW_AFTER_MS, api.purchases.askForReview, { purchaseId });
  }
  if (receiptEmail) {
    await ctx.email.enqueue({
      to: receiptEmail,
      subject: `Your receipt: ${purchase.item}`,
      text: `You bought ${purchase.item} for ${price}.`,
      deliveryKey: `receipt-${purchaseId}`,
    });
  }
  return purchaseId;
}

/** What the app calls when a signed-in user buys something. */
export const record = defineMutation({
  args: { item: v.string(), amountCents: v.number(), receiptEmail: v.optional(v.string()) },
  handler: async (ctx, args) => {
    const buyer = ctx.invoker.type === 'user' ? ctx.invoker.userId : undefined;
    return recordPurchase(ctx, { ...args, buyer });
  },
});

/** What the payment webhook (valet/http.ts) hands off to, after checking the signature. */
export const recordPaid = defineMutation({
  args: { externalId: v.string(), item: v.string(), amountCents: v.number() },
  access: 'system',
  handler: async (ctx, args) => recordPurchase(ctx, args),
});

/** Three days after a purchase: asks the buyer how it went. Only the scheduler runs it. */
export const askForReview = defineMutation({
  args: { purchaseId: v.id('purchases') },
  access: 'system',
  handler: async (ctx, args) => {
    const purchase = await ctx.db.get(args.purchaseId);
    if (!purchase?.buyer) return null;
    await ctx.push.enqueue({
      userId: purchase.buyer,
      notification: { title: `How do you like your ${purchase.item}?`, url: '/' },
      deliveryKey: `review-${purchase._id}`,
    });
    return null;
  },
});

/** Calls out to PURCHASE_NOTIFY_URL (say, an ntfy.sh topic). Only the scheduler runs it. */
export const notify = defineAction({
  args: { purchaseId: v.id('purchases') },
  access: 'system',
  handler: async (ctx, args) => {
    const purchase = await ctx.db.get(args.purchaseId);
    if (!purchase || purchase.notified) return { notified: false };
    const url = process.env.PURCHASE_NOTIFY_URL;
    if (!url) {
      console.log(`purchase ${purchase._id}: set PURCHASE_NOTIFY_URL to be notified of purchases`);
      return { notified: false };
    }
    const response = await fetch(url, {
      method: 'POST',
      body: `New purchase: ${purchase.item} (${purchase.amountCents / 100})`,
    });
    if (!response.ok) throw new Error(`the notification endpoint answered ${response.status}`);
    await ctx.db.patch(purchase._id, { notified: true });
    return { notified: true };
  },
});
