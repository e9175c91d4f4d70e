// valet/auth's HTTP surface (docs/auth.md): POST /api/auth/signin, /refresh and /signout, and the
// public keys under /.well-known/ so any service can verify the app's tokens. Answers carry
// `cache-control: no-store`: a token must never sit in a shared cache.
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
      return jsonReply(200, await service.signIn(await jsonBody(request, pathname), clientOf(request)), NO_STORE);
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
  throw new EngineError('not_found', `nothing at ${pathname}`);
}
