// A mutation: one write transaction (connections/), with the
// email outbox and the scheduler writing inside it, and (for a client's queued mutation) its
// sequence number checked and recorded in the same transaction. `inMutation` is the same
// transaction around any code (valet/testing's t.run, the dashboard's data editor).
import { authApi } from '../auth/identity.js';
import type { Invoker } from '../../server/ctx.js';
import type { AnyFunctionDefinition } from '../../server/functions.js';
import type { CallRecord } from '../calls/record.js';
import type { DocumentStore } from '../../storage/documents.js';
import { nextCallId } from '../calls/record.js';
import type { Fence } from '../claims/fence.js';
import { mutationDatabase, mutationWriter } from '../database-api.js';
import { storageApi } from '../files/api.js';
import { emailApi } from '../outbox/enqueue-email.js';
import { pushApi } from '../outbox/push-api.js';
import { schedulerApi } from '../scheduler/api.js';
import { runInScope } from '../scope.js';
import { checkSequence, recordSequence } from './client-sequence.js';
import type { ClientSequence } from './client-sequence.js';
import { withinDeadline } from './deadline.js';
import { callHandler, checkReturnValue, timedOut } from './handler.js';
import type { EngineCore } from './types.js';

/** Runs `fn` with a mutation's ctx, in one write transaction: committed if it resolves. */
export function inMutation<T>(
  core: EngineCore,
  path: string,
  invoker: Invoker,
  fn: (ctx: ReturnType<typeof mutationContext>, store?: DocumentStore) => unknown,
  options: {
    /** Hands `fn` the transaction's store too (Valet's own writers beside a mutation's: valet/auth). */
    withStore?: boolean;
    client?: ClientSequence;
    returns?: AnyFunctionDefinition['returns'];
    fence?: Fence;
    record?: CallRecord;
  } = {},
): Promise<T> {
  const { client, returns, fence, record } = options;
  return core.connections.inWriteTransaction(async (store) => {
    if (client) await checkSequence(store, client);
    const state = { path, active: true, transaction: null };
    try {
      const ctx = mutationContext(core, state, store, invoker, path);
      const work = runInScope(
        {
          kind: 'mutation',
          path,
          invocationId: record?.id ?? nextCallId(),
          inTransaction: false,
          fetchPolicy: core.fetchPolicy,
          call: record,
        },
        () => callHandler(fn, ctx, options.withStore ? store : undefined),
      );
      const returned = await withinDeadline(
        core.clock,
        core.functionTimeoutMs,
        () => timedOut('mutation', path, core.functionTimeoutMs),
        work,
      );
      const value = checkReturnValue(path, returned, returns);
      if (client) await recordSequence(store, client, 200, { value }, core.clock.now());
      // Last: a claim lost while the handler ran rolls everything back (a scheduled mutation's
      // done mark is this check, so its writes and the mark commit together).
      await fence?.check(store);
      return value as T;
    } finally {
      state.active = false;
    }
  });
}

function mutationContext(
  core: EngineCore,
  state: { path: string; active: boolean; transaction: null },
  store: Parameters<typeof mutationDatabase>[1],
  invoker: Invoker,
  path: string,
) {
  const write = mutationWriter(state, store);
  const now = () => core.clock.now();
  // What most handlers never touch is made on first use: this runs for every mutation.
  let auth: ReturnType<typeof authApi> | undefined;
  let email: ReturnType<typeof emailApi> | undefined;
  let push: ReturnType<typeof pushApi> | undefined;
  let scheduler: ReturnType<typeof schedulerApi> | undefined;
  let storage: ReturnType<typeof storageApi> | undefined;
  return {
    db: mutationDatabase(state, store),
    invoker,
    get auth() {
      auth ??= authApi(invoker);
      return auth;
    },
    get email() {
      email ??= emailApi(write, now, `mutation ${path}`, core.afterEnqueue);
      return email;
    },
    get push() {
      push ??= pushApi(write, invoker, now, `mutation ${path}`, core.pushPolicy, core.afterEnqueue);
      return push;
    },
    get scheduler() {
      scheduler ??= schedulerApi({
        write,
        now,
        scheduledBy: `mutation ${path}`,
        onScheduled: core.afterSchedule,
        kindOf: (name) => core.registry.functions.get(name)?.kind,
      });
      return scheduler;
    },
    get storage() {
      storage ??= storageApi({ files: core.files, kind: 'mutation', read: write, write, now });
      return storage;
    },
  };
}

export function runMutation(
  core: EngineCore,
  path: string,
  definition: AnyFunctionDefinition,
  args: unknown,
  invoker: Invoker,
  record: CallRecord,
  client?: ClientSequence,
  fence?: Fence,
) {
  return inMutation(core, path, invoker, (ctx) => definition.handler(ctx, args), {
    client,
    returns: definition.returns,
    fence,
    record,
  });
}
