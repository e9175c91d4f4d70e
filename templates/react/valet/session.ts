// Who is signed in through valet/auth: their document of the users table (null for anyone else,
// such as a dev-token user).
import { getAuthUserId } from 'valet/auth';
import { defineQuery } from './_generated/valet/api';

export const viewer = defineQuery({
  access: 'public',
  handler: async (ctx) => {
    const userId = await getAuthUserId(ctx);
    return userId ? ctx.db.get(userId) : null;
  },
});
