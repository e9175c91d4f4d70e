// /api/*: one-shot calls of queries, mutations and actions, health, and (under valet dev only)
// dev tokens for pages to sign in with. Admin callers (the CLI, the dashboard) present the admin
// key and act as the invoker they name in X-Valet-As.
import { ACT_AS_SYNTAX, parseActAs } from '../protocol/act-as.js';
import { parseCallBody } from '../protocol/call.js';
import type { CallSource } from '../runtime/calls/record.js';
import type { Invoker } from '../server/ctx.js';
import type { FunctionKind } from '../server/functions.js';
import { sameSecret } from '../runtime/auth/same-secret.js';
import { EngineError } from '../runtime/errors.js';
import { engineOf, jsonReply, parseJsonBody, requireJson } from './respond.js';
import type { HttpContext, HttpReply, HttpRequest } from './types.js';

export const CALL_KINDS = new Set<string>(['query', 'mutation', 'action']);

export function isAdminRequest(context: HttpContext, request: HttpRequest): boolean {
  const key = request.headers['x-valet-admin-key'];
  return typeof key === 'string' && sameSecret(key, context.adminKey);
}

interface Caller {
  invoker: Invoker;
  external: boolean;
  admin: boolean;
}

/**
 * Admin callers act as the invoker they name; everyone else is who their token says. Synchronous
 * unless there is a token to verify (an anonymous call is most calls, on the hottest path).
 */
function callerOf(context: HttpContext, request: HttpRequest): Caller | Promise<Caller> {
  const adminKey = request.headers['x-valet-admin-key'];
  if (typeof adminKey === 'string') {
    if (!sameSecret(adminKey, context.adminKey))
      throw new EngineError('admin_key_invalid', "the admin key is not this server's (see .valet/admin-key)");
    let invoker = parseActAs(request.headers['x-valet-as'] as string | undefined);
    if (!invoker) throw new EngineError('invalid_request', `X-Valet-As must be ${ACT_AS_SYNTAX}`);
    // An agent's call through valet mcp is the system as `mcp` in the logs, not an admin's.
    if (invoker.type === 'system' && request.headers['x-valet-source'] === 'mcp')
      invoker = { type: 'system', source: 'mcp' };
    return { invoker, external: false, admin: true };
  }
  const authorization = request.headers.authorization;
  if (!authorization) return { invoker: { type: 'anonymous' }, external: true, admin: false };
  return engineOf(context)
    .authenticate(authorization)
    .then((invoker) => ({ invoker, external: true, admin: false }));
}

/** Admin callers say who they are (the dashboard's page, the CLI); anything else is `admin`. */
function adminSource(request: HttpRequest): CallSource {
  if (request.headers['x-valet-dashboard'] === '1') return 'dashboard';
  const named = request.headers['x-valet-source'];
  return named === 'cli' || named === 'mcp' ? named : 'admin';
}

export async function handleCall(context: HttpContext, kind: FunctionKind, request: HttpRequest): Promise<HttpReply> {
  if (request.method !== 'POST') throw new EngineError('method_not_allowed', `use POST for ${request.pathname}`);
  const parsed = parseCallBody((await request.readBody()).toString('utf8'));
  if (!parsed.ok) throw new EngineError('invalid_request', parsed.message);
  const caller = callerOf(context, request);
  const { invoker, external, admin } = caller instanceof Promise ? await caller : caller;
  const key = request.headers['idempotency-key'];
  const response = await engineOf(context).call({
    kind,
    path: parsed.call.path,
    args: parsed.call.args,
    invoker,
    external,
    idempotencyKey: typeof key === 'string' ? key : null,
    exposeErrors: admin,
    source: admin ? adminSource(request) : 'http',
  });
  return jsonReply(response.status, response.body, response.headers);
}

const USER_ID = /^[\w.@+-]{1,64}$/;

export async function handleDevToken(context: HttpContext, request: HttpRequest): Promise<HttpReply> {
  if (request.method !== 'POST') throw new EngineError('method_not_allowed', 'use POST for /api/dev/token');
  requireJson(request.headers['content-type'], '/api/dev/token');
  const { userId } = parseJsonBody((await request.readBody()).toString('utf8'), '/api/dev/token');
  if (typeof userId !== 'string' || !USER_ID.test(userId))
    throw new EngineError('invalid_request', 'userId must be 1 to 64 letters, digits or ._@+-');
  return jsonReply(200, { token: await context.devToken!(userId) });
}
