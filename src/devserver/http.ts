// The HTTP face of an engine, on node:http directly (the hot path avoids Request/Response
// objects): /api/{query,mutation,action}, /api/health, and the admin endpoints.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FunctionKind } from '../server/functions.js';
import { sameSecret } from '../runtime/dev-keys.js';
import type { Engine } from '../runtime/engine.js';
import { EngineError } from '../runtime/errors.js';
import { parseActAs } from '../runtime/invoker.js';
import { routeAdmin } from './admin.js';

const MAX_BODY_BYTES = 4 * 1024 * 1024;
const KINDS = new Set<FunctionKind>(['query', 'mutation', 'action']);
const CORS_HEADERS = {
  'access-control-allow-origin': '*',
  'access-control-allow-headers': 'authorization, content-type, idempotency-key',
  'access-control-allow-methods': 'GET, POST, OPTIONS',
  'access-control-expose-headers': 'valet-invocation-id, idempotent-replayed',
};

export interface HttpContext {
  /** Null until the first good build of a dev server (requests then get 503 with `notReadyReason`). */
  engine: Engine | null;
  /** The admin key (from .valet/); admin endpoints and admin calls need it. */
  adminKey: string;
  notReadyReason?: string;
  /** Only under `valet dev`: signs a dev token for a user id (POST /api/dev/token), so a page can sign in. */
  devToken?: (userId: string) => Promise<string>;
}

export function engineOf(context: HttpContext): Engine {
  if (context.engine) return context.engine;
  throw new EngineError('app_not_ready', 503, context.notReadyReason ?? 'the app is not built yet');
}

const JSON_TYPE = ['content-type', 'application/json; charset=utf-8'];
const WITH_CORS = [...JSON_TYPE, ...Object.entries(CORS_HEADERS).flat()];

/**
 * Writes a JSON response, headers as one flat array (the cheapest form for node:http). CORS
 * headers go only to browsers, which always send Origin on a cross-origin request.
 */
export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const payload = JSON.stringify(body);
  const raw = [...(res.req?.headers.origin ? WITH_CORS : JSON_TYPE), 'content-length', String(Buffer.byteLength(payload))];
  for (const name in headers) raw.push(name, headers[name]!);
  res.writeHead(status, raw);
  res.end(payload);
}

function sendError(res: ServerResponse, error: EngineError): void {
  sendJson(res, error.status, error.toJSON());
}

export function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new EngineError('request_too_large', 413, `the request body is larger than ${MAX_BODY_BYTES} bytes`));
        req.destroy();
      } else chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function parseCall(text: string): { path: string; args: unknown } {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new EngineError('invalid_request', 400, 'the request body must be JSON: { "path": "module:function", "args": { ... } }');
  }
  const { path, args } = (body ?? {}) as { path?: unknown; args?: unknown };
  if (typeof path !== 'string' || !/^[\w$/-]+:[\w$]+$/.test(path)) {
    throw new EngineError('invalid_request', 400, 'path must be a function path such as "users:get"');
  }
  return { path, args };
}

/** Admin callers (CLI, admin page) act as the invoker they name; everyone else is who their token says. */
async function invokerFor(context: HttpContext, req: IncomingMessage) {
  const adminKey = req.headers['x-valet-admin-key'];
  if (typeof adminKey === 'string') {
    if (!sameSecret(adminKey, context.adminKey)) throw new EngineError('admin_key_invalid', 401, 'the admin key is not this server\'s (see .valet/admin-key)');
    const invoker = parseActAs(req.headers['x-valet-as'] as string | undefined);
    if (!invoker) throw new EngineError('invalid_request', 400, 'X-Valet-As must be system, anonymous or user:<id>');
    return { invoker, external: false };
  }
  return { invoker: await engineOf(context).authenticate(req.headers.authorization), external: true };
}

export function isAdmin(context: HttpContext, req: IncomingMessage): boolean {
  const key = req.headers['x-valet-admin-key'];
  return typeof key === 'string' && sameSecret(key, context.adminKey);
}

async function handleCall(context: HttpContext, kind: FunctionKind, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const { path, args } = parseCall(await readBody(req));
  const { invoker, external } = await invokerFor(context, req);
  const key = req.headers['idempotency-key'];
  const response = await engineOf(context).call({ kind, path, args, invoker, external, idempotencyKey: typeof key === 'string' ? key : null });
  sendJson(res, response.status, response.body, response.headers);
}

/** /http/*: a web Request for the route, its Response written back. */
async function serveRoute(context: HttpContext, rawUrl: string, path: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const engine = engineOf(context);
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : value);
  }
  const hasBody = req.method !== 'GET' && req.method !== 'HEAD';
  const body = hasBody ? await readBody(req) : undefined;
  const request = new Request(new URL(rawUrl, `http://${req.headers.host ?? 'localhost'}`), { method: req.method, headers, body });
  const response = await engine.handleHttp(request, path);
  const payload = Buffer.from(await response.arrayBuffer());
  const raw: string[] = [];
  response.headers.forEach((value, name) => raw.push(name, value));
  if (!response.headers.has('content-length')) raw.push('content-length', String(payload.length));
  res.writeHead(response.status, raw);
  res.end(payload);
}

export function createRequestListener(context: HttpContext) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    const rawUrl = req.url ?? '/';
    const queryAt = rawUrl.indexOf('?');
    const pathname = queryAt === -1 ? rawUrl : rawUrl.slice(0, queryAt);
    const handle = async () => {
      if (req.method === 'OPTIONS') {
        res.writeHead(204, CORS_HEADERS);
        res.end();
        return;
      }
      // The hot path: /api/<kind> without building a URL object.
      const kind = pathname.startsWith('/api/') ? pathname.slice(5) : '';
      if (KINDS.has(kind as FunctionKind)) {
        if (req.method !== 'POST') throw new EngineError('method_not_allowed', 405, `use POST for ${pathname}`);
        return handleCall(context, kind as FunctionKind, req, res);
      }
      if (pathname === '/api/health') return sendJson(res, 200, { ok: true });
      if (pathname === '/api/dev/token' && context.devToken) {
        if (req.method !== 'POST') throw new EngineError('method_not_allowed', 405, 'use POST for /api/dev/token');
        const { userId } = JSON.parse((await readBody(req)) || '{}') as { userId?: unknown };
        if (typeof userId !== 'string' || !/^[\w.@+-]{1,64}$/.test(userId)) throw new EngineError('invalid_request', 400, 'userId must be 1 to 64 letters, digits or ._@+-');
        return sendJson(res, 200, { token: await context.devToken(userId) });
      }
      if (pathname === '/http' || pathname.startsWith('/http/')) return serveRoute(context, rawUrl, pathname.slice(5) || '/', req, res);
      if (pathname.startsWith('/admin/')) return routeAdmin(context, new URL(rawUrl, 'http://localhost'), req, res);
      throw new EngineError('not_found', 404, `nothing at ${pathname}`);
    };
    handle().catch((error: unknown) => {
      if (res.headersSent) return res.destroy();
      if (error instanceof EngineError) sendError(res, error);
      else sendError(res, new EngineError('internal_error', 500, 'the server failed to handle the request'));
    });
  };
}
