import { defineMutation, v } from './_generated/valet/api';

// Browsers' push subscriptions. A page calls `registerPush(client, api.push.register)` from
// `valet/client` (or `usePushRegistration` from `valet/react`): it asks for permission, subscribes
// with this server's public VAPID key and hands the subscription to this mutation. Mutations then
// send with `ctx.push.enqueue({ userId, notification })` (see purchases.ts).

const subscription = v.object({
  endpoint: v.string(),
  expirationTime: v.optional(v.union(v.number(), v.null())),
  keys: v.object({ p256dh: v.string(), auth: v.string() }),
});

/** Stores this browser's subscription for the signed-in user (again on every visit: idempotent). */
export const register = defineMutation({
  args: { subscription },
  handler: async (ctx, args) => {
    await ctx.push.subscribe(args.subscription);
    return null;
  },
});

/** Forgets a subscription, say when the user turns notifications off. */
export const unregister = defineMutation({
  args: { endpoint: v.string() },
  handler: async (ctx, args) => {
    await ctx.push.unsubscribe(args.endpoint);
    return null;
  },
});
