// /_dashboard/*: the page, its sign-in link, and its API — which is the admin API and the call
// endpoints, reached with the server's own admin key once the session cookie checks out (the
// key stays on the server). The handler has already refused a foreign Host and any Origin but
// the server's own; here every API request must also carry `X-Valet-Dashboard: 1`, a header no
// page of another origin can send without a preflight this server never approves, and every
// answer forbids framing and caching.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { EngineError } from '../../runtime/errors.js';
import { routeAdmin } from '../admin-routes.js';
import { CALL_KINDS, handleCall } from '../api-routes.js';
import { errorReply, jsonReply } from '../respond.js';
import { isHostAllowed, isOwnOrigin, hostRefusal, originRefusal } from '../security.js';
import type { FunctionKind } from '../../server/functions.js';
import type { HttpContext, HttpReply, HttpRequest } from '../types.js';
import type { DashboardHost } from './host.js';

const SECURITY_HEADERS = [
  'content-security-policy',
  "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'x-frame-options',
  'DENY',
  'referrer-policy',
  'no-referrer',
  'x-content-type-options',
  'nosniff',
  'cache-control',
  'no-store',
];

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.html': 'text/html; charset=utf-8',
  '.svg': 'image/svg+xml',
};

export function withSecurity(reply: HttpReply): HttpReply {
  reply.headers.push(...SECURITY_HEADERS);
  return reply;
}

function page(status: number, title: string, text: string): HttpReply {
  const body = `<!doctype html><meta charset="utf-8"><title>${title}</title><body style="font:15px system-ui;margin:3rem auto;max-width:38rem"><h1 style="font-size:1.3rem">${title}</h1><p>${text}</p></body>`;
  return { status, headers: ['content-type', 'text/html; charset=utf-8'], body };
}

/** index.html, or one file of assets/ by a plain name: no "..", no folders, nothing but files. */
const STATIC_NAME = /^(index\.html|assets\/[\w-][\w.-]*)$/;

function staticFile(dashboard: DashboardHost, name: string): HttpReply {
  const file = join(dashboard.assetsDir, name);
  const found = STATIC_NAME.test(name) && !name.includes('..') && existsSync(file) && statSync(file).isFile();
  if (!found) throw new EngineError('not_found', `nothing at /_dashboard/${name}`);
  const extension = name.slice(name.lastIndexOf('.'));
  return {
    status: 200,
    headers: ['content-type', TYPES[extension] ?? 'application/octet-stream'],
    body: readFileSync(file),
  };
}

/** /favicon.ico, which browsers ask for whatever the page links: the dashboard's icon. */
export function dashboardFavicon(dashboard: DashboardHost): HttpReply {
  return withSecurity(staticFile(dashboard, 'assets/favicon.svg'));
}

function signedIn(dashboard: DashboardHost, request: HttpRequest): boolean {
  return dashboard.access.verify(request.headers.cookie, dashboard.port());
}

/** The same request, addressed to the admin API or a call endpoint with the server's admin key. */
function asAdmin(context: HttpContext, request: HttpRequest, pathname: string): HttpRequest {
  const query = request.url.includes('?') ? request.url.slice(request.url.indexOf('?')) : '';
  const actAs = request.headers['x-valet-as'];
  return {
    ...request,
    url: pathname + query,
    pathname,
    headers: {
      ...request.headers,
      'x-valet-admin-key': context.adminKey,
      'x-valet-as': typeof actAs === 'string' && actAs ? actAs : 'system',
    },
  };
}

async function routeApi(
  context: HttpContext,
  dashboard: DashboardHost,
  request: HttpRequest,
  rest: string,
): Promise<HttpReply> {
  if (rest === 'session') return jsonReply(200, { signedIn: signedIn(dashboard, request) });
  if (!signedIn(dashboard, request))
    throw new EngineError(
      'dashboard_signed_out',
      'open the dashboard link valet printed (or run `npx valet dashboard` for a new one)',
    );
  if (request.headers['x-valet-dashboard'] !== '1')
    throw new EngineError('invalid_request', 'dashboard API requests carry X-Valet-Dashboard: 1');
  if (rest === 'state') return jsonReply(200, dashboard.state());
  const call = /^call\/(\w+)$/.exec(rest);
  if (call && CALL_KINDS.has(call[1]!)) {
    if (!context.engine) throw new EngineError('not_ready', context.notReadyReason ?? 'the app is not built yet');
    return handleCall(context, call[1] as FunctionKind, asAdmin(context, request, `/api/${call[1]}`));
  }
  if (rest.startsWith('admin/')) return routeAdmin(context, asAdmin(context, request, `/${rest}`));
  throw new EngineError('not_found', `nothing at /_dashboard/api/${rest}`);
}

/** Every answer under /_dashboard carries the page headers, its 404s and 405s too. */
export async function routeDashboard(context: HttpContext, request: HttpRequest): Promise<HttpReply> {
  try {
    return await routeDashboardPath(context, request);
  } catch (error) {
    if (error instanceof EngineError) return withSecurity(errorReply(error));
    throw error;
  }
}

async function routeDashboardPath(context: HttpContext, request: HttpRequest): Promise<HttpReply> {
  const dashboard = context.dashboard;
  if (!dashboard)
    throw new EngineError('not_found', 'this server has no dashboard (valet start serves it with --dashboard)');
  const path = request.pathname;
  if (path === '/_dashboard') return withSecurity({ status: 302, headers: ['location', '/_dashboard/'], body: '' });
  if (path === '/_dashboard/login') {
    const token = new URL(request.url, 'http://localhost').searchParams.get('token') ?? '';
    const session = dashboard.access.redeem(token);
    if (!session)
      return withSecurity(
        page(
          403,
          'This dashboard link was used or has expired',
          'Each link opens the dashboard once. Run <code>npx valet dashboard</code> in the app for a new one (the server must be running).',
        ),
      );
    return withSecurity({
      status: 302,
      headers: ['location', '/_dashboard/', 'set-cookie', dashboard.access.setCookie(dashboard.port(), session)],
      body: '',
    });
  }
  if (path.startsWith('/_dashboard/api/'))
    return withSecurity(await routeApi(context, dashboard, request, path.slice('/_dashboard/api/'.length)));
  if (request.method !== 'GET' && request.method !== 'HEAD')
    throw new EngineError('method_not_allowed', `use GET for ${path}`);
  const name = path === '/_dashboard/' ? 'index.html' : path.slice('/_dashboard/'.length);
  return withSecurity(staticFile(dashboard, name));
}

/** GET /_dashboard/api/events: a text/event-stream of `{ topics }` whenever something moved. */
export function serveDashboardEvents(context: HttpContext, req: IncomingMessage, res: ServerResponse): void {
  const dashboard = context.dashboard;
  const refuse = (error: EngineError) => {
    const reply = withSecurity(errorReply(error));
    res.writeHead(reply.status, reply.headers).end(reply.body as string);
  };
  if (!isHostAllowed(context.policy, req.headers.host))
    return refuse(new EngineError('host_not_allowed', hostRefusal(req.headers.host)));
  const origin = req.headers.origin;
  if (origin !== undefined && !isOwnOrigin(origin, req.headers.host))
    return refuse(new EngineError('origin_not_allowed', originRefusal(origin, context.policy.mode)));
  if (!dashboard) return refuse(new EngineError('not_found', 'this server has no dashboard'));
  if (!dashboard.access.verify(req.headers.cookie, dashboard.port()))
    return refuse(new EngineError('dashboard_signed_out', 'open the dashboard link valet printed'));
  res.writeHead(200, [
    'content-type',
    'text/event-stream; charset=utf-8',
    'connection',
    'keep-alive',
    ...SECURITY_HEADERS,
  ]);
  res.write('retry: 1000\n\nevent: hello\ndata: {}\n\n');
  const unsubscribe = dashboard.feed.subscribe((topics) => res.write(`data: ${JSON.stringify({ topics })}\n\n`));
  const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), 15_000);
  const end = () => {
    clearInterval(heartbeat);
    unsubscribe();
    removeStream();
    res.end();
  };
  const removeStream = dashboard.addStream(end);
  req.on('close', end);
}
