// /admin/auth/sessions: valet/auth's sessions for the dashboard (GET ?user=&limit=), and revoking
// one or all of a user's (POST /admin/auth/sessions/revoke { id } | { userId }). Never a token.
import { listSessions, sessionView } from '../runtime/auth/signin/store.js';
import { EngineError } from '../runtime/errors.js';
import { engineOf, jsonReply, parseJsonBody, requireJson } from './respond.js';
import type { HttpContext, HttpReply, HttpRequest } from './types.js';

export async function routeAdminAuth(context: HttpContext, request: HttpRequest, url: URL): Promise<HttpReply | null> {
  const path = url.pathname;
  if (path === '/admin/auth/sessions' && request.method === 'GET') {
    const engine = engineOf(context);
    const limit = Number(url.searchParams.get('limit') ?? 100);
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000)
      throw new EngineError('invalid_request', `${path}: limit must be a whole number from 1 to 1000`);
    const userId = url.searchParams.get('user') || undefined;
    const rows = await listSessions(engine.connections.autoCommit.sql, { userId, limit });
    const now = engine.now();
    return jsonReply(200, {
      enabled: engine.registry.valetAuth !== null,
      sessions: rows.map((r) => sessionView(r, now)),
    });
  }
  if (path !== '/admin/auth/sessions/revoke') return null;
  if (request.method !== 'POST') throw new EngineError('method_not_allowed', `use POST for ${path}`);
  requireJson(request.headers['content-type'], path);
  const body = parseJsonBody((await request.readBody()).toString('utf8'), path);
  const engine = engineOf(context);
  if (typeof body.id === 'string' && body.id !== '')
    return jsonReply(200, { revoked: (await engine.valetAuth.service.revokeSession(body.id)) ? 1 : 0 });
  if (typeof body.userId === 'string' && body.userId !== '') {
    return jsonReply(200, { revoked: await engine.valetAuth.service.revokeUser(body.userId) });
  }
  throw new EngineError('invalid_request', `${path}: give { "id": session } or { "userId": user }`);
}
