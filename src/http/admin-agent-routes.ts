// What `valet mcp` asks a running server beyond the dashboard's API: GET /admin/state (the
// server, its database, its build: the failing file:line and code frame of a broken save, type
// errors) and POST /admin/query (a one-off read-only query; only where the context allows it —
// `valet dev` and the MCP's own in-process server, never `valet start`).
import { EngineError } from '../runtime/errors.js';
import { jsonReply, parseJsonBody, requireJson } from './respond.js';
import type { HttpContext, HttpReply, HttpRequest } from './types.js';

export async function routeAdminAgent(
  context: HttpContext,
  request: HttpRequest,
  path: string,
): Promise<HttpReply | null> {
  if (path === '/admin/state' && request.method === 'GET') {
    const engine = context.engine;
    return jsonReply(200, {
      ready: engine !== null,
      notReadyReason: engine ? null : (context.notReadyReason ?? null),
      backend: engine?.connections.backend ?? null,
      functions: engine?.functionPaths().length ?? 0,
      oneOffQueries: context.oneOffQueries === true,
      build: context.dashboard?.state() ?? null,
    });
  }
  if (path !== '/admin/query') return null;
  if (request.method !== 'POST') throw new EngineError('method_not_allowed', 'use POST for /admin/query');
  if (!context.oneOffQueries)
    throw new EngineError(
      'not_found',
      'one-off queries run only under valet dev (or valet mcp with no server running), never on valet start',
    );
  requireJson(request.headers['content-type'], path);
  const body = parseJsonBody((await request.readBody()).toString('utf8'), path);
  const { source, timeoutMs, limit } = body as { source?: unknown; timeoutMs?: unknown; limit?: unknown };
  if (typeof source !== 'string')
    throw new EngineError('invalid_request', `${path}: give { "source": "<query body>" }`);
  for (const [name, value] of Object.entries({ timeoutMs, limit }))
    if (value !== undefined && (typeof value !== 'number' || !Number.isFinite(value)))
      throw new EngineError('invalid_request', `${path}: ${name} must be a number`);
  if (!context.engine) throw new EngineError('app_not_ready', context.notReadyReason ?? 'the app is not built yet');
  const result = await context.engine.runOneOffQuery(source, {
    timeoutMs: timeoutMs as number | undefined,
    rowLimit: limit as number | undefined,
  });
  return jsonReply(200, result);
}
