// An action call: claim the invocation (idempotency), run the handler outside any transaction
// with fetch allowed and guarded, bound it by its timeout, record the outcome.
import { MAX_IDEMPOTENCY_KEY_LENGTH } from '../../protocol/call.js';
import { encodeValue } from '../../protocol/values.js';
import type { ActionDefinition } from '../../server/functions.js';
import type { InvocationState } from '../database-api.js';
import { EngineError } from '../errors.js';
import { claimInvocation, finishInvocation } from '../invocations/idempotency.js';
import type { Outcome } from '../invocations/idempotency.js';
import { runInScope } from '../scope.js';
import { actionContext } from './action-context.js';
import { raceDeadline, startDeadline } from './deadline.js';
import { failureResponse } from './failure.js';
import { callHandler, checkReturnValue } from './handler.js';
import { principalOf } from './principal.js';
import type { CallRequest, CallResponse, EngineCore } from './types.js';

export async function runAction(core: EngineCore, request: CallRequest, definition: ActionDefinition<any, any, any>, args: Record<string, unknown>): Promise<CallResponse> {
  const key = request.idempotencyKey ?? null;
  if (key !== null && (key.length === 0 || key.length > MAX_IDEMPOTENCY_KEY_LENGTH)) {
    throw new EngineError('invalid_idempotency_key', 400, `Idempotency-Key must be 1 to ${MAX_IDEMPOTENCY_KEY_LENGTH} characters`);
  }
  const claim = await core.connections.inWriteTransaction((store) =>
    claimInvocation(store, core.connections, {
      path: request.path,
      principal: principalOf(request.invoker),
      invoker: request.invoker,
      idempotencyKey: key,
      args: encodeValue(args),
      sensitive: definition.sensitive,
      safeToRetry: definition.safeToRetry,
      now: core.clock.now(),
      instance: core.instanceId,
    }),
  );
  if (claim.kind === 'refuse') throw claim.error;
  if (claim.kind === 'replay') return { status: claim.status, body: claim.body as CallResponse['body'], headers: { 'idempotent-replayed': 'true' } };

  const deadline = startDeadline(core.clock, definition.timeoutMs, () => new EngineError('action_timeout', 504, `${request.path} did not finish within ${definition.timeoutMs} ms`));
  const state: InvocationState = { path: request.path, active: true, transaction: null, aborted: deadline.expired };
  const ctx = actionContext(core, state, request.invoker, `action ${request.path}`);
  let outcome: Outcome;
  try {
    const work = runInScope({ kind: 'action', path: request.path, invocationId: claim.id, inTransaction: false, fetchPolicy: core.fetchPolicy, depth: request.depth ?? 0 }, () =>
      callHandler(definition.handler, ctx, args),
    );
    const value = checkReturnValue(request.path, await raceDeadline(work, deadline), definition.returns);
    outcome = { status: 'succeeded', httpStatus: 200, result: value };
  } catch (error) {
    const { status, body } = failureResponse(core, request.path, error, request.exposeErrors);
    // A handler's own failure keeps its stack for `valet invocations show` and the dashboard.
    const stack = status === 500 && error instanceof Error ? core.describeError(error) : undefined;
    outcome = { status: status === 504 && body.code === 'action_timeout' ? 'timeout' : 'failed', httpStatus: status, error: body, stack };
  } finally {
    // From here on, a forgotten promise of this handler can no longer touch the database.
    state.active = false;
    deadline.cancel();
  }
  await core.connections.inWriteTransaction((store) => finishInvocation(store.sql, claim.id, claim.attempt, outcome, definition.sensitive, core.clock.now()));
  const headers = { 'valet-invocation-id': claim.id };
  return outcome.status === 'succeeded' ? { status: 200, body: { value: outcome.result }, headers } : { status: outcome.httpStatus, body: outcome.error!, headers };
}
