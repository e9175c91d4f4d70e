import { defineAction, v } from './_generated/valet/api';

// The example from Valet's page on actions: server-only work that sends email.
export const sendWelcomeEmail = defineAction({
  args: { userId: v.id('users') },
  access: 'authenticated',
  handler: async (ctx, args) => {
    const user = await ctx.db.get(args.userId);
    if (!user) throw new Error('User not found');
    await ctx.email.enqueue({
      to: user.email,
      subject: 'Welcome to Valet',
      html: `<h1>Hello ${user.name ?? 'there'}</h1>`,
    });
    return { accepted: true };
  },
});

// Calls a third party first, then writes: fetch is allowed in actions and refused for private
// addresses. One write here, so no transaction is needed.
export const enrichProfile = defineAction({
  args: { github: v.string(), userId: v.id('users') },
  access: 'authenticated',
  handler: async (ctx, args) => {
    const response = await fetch(`https://api.github.com/users/${encodeURIComponent(args.github)}`, {
      headers: { Accept: 'application/json', 'User-Agent': 'valet-app' },
    });
    if (!response.ok) throw new Error(`GitHub returned ${response.status}`);
    const profile = (await response.json()) as { bio?: string | null };
    await ctx.db.patch(args.userId, { bio: profile.bio ?? null });
    return { updated: true };
  },
});
