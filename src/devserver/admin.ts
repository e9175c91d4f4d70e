// /admin/*: inspection over HTTP for the CLI and the admin page; every route needs the admin key.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { EngineError } from '../runtime/errors.js';
import { getInvocation, listInvocations } from '../runtime/invocations.js';
import type { InvocationStatus } from '../runtime/invocations.js';
import type { HttpContext } from './http.js';
import { engineOf, isAdmin, sendJson } from './http.js';

const STATUSES = new Set(['running', 'succeeded', 'failed', 'timeout']);

export async function routeAdmin(context: HttpContext, url: URL, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (!isAdmin(context, req)) throw new EngineError('admin_key_invalid', 401, 'admin endpoints need X-Valet-Admin-Key (see .valet/admin-key)');
  if (req.method !== 'GET') throw new EngineError('method_not_allowed', 405, `use GET for ${url.pathname}`);
  const db = engineOf(context).connections.autoCommitReader.db;
  if (url.pathname === '/admin/invocations') {
    const status = url.searchParams.get('status');
    if (status && !STATUSES.has(status)) throw new EngineError('invalid_request', 400, `status must be one of ${[...STATUSES].join(', ')}`);
    const limit = Number(url.searchParams.get('limit') ?? 50);
    return sendJson(res, 200, {
      invocations: listInvocations(db, { function: url.searchParams.get('function') ?? undefined, status: (status as InvocationStatus) ?? undefined, limit }),
    });
  }
  const one = /^\/admin\/invocations\/([\w-]+)$/.exec(url.pathname);
  if (one) {
    const invocation = getInvocation(db, one[1]!);
    if (!invocation) throw new EngineError('not_found', 404, `no invocation ${one[1]}`);
    return sendJson(res, 200, invocation);
  }
  throw new EngineError('not_found', 404, `nothing at ${url.pathname}`);
}
