// One call of one function, from any caller (HTTP, WebSocket clients, the CLI, cron, the
// scheduler, other functions): resolve it, enforce access, validate args, run it in its kind's
// isolation, and turn any failure into the API's JSON error.
import type { DocumentStore } from '../../storage/documents.js';
import type { ErrorBody } from '../../protocol/errors.js';
import type { Read } from '../../storage/read-set.js';
import type { CallRecord } from '../calls/record.js';
import { callerOf } from '../calls/record.js';
import { DuplicateMutation, recordSequence } from './client-sequence.js';
import { failureDetail, failureResponse } from './failure.js';
import { resolveFunction, validateArgs } from './resolve.js';
import { runAction } from './run-action.js';
import { runMutation } from './run-mutation.js';
import { runQuery } from './run-query.js';
import type { CallRequest, CallResponse, EngineCore } from './types.js';

export async function callFunction(
  core: EngineCore,
  request: CallRequest,
  snapshot?: DocumentStore,
): Promise<CallResponse> {
  const started = performance.now();
  const record = core.calls.begin({
    kind: request.kind,
    path: request.path,
    source: request.source ?? 'function',
    caller: callerOf(request.invoker),
    parent: request.parent,
  });
  let response: CallResponse;
  try {
    response = await runCall(core, request, record, snapshot);
  } catch (error) {
    // Only what failure handling itself ran into (a client's sequence record the database refused).
    core.calls.finish(record, performance.now() - started, {
      code: 'internal_error',
      message: core.redact(error instanceof Error ? error.message : String(error)),
    });
    throw error;
  }
  const body = response.body as ErrorBody;
  // What the caller was told decides the code; the record adds the real message and stack.
  const error =
    response.status === 200
      ? null
      : record.error?.code === body.code
        ? record.error
        : { ...record.error, code: body.code, message: body.message };
  core.calls.finish(record, performance.now() - started, error, request.rerun);
  return response;
}

async function runCall(
  core: EngineCore,
  request: CallRequest,
  record: CallRecord,
  snapshot?: DocumentStore,
): Promise<CallResponse> {
  try {
    const definition = resolveFunction(core, request);
    const validated = validateArgs(definition, request.args, snapshot ?? core.connections.autoCommit);
    const args = validated instanceof Promise ? await validated : validated;
    if (definition.kind === 'action') return await runAction(core, request, definition as never, args, record);
    if (definition.kind === 'query') {
      const reads: Read[] | undefined = request.trackReads ? [] : undefined;
      const value = await runQuery(core, request.path, definition, args, request.invoker, record, reads, snapshot);
      return { status: 200, body: { value }, headers: {}, reads };
    }
    const value = await runMutation(
      core,
      request.path,
      definition,
      args,
      request.invoker,
      record,
      request.client,
      request.fence,
    );
    return { status: 200, body: { value }, headers: {} };
  } catch (error) {
    if (error instanceof DuplicateMutation)
      return { status: error.status, body: error.body as CallResponse['body'], headers: { 'valet-duplicate': 'true' } };
    const { status, body } = failureResponse(core, request.path, error, request.exposeErrors);
    record.error = failureDetail(core, status, body, error);
    const client = request.client;
    // A rejected mutation still advances its client (its queue must not wedge), unless the refusal
    // was about the sequence itself, the caller's token, or the storage (nothing was decided).
    if (
      client &&
      request.kind === 'mutation' &&
      body.code !== 'out_of_order' &&
      status !== 401 &&
      status !== 503 &&
      status !== 507
    ) {
      await core.connections.inWriteTransaction((store) =>
        recordSequence(store, client, status, body, core.clock.now()),
      );
    }
    return { status, body, headers: {} };
  }
}

/**
 * Runs many queries in one read snapshot, answering identical reads once (live queries re-run
 * after a write: a thousand subscriptions often read the same range). Each keeps its own result,
 * errors and read set.
 */
export async function callQueries(core: EngineCore, requests: CallRequest[]): Promise<CallResponse[]> {
  return core.connections.inReadSnapshot(async (store) => {
    store.readCache = new Map();
    try {
      const responses: CallResponse[] = [];
      for (const request of requests) responses.push(await callFunction(core, request, store));
      return responses;
    } finally {
      store.readCache = null;
    }
  });
}
