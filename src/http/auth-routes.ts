// valet/auth's HTTP surface (docs/auth.md): POST /api/auth/signin, /refresh and /signout, an
// OpenID Connect provider's redirect back at GET /api/auth/callback/<id>, and the public keys
// under /.well-known/ so any service can verify the app's tokens. Answers carry
// `cache-control: no-store`: a token must never sit in a shared cache.
import type { CallbackSite } from '../runtime/auth/signin/oauth.js';
import { matchesRedirectRule } from '../runtime/auth/signin/oauth.js';
import { EngineError } from '../runtime/errors.js';
import { engineOf, jsonReply, parseJsonBody, requireJson } from './respond.js';
import type { HttpContext, HttpReply, HttpRequest } from './types.js';

const NO_STORE = { 'cache-control': 'no-store' };

function clientOf(request: HttpRequest) {
  const agent = request.headers['user-agent'];
  return {
    address: request.remoteAddress ?? 'unknown',
    userAgent: typeof agent === 'string' ? agent.slice(0, 200) : null,
  };
}

const LOCAL_NAMES = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * The origin the provider sends people back to (VALET_PUBLIC_URL, else this request's own host,
 * which the server has already checked is one it answers to), and the pages a sign-in may return
 * to: this server's, the configured CORS origins (never `*`), valet/auth.ts's `redirects`, and
 * under valet dev any localhost page.
 */
function siteOf(context: HttpContext, request: HttpRequest, publicIssuer: string): CallbackSite {
  const publicOrigin = /^https?:\/\//.test(publicIssuer) ? new URL(publicIssuer).origin : null;
  const host = String(request.headers.host ?? '').toLowerCase();
  // Without VALET_PUBLIC_URL the request's own host, over http: right under valet dev and on
  // loopback, but a production server behind a TLS proxy would send people back over http.
  const origin =
    publicOrigin ??
    (context.policy.mode === 'dev' || LOCAL_NAMES.has(host.replace(/:\d+$/, '')) ? `http://${host}` : null);
  const rules = engineOf(context).registry.valetAuth?.redirects ?? [];
  const asked = request.headers.origin;
  return {
    origin,
    requestOrigin: typeof asked === 'string' && /^https?:\/\/[^/]+$/.test(asked) ? asked : null,
    isAllowedReturn(url) {
      if (url.origin === origin || url.origin === publicOrigin || url.origin === `http://${host}`) return true;
      if (context.policy.corsOrigins.includes(url.origin)) return true;
      if (context.policy.mode === 'dev' && LOCAL_NAMES.has(url.hostname)) return true;
      return matchesRedirectRule(url, rules);
    },
  };
}

async function jsonBody(request: HttpRequest, path: string): Promise<Record<string, unknown>> {
  if (request.method !== 'POST') throw new EngineError('method_not_allowed', `use POST for ${path}`);
  requireJson(request.headers['content-type'], path);
  return parseJsonBody((await request.readBody()).toString('utf8'), path);
}

export async function routeAuth(context: HttpContext, request: HttpRequest): Promise<HttpReply> {
  const engine = engineOf(context);
  const { service, keys, issuer } = engine.valetAuth;
  const { pathname } = request;
  const enabled = engine.registry.valetAuth !== null;
  switch (pathname) {
    case '/api/auth/signin':
      return jsonReply(
        200,
        await service.signIn(await jsonBody(request, pathname), clientOf(request), siteOf(context, request, issuer)),
        NO_STORE,
      );
    case '/api/auth/refresh':
      return jsonReply(200, await service.refresh(await jsonBody(request, pathname), clientOf(request)), NO_STORE);
    case '/api/auth/signout': {
      const body = await jsonBody(request, pathname);
      if (!enabled) throw new EngineError('auth_not_enabled', 'this app does not sign people in (no valet/auth.ts)');
      // With a bearer token, its session; else the refresh token's.
      const authorization = request.headers.authorization;
      let sessionId: string | undefined;
      if (authorization) {
        const invoker = await engine.authenticate(authorization);
        const sid = invoker.type === 'user' && invoker.valetAuth ? invoker.claims.sid : undefined;
        sessionId = typeof sid === 'string' ? sid : undefined;
      }
      const refreshToken = typeof body.refreshToken === 'string' ? body.refreshToken : undefined;
      if (!sessionId && !refreshToken)
        throw new EngineError(
          'invalid_auth_request',
          'send the session’s refreshToken, or its access token as a bearer token',
        );
      return jsonReply(200, await service.signOut({ sessionId, refreshToken }), NO_STORE);
    }
    case '/api/auth/providers': {
      // What a sign-in page offers (names and kinds only: nothing secret).
      if (request.method !== 'GET') throw new EngineError('method_not_allowed', `use GET for ${pathname}`);
      const providers = (engine.registry.valetAuth?.providers ?? []).map((provider) => ({
        id: provider.id,
        type: provider.type,
        ...(provider.type === 'oidc' || provider.type === 'github' ? { name: provider.name } : {}),
      }));
      return jsonReply(200, { providers }, NO_STORE);
    }
    case '/.well-known/jwks.json':
      if (!enabled || request.method !== 'GET') break;
      return jsonReply(200, await keys.jwks(), { 'cache-control': 'public, max-age=300' });
    case '/.well-known/openid-configuration':
      // Discovery needs an issuer that is a URL (VALET_PUBLIC_URL): then other services verify our tokens.
      if (!enabled || request.method !== 'GET' || !/^https?:\/\//.test(issuer)) break;
      return jsonReply(
        200,
        {
          issuer,
          jwks_uri: `${issuer}/.well-known/jwks.json`,
          id_token_signing_alg_values_supported: ['ES256'],
          subject_types_supported: ['public'],
          response_types_supported: ['token'],
        },
        { 'cache-control': 'public, max-age=300' },
      );
  }
  if (pathname.startsWith('/api/auth/callback/')) {
    if (request.method !== 'GET') throw new EngineError('method_not_allowed', `use GET for ${pathname}`);
    if (!enabled) throw new EngineError('auth_not_enabled', 'this app does not sign people in (no valet/auth.ts)');
    const query = new URL(request.url, 'http://callback').searchParams;
    const location = await service.callback(pathname.slice('/api/auth/callback/'.length), query);
    // The page's URL carries a one-time code: it is not passed on as a Referer.
    return {
      status: 303,
      headers: [
        'location',
        location,
        'cache-control',
        'no-store',
        'referrer-policy',
        'no-referrer',
        'content-length',
        '0',
      ],
      body: '',
    };
  }
  throw new EngineError('not_found', `nothing at ${pathname}`);
}
