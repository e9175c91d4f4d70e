import { defineSchema, defineTable, v } from './_generated/valet/api';

export default defineSchema({
  users: defineTable({
    email: v.string(),
    name: v.optional(v.string()),
    bio: v.optional(v.union(v.string(), v.null())),
  }).index('by_email', ['email']),
});
