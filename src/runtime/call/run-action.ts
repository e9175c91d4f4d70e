// An action call: claim the invocation (idempotency), run the handler outside any transaction
// with fetch allowed and guarded, bound it by its timeout, record the outcome. The claim fences
// the handler's writes (claims/fence.ts); the outcome's write is retried until it lands, and a
// caller who cannot wait for it is told `outcome_unknown`, never "not applied" (SPEC §4, §13).
import { ERROR_CODES } from '../../protocol/error-codes.js';
import { MAX_IDEMPOTENCY_KEY_LENGTH } from '../../protocol/call.js';
import { encodeValue } from '../../protocol/values.js';
import type { ActionDefinition } from '../../server/functions.js';
import type { InvocationState } from '../database-api.js';
import { TRANSIENT_CODES } from '../../storage/faults.js';
import type { CallRecord } from '../calls/record.js';
import { allFences, rowFence } from '../claims/fence.js';
import { EngineError } from '../errors.js';
import { claimInvocation, finishInvocation } from '../invocations/idempotency.js';
import type { Outcome } from '../invocations/idempotency.js';
import { runInScope } from '../scope.js';
import { actionContext } from './action-context.js';
import { raceDeadline, startDeadline } from './deadline.js';
import { failureDetail, failureResponse } from './failure.js';
import { callHandler, checkReturnValue } from './handler.js';
import { principalOf } from './principal.js';
import type { CallRequest, CallResponse, EngineCore } from './types.js';

/** How long a caller waits for the outcome's record before hearing `outcome_unknown`. */
export const FINISH_ANSWER_WAIT_MS = 2_000;

export async function runAction(
  core: EngineCore,
  request: CallRequest,
  definition: ActionDefinition<any, any, any>,
  args: Record<string, unknown>,
  record: CallRecord,
): Promise<CallResponse> {
  const key = request.idempotencyKey ?? null;
  if (key !== null && (key.length === 0 || key.length > MAX_IDEMPOTENCY_KEY_LENGTH)) {
    throw new EngineError(
      'invalid_idempotency_key',
      `Idempotency-Key must be 1 to ${MAX_IDEMPOTENCY_KEY_LENGTH} characters`,
    );
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
  if (claim.kind === 'replay')
    return {
      status: claim.status,
      body: claim.body as CallResponse['body'],
      headers: { 'idempotent-replayed': 'true' },
    };
  record.invocation = claim.id;

  const deadline = startDeadline(
    core.clock,
    definition.timeoutMs,
    () => new EngineError('action_timeout', `${request.path} did not finish within ${definition.timeoutMs} ms`),
  );
  const fence = allFences([request.fence, invocationFence(claim.id, claim.attempt)]);
  const state: InvocationState = {
    path: request.path,
    active: true,
    transaction: null,
    aborted: deadline.expired,
    fence,
  };
  const ctx = actionContext(core, state, request.invoker, `action ${request.path}`);
  let outcome: Outcome;
  try {
    const work = runInScope(
      {
        kind: 'action',
        path: request.path,
        invocationId: claim.id,
        inTransaction: false,
        fetchPolicy: core.fetchPolicy,
        depth: request.depth ?? 0,
        call: record,
      },
      () => callHandler(definition.handler, ctx, args),
    );
    const value = checkReturnValue(request.path, await raceDeadline(work, deadline), definition.returns);
    outcome = { status: 'succeeded', httpStatus: 200, result: value };
  } catch (error) {
    const { status, body } = failureResponse(core, request.path, error, request.exposeErrors);
    // A handler's own failure keeps its stack for `valet invocations show` and the dashboard.
    const detail = failureDetail(core, status, body, error);
    record.error = detail;
    const stack = detail.stack;
    outcome = {
      status: status === 504 && body.code === 'action_timeout' ? 'timeout' : 'failed',
      httpStatus: status,
      error: body,
      stack,
    };
  } finally {
    // From here on, a forgotten promise of this handler can no longer touch the database.
    state.active = false;
    deadline.cancel();
  }
  return answer(core, request.path, claim, outcome, definition.sensitive, state.committed === true);
}

/** The invocation's own row, still this attempt's: the fence of the handler's writes. */
function invocationFence(id: string, attempt: number) {
  return rowFence(
    `action invocation ${id}`,
    "SELECT 1 AS held FROM _valet_action_invocations WHERE id = ? AND attempts = ? AND status = 'running'",
    () => [id, attempt],
  );
}

/**
 * Records the outcome (retried until it lands) and answers the caller. A transient failure
 * before anything committed decided nothing, so its key is freed rather than stored, and the
 * caller hears that it was not applied; otherwise the caller hears the outcome once it is
 * recorded, or `outcome_unknown` if that takes longer than it should wait.
 */
async function answer(
  core: EngineCore,
  path: string,
  claim: { id: string; attempt: number },
  outcome: Outcome,
  sensitive: boolean,
  committed: boolean,
): Promise<CallResponse> {
  const headers = { 'valet-invocation-id': claim.id };
  const transient = outcome.status === 'failed' && TRANSIENT_CODES.has(outcome.error!.code);
  // A write whose COMMIT broke off may have landed: as uncertain as a write known to have committed.
  const uncertain = outcome.status === 'failed' && outcome.error!.code === 'outcome_unknown';
  if ((transient && committed) || uncertain) {
    // Not "try again, nothing happened": part of it (may have) happened. Stored and replayed as what it is.
    const message = `${path} failed when the database became unavailable (${outcome.error!.code}), after some of its writes had ${uncertain ? 'perhaps ' : ''}committed; see valet invocations show ${claim.id}`;
    outcome = {
      ...outcome,
      httpStatus: ERROR_CODES.storage_interrupted.status,
      error: { code: 'storage_interrupted', message },
    };
  }
  const freeKey = transient && !committed;
  const label = `action ${path} (invocation ${claim.id})`;
  const landing = core.lasting.land(label, async () => {
    const recorded = await core.connections.inWriteTransaction((store) =>
      finishInvocation(store.sql, claim.id, claim.attempt, outcome, sensitive, core.clock.now(), freeKey),
    );
    if (!recorded) core.lostClaim(label);
  });
  const reply: CallResponse =
    outcome.status === 'succeeded'
      ? { status: 200, body: { value: outcome.result }, headers }
      : { status: outcome.httpStatus, body: outcome.error!, headers };
  const landed = await landing.within(FINISH_ANSWER_WAIT_MS);
  // Nothing happened: that is certain whether or not the record (which frees the key) has landed.
  if (landed || freeKey) return reply;
  return {
    status: ERROR_CODES.outcome_unknown.status,
    body: {
      code: 'outcome_unknown',
      message: `${path} ran, but its outcome could not be recorded yet (the database is unavailable); retry with the same Idempotency-Key to learn it (invocation ${claim.id})`,
      data: { invocationId: claim.id },
    },
    headers,
  };
}
