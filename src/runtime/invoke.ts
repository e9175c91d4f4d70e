// One call of one function, from any caller (HTTP, WebSocket clients, the CLI, cron, the scheduler):
// resolve the function, enforce access, validate args, run it in its kind's isolation.
import type { Invoker } from '../server/ctx.js';
import type { AnyFunctionDefinition, FunctionKind } from '../server/functions.js';
import { formatValidationError, validateFields } from '../server/values.js';
import { findNonJson } from '../storage/documents.js';
import type { DocumentStore } from '../storage/documents.js';
import type { Clock } from './clock.js';
import type { Connections } from './connections.js';
import { mutationDatabase, mutationWriter, queryDatabase } from './database-api.js';
import type { InvocationState } from './database-api.js';
import { raceDeadline, startDeadline } from './deadline.js';
import { emailApi } from './email.js';
import { EngineError, notFound } from './errors.js';
import { errorToResponse } from './errors-to-response.js';
import type { FetchPolicy } from './fetch-guard.js';
import type { Registry } from './registry.js';
import { runAction } from './run-action.js';
import { runInScope } from './scope.js';
import { schedulerApi } from './scheduler.js';
import { checkSequence, DuplicateMutation, recordSequence } from './client-sequence.js';
import type { ClientSequence } from './client-sequence.js';
import type { Read } from '../storage/read-set.js';

export interface CallRequest {
  /** The endpoint the caller used; a mismatch with the function's kind is refused. */
  kind: FunctionKind;
  path: string;
  args: unknown;
  invoker: Invoker;
  /** Calls from outside (HTTP clients) cannot see `system` functions. */
  external: boolean;
  idempotencyKey?: string | null;
  /** Queries: return what the query read, so a subscription knows which writes affect it. */
  trackReads?: boolean;
  /** Mutations from a client's queue: applied exactly once and in order per client. */
  client?: ClientSequence;
}

export interface CallResponse {
  status: number;
  /** `{ value }` on success, `{ code, message, data? }` on failure. */
  body: unknown;
  headers: Record<string, string>;
  reads?: Read[];
}

export interface EngineCore {
  connections: Connections;
  registry: Registry;
  clock: Clock;
  fetchPolicy: FetchPolicy;
  /** Shows handler exception messages to callers (development). */
  dev: boolean;
  /** Deadline for queries and mutations, which hold a connection while they run. */
  functionTimeoutMs: number;
  log: (line: string) => void;
  describeError: (error: unknown) => string;
  /** Called when an email or scheduled call was written (the background loops run soon). */
  afterEnqueue: () => void;
  afterSchedule: () => void;
}

/** The JSON error for a failure; a 500 (the handler's or Valet's fault) is also logged with its stack. */
export function failureResponse(core: EngineCore, label: string, error: unknown): ReturnType<typeof errorToResponse> {
  const response = errorToResponse(error, core.dev);
  if (response.status === 500) core.log(`${label} failed: ${core.describeError(error)}`);
  return response;
}

/** ctx.runQuery / ctx.runMutation: another function, as the same caller, in its own transaction. */
export function callerApi(core: EngineCore, invoker: Invoker) {
  const run = async (kind: 'query' | 'mutation', ref: { path: string }, args: unknown) => {
    const response = await callFunction(core, { kind, path: ref?.path, args, invoker, external: false });
    if (response.status === 200) return (response.body as { value: unknown }).value;
    const body = response.body as { code: string; message: string; data?: unknown };
    throw new EngineError(body.code, response.status, `${ref?.path}: ${body.message}`, body.data);
  };
  return {
    runQuery: (ref: { path: string }, args?: unknown) => run('query', ref, args),
    runMutation: (ref: { path: string }, args?: unknown) => run('mutation', ref, args),
  };
}

function resolveFunction(core: EngineCore, request: CallRequest): AnyFunctionDefinition {
  const definition = core.registry.functions.get(request.path);
  if (!definition || (request.external && definition.access === 'system')) throw notFound(request.path);
  if (definition.kind !== request.kind) {
    throw new EngineError('wrong_function_kind', 400, `${request.path} is a ${definition.kind}; call it at /api/${definition.kind}`);
  }
  if (definition.access === 'authenticated' && request.invoker.type === 'anonymous') {
    throw new EngineError('unauthenticated', 401, `${request.path} needs a signed-in caller: send Authorization: Bearer <token>`);
  }
  return definition;
}

function validateArgs(core: EngineCore, definition: AnyFunctionDefinition, args: unknown): Record<string, unknown> {
  const value = args === undefined || args === null ? {} : args;
  const isIdOf = (table: string, id: string) => {
    const actual = core.connections.autoCommitReader.tableOf(id);
    return actual === null || actual === table;
  };
  const error = validateFields(definition.args, value, 'args', { isIdOf });
  if (error) throw new EngineError('invalid_args', 400, formatValidationError(error));
  return value as Record<string, unknown>;
}

/** Return values travel as JSON: anything else is the handler's mistake, named precisely. */
export function checkReturnValue(path: string, value: unknown): unknown {
  const result = value === undefined ? null : value;
  const problem = findNonJson(result, 'result');
  if (problem) throw new EngineError('invalid_return_value', 500, `${path} returned a value that is not JSON: ${problem}`);
  return result;
}

/** Calls the handler; a synchronous throw becomes a rejection like any other failure. */
export function callHandler(handler: (ctx: any, args: any) => unknown, ctx: unknown, args: unknown): Promise<unknown> {
  try {
    return Promise.resolve(handler(ctx, args));
  } catch (error) {
    return Promise.reject(error);
  }
}

let invocationCounter = 0;
const invocationPrefix = `${process.pid.toString(36)}${Date.now().toString(36)}`;

/** Log ids for queries and mutations (actions use their invocation record's id): unique, and cheap. */
function nextInvocationId(): string {
  return `${invocationPrefix}-${(++invocationCounter).toString(36)}`;
}

function newState(path: string): InvocationState {
  return { path, active: true, transaction: null };
}

function timeoutError(kind: string, path: string, ms: number) {
  return () => new EngineError(`${kind}_timeout`, 504, `${path} did not finish within ${ms} ms`);
}

async function runQuery(core: EngineCore, path: string, definition: AnyFunctionDefinition, args: unknown, invoker: Invoker, reads?: Read[], snapshot?: DocumentStore) {
  const inSnapshot = <T>(task: (store: DocumentStore) => Promise<T>) => (snapshot ? task(snapshot) : core.connections.inReadSnapshot(task));
  return inSnapshot(async (store) => {
    const state = newState(path);
    const deadline = startDeadline(core.clock, core.functionTimeoutMs, timeoutError('query', path, core.functionTimeoutMs));
    try {
      const ctx = { db: queryDatabase(state, store, reads), invoker };
      const work = runInScope({ kind: 'query', path, invocationId: nextInvocationId(), inTransaction: false, fetchPolicy: core.fetchPolicy }, () => callHandler(definition.handler, ctx, args));
      return checkReturnValue(path, await raceDeadline(work, deadline));
    } finally {
      state.active = false;
      deadline.cancel();
    }
  });
}

async function runMutation(core: EngineCore, path: string, definition: AnyFunctionDefinition, args: unknown, invoker: Invoker, client?: ClientSequence) {
  return core.connections.inWriteTransaction(async (store) => {
    if (client) checkSequence(store, client);
    const state = newState(path);
    const deadline = startDeadline(core.clock, core.functionTimeoutMs, timeoutError('mutation', path, core.functionTimeoutMs));
    try {
      const write = mutationWriter(state, store);
      const ctx = {
        db: mutationDatabase(state, store),
        invoker,
        email: emailApi(write, () => core.clock.now(), `mutation ${path}`, core.afterEnqueue),
        scheduler: schedulerApi(write, () => core.clock.now(), `mutation ${path}`, core.afterSchedule),
      };
      const work = runInScope({ kind: 'mutation', path, invocationId: nextInvocationId(), inTransaction: false, fetchPolicy: core.fetchPolicy }, () => callHandler(definition.handler, ctx, args));
      const value = checkReturnValue(path, await raceDeadline(work, deadline));
      if (client) recordSequence(store, client, 200, { value }, core.clock.now());
      return value;
    } finally {
      state.active = false;
      deadline.cancel();
    }
  });
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

export async function callFunction(core: EngineCore, request: CallRequest, snapshot?: DocumentStore): Promise<CallResponse> {
  try {
    const definition = resolveFunction(core, request);
    const args = validateArgs(core, definition, request.args);
    if (definition.kind === 'action') return await runAction(core, request, definition as never, args);
    if (definition.kind === 'query') {
      const reads: Read[] | undefined = request.trackReads ? [] : undefined;
      const value = await runQuery(core, request.path, definition, args, request.invoker, reads, snapshot);
      return { status: 200, body: { value }, headers: {}, reads };
    }
    const value = await runMutation(core, request.path, definition, args, request.invoker, request.client);
    return { status: 200, body: { value }, headers: {} };
  } catch (error) {
    if (error instanceof DuplicateMutation) return { status: error.status, body: error.body, headers: { 'valet-duplicate': 'true' } };
    const { status, body } = failureResponse(core, request.path, error);
    const client = request.client;
    // A rejected mutation still advances its client (its queue must not wedge), unless the refusal
    // was about the sequence itself or the caller's token (it resends once signed in again).
    if (client && request.kind === 'mutation' && body.code !== 'out_of_order' && status !== 401) {
      await core.connections.withWriter((store) => recordSequence(store, client, status, body, core.clock.now()));
    }
    return { status, body, headers: {} };
  }
}
