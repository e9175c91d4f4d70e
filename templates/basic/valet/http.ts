import { api, httpAction, httpRouter, verifyWebhookSignature } from './_generated/valet/api';

// Served under /http/: GET /http/health and POST /http/webhooks/purchase.
export default httpRouter()
  .route({
    path: '/health',
    method: 'GET',
    handler: httpAction(async (ctx) => {
      const anyUser = await ctx.db.query('users').first();
      return Response.json({ ok: true, hasUsers: anyUser !== null });
    }),
  })
  .route({
    path: '/webhooks/purchase',
    method: 'POST',
    handler: httpAction(async (ctx, request) => {
      const secret = process.env.PURCHASE_WEBHOOK_SECRET;
      if (!secret) return new Response('set PURCHASE_WEBHOOK_SECRET to accept purchase webhooks', { status: 503 });
      // 1. Verify the signature first: nothing else happens for an unsigned request.
      const payload = await request.text();
      const verdict = await verifyWebhookSignature({ payload, header: request.headers.get('valet-signature'), secret });
      if (!verdict.ok) return new Response(`invalid signature (${verdict.reason})`, { status: 400 });
      // 2. Hand off to a mutation: one transaction does all the database work.
      const event = JSON.parse(payload) as { id: string; item: string; amountCents: number };
      await ctx.runMutation(api.purchases.recordPaid, {
        externalId: event.id,
        item: event.item,
        amountCents: event.amountCents,
      });
      return new Response(null, { status: 204 });
    }),
  });
