import { httpAction, httpRouter } from './_generated/valet/api';

// Served under /http/: GET /http/health.
export default httpRouter().route({
  path: '/health',
  method: 'GET',
  handler: httpAction(async (ctx) => {
    const anyUser = await ctx.db.query('users').first();
    return Response.json({ ok: true, hasUsers: anyUser !== null });
  }),
});
