// An action call: claim the invocation (idempotency), run the handler outside any transaction
// with fetch allowed and guarded, bound it by its timeout, record the outcome.
import type { ActionDefinition } from '../server/functions.js';
import { actionDatabase, actionWriter } from './database-api.js';
import type { InvocationState } from './database-api.js';
import { raceDeadline, startDeadline } from './deadline.js';
import { emailApi } from './email.js';
import { EngineError } from './errors.js';
import { claimInvocation, finishInvocation } from './idempotency.js';
import type { Outcome } from './idempotency.js';
import type { CallRequest, CallResponse, EngineCore } from './invoke.js';
import { callerApi, callHandler, checkReturnValue, failureResponse } from './invoke.js';
import { schedulerApi } from './scheduler.js';
import { principalOf } from './invoker.js';
import { runInScope } from './scope.js';

const MAX_KEY_LENGTH = 255;

/** What actions and HTTP routes get as ctx: auto-commit db with transactions, email, scheduler, and other functions. */
export function actionContext(core: EngineCore, state: InvocationState, invoker: CallRequest['invoker'], source: string) {
  const write = actionWriter(state, core.connections);
  return {
    db: actionDatabase(state, core.connections),
    invoker,
    email: emailApi(write, () => core.clock.now(), source, core.afterEnqueue),
    scheduler: schedulerApi(write, () => core.clock.now(), source, core.afterSchedule),
    ...callerApi(core, invoker),
  };
}

export async function runAction(core: EngineCore, request: CallRequest, definition: ActionDefinition<any, any, any>, args: Record<string, unknown>): Promise<CallResponse> {
  const key = request.idempotencyKey ?? null;
  if (key !== null && (key.length === 0 || key.length > MAX_KEY_LENGTH)) {
    throw new EngineError('invalid_idempotency_key', 400, `Idempotency-Key must be 1 to ${MAX_KEY_LENGTH} characters`);
  }
  const claim = await core.connections.withWriter((store) =>
    claimInvocation(store, {
      path: request.path,
      principal: principalOf(request.invoker),
      invoker: request.invoker,
      idempotencyKey: key,
      args,
      sensitive: definition.sensitive,
      safeToRetry: definition.safeToRetry,
      now: core.clock.now(),
    }),
  );
  if (claim.kind === 'refuse') throw claim.error;
  if (claim.kind === 'replay') return { status: claim.status, body: claim.body, headers: { 'idempotent-replayed': 'true' } };

  const deadline = startDeadline(core.clock, definition.timeoutMs, () => new EngineError('action_timeout', 504, `${request.path} did not finish within ${definition.timeoutMs} ms`));
  const state: InvocationState = { path: request.path, active: true, transaction: null, aborted: deadline.expired };
  const ctx = actionContext(core, state, request.invoker, `action ${request.path}`);
  let outcome: Outcome;
  try {
    const work = runInScope({ kind: 'action', path: request.path, invocationId: claim.id, inTransaction: false, fetchPolicy: core.fetchPolicy }, () => callHandler(definition.handler, ctx, args));
    const value = checkReturnValue(request.path, await raceDeadline(work, deadline));
    outcome = { status: 'succeeded', httpStatus: 200, result: value };
  } catch (error) {
    const { status, body } = failureResponse(core, request.path, error);
    outcome = { status: status === 504 && body.code === 'action_timeout' ? 'timeout' : 'failed', httpStatus: status, error: body };
  } finally {
    // From here on, a forgotten promise of this handler can no longer touch the database.
    state.active = false;
    deadline.cancel();
  }
  await core.connections.withWriter((store) => finishInvocation(store, claim.id, claim.attempt, outcome, definition.sensitive, core.clock.now()));
  const headers = { 'valet-invocation-id': claim.id };
  return outcome.status === 'succeeded' ? { status: 200, body: { value: outcome.result }, headers } : { status: outcome.httpStatus, body: outcome.error, headers };
}
