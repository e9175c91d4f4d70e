// Routes of valet/http.ts (webhooks): a raw Request in, a Response out, with an action's ctx
// (fetch allowed and guarded, db, email, scheduler, runMutation to hand off to a mutation).
import { ERROR_CODES } from '../../protocol/error-codes.js';
import type { Invoker } from '../../server/ctx.js';
import { DEFAULT_ACTION_TIMEOUT_MS } from '../../server/functions.js';
import type { CallRecord } from '../calls/record.js';
import { callerOf } from '../calls/record.js';
import type { InvocationState } from '../database-api.js';
import { EngineError } from '../errors.js';
import { runInScope } from '../scope.js';
import { actionContext } from './action-context.js';
import { raceDeadline, startDeadline } from './deadline.js';
import { failureDetail, failureResponse } from './failure.js';
import { callHandler } from './handler.js';
import type { EngineCore } from './types.js';

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json; charset=utf-8' } });

/** A valid Valet token makes the caller a user; anything else (a webhook's own scheme) is anonymous. */
async function invokerOf(
  request: Request,
  authenticate: (header: string | null) => Promise<Invoker>,
): Promise<Invoker> {
  const header = request.headers.get('authorization');
  if (!header?.startsWith('Bearer ')) return { type: 'anonymous' };
  try {
    return await authenticate(header);
  } catch {
    return { type: 'anonymous' };
  }
}

export async function handleHttpRoute(
  core: EngineCore,
  request: Request,
  path: string,
  authenticate: (header: string | null) => Promise<Invoker>,
): Promise<Response> {
  const route = core.registry.http?.lookup(request.method, path);
  if (!route)
    return json(ERROR_CODES.route_not_found.status, {
      code: 'route_not_found',
      message: `no route for ${request.method} /http${path} in valet/http.ts`,
    });
  const label = `${request.method} /http${route.path}`;
  const invoker = await invokerOf(request, authenticate);
  const started = performance.now();
  const record = core.calls.begin({ kind: 'http', path: label, source: 'http', caller: callerOf(invoker) });
  const response = await answerRoute(core, request, route.handler.handler, label, invoker, record);
  // A Response the route returned is its answer, whatever its status; a failure is what it threw.
  core.calls.finish(record, performance.now() - started, record.error);
  return response;
}

async function answerRoute(
  core: EngineCore,
  request: Request,
  handler: (ctx: any, request: Request) => unknown,
  label: string,
  invoker: Invoker,
  record: CallRecord,
): Promise<Response> {
  const deadline = startDeadline(
    core.clock,
    DEFAULT_ACTION_TIMEOUT_MS,
    () => new EngineError('route_timeout', `${label} did not answer within ${DEFAULT_ACTION_TIMEOUT_MS} ms`),
  );
  const state: InvocationState = { path: label, active: true, transaction: null, aborted: deadline.expired };
  try {
    const ctx = actionContext(core, state, invoker, `route ${label}`);
    const work = runInScope(
      {
        kind: 'http',
        path: label,
        invocationId: record.id,
        inTransaction: false,
        fetchPolicy: core.fetchPolicy,
        call: record,
      },
      () => callHandler(handler, ctx, request),
    );
    const response = await raceDeadline(work, deadline);
    if (!(response instanceof Response))
      throw new EngineError(
        'invalid_route_response',
        `${label} must return a Response (e.g. new Response(null, { status: 200 }))`,
      );
    return response;
  } catch (error) {
    const { status, body } = failureResponse(core, label, error);
    record.error = failureDetail(core, status, body, error);
    return json(status, body);
  } finally {
    state.active = false;
    deadline.cancel();
  }
}
