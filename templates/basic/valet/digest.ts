import { defineAction } from './_generated/valet/api';

/** Runs from valet/crons.ts with a system invoker; clients cannot call it. */
export const sendDaily = defineAction({
  args: {},
  access: 'system',
  handler: async (ctx) => {
    const users = await ctx.db.query('users').collect();
    const day = new Date().toISOString().slice(0, 10);
    // One transaction for all enqueues: either every email is queued or none is.
    await ctx.db.transaction(async () => {
      for (const user of users) {
        await ctx.email.enqueue({
          to: user.email,
          subject: 'Your daily digest',
          text: `Hello ${user.name ?? 'there'}, here is what happened today.`,
          deliveryKey: `digest-${day}-${user._id}`,
        });
      }
    });
    return { queued: users.length };
  },
});
