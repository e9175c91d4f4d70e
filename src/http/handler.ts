// The request handler of every Valet server, dev and start alike. In order: health checks
// answer anyone; the Host must be one this server answers to; a browser page's Origin must be
// allowed (the server's own for /admin/* and /_dashboard/*); then the route. Errors become the
// API's JSON errors; anything unexpected is a 500 logged with its stack. The node:http listener and the in-process
// `requestInProcess` (tests, like Hono's app.request()) share it.
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FunctionKind } from '../server/functions.js';
import { EngineError } from '../runtime/errors.js';
import { routeAdmin } from './admin-routes.js';
import { dashboardFavicon, routeDashboard, serveDashboardEvents, withSecurity } from './dashboard/routes.js';
import { routeAuth } from './auth-routes.js';
import { CALL_KINDS, handleCall, handleDevToken } from './api-routes.js';
import { iteratedBody, nodeBodyStream, readNodeBody, tooLarge } from './body.js';
import { handleUpload, serveFile } from './file-routes.js';
import { errorReply, jsonReply } from './respond.js';
import { readiness } from './readiness.js';
import { serveAppRoute } from './route-bridge.js';
import { hostRefusal, isHostAllowed, isOriginAllowed, isOwnOrigin, originRefusal } from './security.js';
import { DEFAULT_MAX_BODY_BYTES } from './types.js';
import type { HttpContext, HttpReply, HttpRequest } from './types.js';

const ALLOW_HEADERS = 'authorization, content-type, idempotency-key';
const EXPOSE_HEADERS = 'valet-invocation-id, idempotent-replayed, retry-after';

function corsHeaders(origin: string): string[] {
  return ['access-control-allow-origin', origin, 'vary', 'origin', 'access-control-expose-headers', EXPOSE_HEADERS];
}

function preflight(origin: string | undefined): HttpReply {
  const headers =
    origin === undefined
      ? []
      : [
          ...corsHeaders(origin),
          'access-control-allow-headers',
          ALLOW_HEADERS,
          'access-control-allow-methods',
          'GET, POST, OPTIONS',
          'access-control-max-age',
          '600',
        ];
  return { status: 204, headers, body: '' };
}

function hasAppRoute(context: HttpContext, method: string, pathname: string): boolean {
  return Boolean(context.engine?.registry.http?.lookup(method, pathname.slice('/http'.length) || '/'));
}

async function route(context: HttpContext, request: HttpRequest): Promise<HttpReply> {
  const { pathname } = request;
  const kind = pathname.startsWith('/api/') ? pathname.slice(5) : '';
  if (CALL_KINDS.has(kind)) return handleCall(context, kind as FunctionKind, request);
  if (pathname === '/api/dev/token' && context.devToken) return handleDevToken(context, request);
  // Public by nature: browsers subscribe to push with it.
  if (pathname === '/api/push/public-key' && context.vapidPublicKey)
    return jsonReply(200, { publicKey: context.vapidPublicKey });
  if (pathname.startsWith('/admin/')) return routeAdmin(context, request);
  if (pathname.startsWith('/api/auth/') || pathname.startsWith('/.well-known/')) return routeAuth(context, request);
  if (pathname === '/api/storage/upload') return handleUpload(context, request);
  if (pathname.startsWith('/api/storage/')) return serveFile(context, request, pathname.slice('/api/storage/'.length));
  throw new EngineError('not_found', `nothing at ${pathname}`);
}

export async function handleRequest(context: HttpContext, request: HttpRequest): Promise<HttpReply> {
  const { pathname, headers } = request;
  // An allowed page's origin: its answers carry CORS headers, errors included (so it can read them).
  let corsOrigin: string | undefined;
  try {
    // Health says "this process is up" to load balancers, which use whatever name they like.
    if (pathname === '/api/health') return jsonReply(200, { ok: true });
    if (pathname === '/api/ready') return await readiness(context);
    if (!isHostAllowed(context.policy, headers.host))
      throw new EngineError('host_not_allowed', hostRefusal(headers.host));
    const origin = headers.origin;
    if (pathname === '/favicon.ico' && context.dashboard && request.method === 'GET')
      return dashboardFavicon(context.dashboard);
    if (pathname === '/_dashboard' || pathname.startsWith('/_dashboard/')) {
      // Only the server's own pages: no CORS, ever.
      if (origin !== undefined && !isOwnOrigin(origin, headers.host))
        throw new EngineError('origin_not_allowed', originRefusal(origin, context.policy.mode));
      return await routeDashboard(context, request);
    }
    if (pathname === '/http' || pathname.startsWith('/http/')) {
      // A route of the app's own for OPTIONS answers its preflight; otherwise the default does.
      if (request.method === 'OPTIONS' && !hasAppRoute(context, 'OPTIONS', pathname)) {
        if (origin !== undefined && !isOriginAllowed(context.policy, origin, headers.host))
          throw new EngineError('origin_not_allowed', originRefusal(origin, context.policy.mode));
        return preflight(origin);
      }
      return await serveAppRoute(context, request);
    }
    const admin = pathname.startsWith('/admin/');
    if (origin !== undefined) {
      const allowed = admin ? isOwnOrigin(origin, headers.host) : isOriginAllowed(context.policy, origin, headers.host);
      if (!allowed) throw new EngineError('origin_not_allowed', originRefusal(origin, context.policy.mode));
    }
    const crossOrigin = origin !== undefined && !admin && !isOwnOrigin(origin, headers.host);
    if (request.method === 'OPTIONS') return preflight(crossOrigin ? origin : undefined);
    if (crossOrigin) corsOrigin = origin;
    const reply = await route(context, request);
    if (crossOrigin) reply.headers.push(...corsHeaders(origin));
    return reply;
  } catch (error) {
    const dashboardPath = pathname === '/_dashboard' || pathname.startsWith('/_dashboard/');
    if (error instanceof EngineError) {
      if (dashboardPath) return withSecurity(errorReply(error));
      const reply = errorReply(error);
      if (corsOrigin !== undefined) reply.headers.push(...corsHeaders(corsOrigin));
      return reply;
    }
    (context.log ?? defaultLog)(
      `valet: failed to handle ${request.method} ${pathname}: ${(error as Error)?.stack ?? String(error)}`,
    );
    return errorReply(new EngineError('internal_error', 'the server failed to handle the request'));
  }
}

const defaultLog = (line: string) => process.stderr.write(`${line}\n`);

function pathOf(url: string): string {
  const queryAt = url.indexOf('?');
  return queryAt === -1 ? url : url.slice(0, queryAt);
}

/** The node:http listener (what `listen` serves). */
export function createRequestListener(context: HttpContext) {
  const limit = context.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  return (req: IncomingMessage, res: ServerResponse): void => {
    const url = req.url ?? '/';
    // A stream, not a reply: it stays open while the page does.
    if (context.dashboard && pathOf(url) === '/_dashboard/api/events') return serveDashboardEvents(context, req, res);
    const request: HttpRequest = {
      method: req.method ?? 'GET',
      url,
      pathname: pathOf(url),
      headers: req.headers,
      remoteAddress: req.socket.remoteAddress,
      readBody: () => readNodeBody(req, limit),
      streamBody: () => nodeBodyStream(req),
    };
    void handleRequest(context, request).then((reply) => {
      if (res.headersSent || res.destroyed) return;
      // A refused oversized body may still be arriving, or the server is shutting down: close the
      // connection after the answer (a client's next request goes to another instance).
      if (reply.status === 413 || context.draining) reply.headers.push('connection', 'close');
      res.writeHead(reply.status, reply.headers);
      if (typeof reply.body === 'string' || reply.body instanceof Uint8Array) res.end(reply.body);
      else void streamBody(reply.body, res);
    });
  };
}

/** Writes a streamed body as the client takes it; a failure mid-way cuts the connection (the status is sent). */
async function streamBody(chunks: AsyncIterable<string | Uint8Array>, res: ServerResponse): Promise<void> {
  // pipeline waits on the client's pace and stops reading when it goes away.
  await pipeline(Readable.from(chunks), res).catch(() => res.destroy());
}

async function* encoded(chunks: AsyncIterable<string | Uint8Array>): AsyncGenerator<Uint8Array> {
  for await (const chunk of chunks) yield typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
}

/** Serves a web Request in-process, without a port: how tests call the routes. */
export async function requestInProcess(
  context: HttpContext,
  input: string | Request,
  init?: RequestInit,
): Promise<Response> {
  const request = typeof input === 'string' ? new Request(new URL(input, 'http://127.0.0.1'), init) : input;
  const url = new URL(request.url);
  const headers: Record<string, string> = {};
  request.headers.forEach((value, name) => (headers[name] = value));
  headers.host ??= url.host;
  const limit = context.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const reply = await handleRequest(context, {
    method: request.method,
    url: url.pathname + url.search,
    pathname: url.pathname,
    headers,
    async readBody() {
      const body = Buffer.from(await request.arrayBuffer());
      if (body.length > limit) throw tooLarge(limit);
      return body;
    },
    streamBody() {
      const reader = request.body?.getReader();
      if (!reader) return iteratedBody({ next: async () => ({ done: true, value: undefined }) }, () => undefined);
      const iterator: AsyncIterator<Uint8Array> = {
        next: async () => {
          const { done, value } = await reader.read();
          return done ? { done: true, value: undefined } : { done: false, value };
        },
      };
      return iteratedBody(iterator, () => void reader.cancel());
    },
  });
  const responseHeaders = new Headers();
  for (let i = 0; i < reply.headers.length; i += 2) responseHeaders.append(reply.headers[i]!, reply.headers[i + 1]!);
  const nullBody = reply.status === 204 || reply.status === 304;
  const body =
    typeof reply.body === 'string' || reply.body instanceof Uint8Array
      ? (reply.body as BodyInit)
      : (Readable.toWeb(Readable.from(encoded(reply.body))) as ReadableStream);
  return new Response(nullBody ? null : body, { status: reply.status, headers: responseHeaders });
}
