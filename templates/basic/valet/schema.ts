import { defineSchema, defineTable, v } from './_generated/valet/api';

export default defineSchema({
  users: defineTable({
    email: v.string(),
    name: v.optional(v.string()),
    bio: v.optional(v.union(v.string(), v.null())),
  }).index('by_email', ['email']),
  purchases: defineTable({
    item: v.string(),
    amountCents: v.number(),
    notified: v.boolean(),
    /** Who bought it (the signed-in user), when it came from the app rather than the webhook. */
    buyer: v.optional(v.string()),
    /** The payment provider's id, when the purchase came in through the webhook. */
    externalId: v.optional(v.string()),
  }).index('by_external_id', ['externalId']),
});
