import { defineMutation, defineQuery, v } from './_generated/valet/api';

/** Anyone may list users: the demo page shows them before signing in. */
export const list = defineQuery({
  args: {},
  access: 'public',
  handler: async (ctx) => {
    return await ctx.db.query('users').order('desc').take(50);
  },
});

export const get = defineQuery({
  args: { userId: v.id('users') },
  handler: async (ctx, args) => {
    return await ctx.db.get(args.userId);
  },
});

export const byEmail = defineQuery({
  args: { email: v.string() },
  handler: async (ctx, args) => {
    return await ctx.db
      .query('users')
      .withIndex('by_email', (q) => q.eq('email', args.email))
      .unique();
  },
});

/** One transaction: the lookup and the insert see the same data. */
export const create = defineMutation({
  args: { email: v.string(), name: v.optional(v.string()) },
  handler: async (ctx, args) => {
    const existing = await ctx.db
      .query('users')
      .withIndex('by_email', (q) => q.eq('email', args.email))
      .first();
    if (existing) return existing._id;
    return await ctx.db.insert('users', { email: args.email, name: args.name });
  },
});

export const rename = defineMutation({
  args: { userId: v.id('users'), name: v.string() },
  handler: async (ctx, args) => {
    await ctx.db.patch(args.userId, { name: args.name });
  },
});
