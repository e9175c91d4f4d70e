// A query: read-only, in one consistent snapshot (a pooled reader's read transaction, or the
// snapshot it is given: a batch of live-query re-runs, or an action's open transaction).
import type { Auth } from '../../server/ctx.js';
import { authApi } from '../auth/identity.js';
import type { Invoker } from '../../server/ctx.js';
import type { AnyFunctionDefinition } from '../../server/functions.js';
import type { DocumentStore } from '../../storage/documents.js';
import type { Read } from '../../storage/read-set.js';
import type { CallRecord } from '../calls/record.js';
import { queryDatabase, queryReader } from '../database-api.js';
import { storageApi } from '../files/api.js';
import { runInScope } from '../scope.js';
import { withinDeadline } from './deadline.js';
import { callHandler, checkReturnValue, timedOut } from './handler.js';
import type { EngineCore } from './types.js';

export async function runQuery(
  core: EngineCore,
  path: string,
  definition: AnyFunctionDefinition,
  args: unknown,
  invoker: Invoker,
  record: CallRecord,
  reads?: Read[],
  snapshot?: DocumentStore,
) {
  const inSnapshot = <T>(task: (store: DocumentStore) => Promise<T>) =>
    snapshot ? task(snapshot) : core.connections.inReadSnapshot(task, { name: path });
  return inSnapshot(async (store) => {
    // A run that is tried again (connections/postgres.ts) records its reads afresh.
    reads?.splice(0);
    const state = { path, active: true, transaction: null };
    try {
      let storage: ReturnType<typeof storageApi> | undefined;
      let auth: Auth | undefined;
      const ctx = {
        db: queryDatabase(state, store, reads),
        invoker,
        get auth() {
          auth ??= authApi(invoker);
          return auth;
        },
        // Made on first use: most queries never touch files, and this is the hottest call path.
        get storage() {
          storage ??= storageApi({
            files: core.files,
            kind: 'query',
            read: queryReader(state, store),
            now: () => core.clock.now(),
            record: reads ? (read) => reads.push(read) : undefined,
          });
          return storage;
        },
      };
      const work = runInScope(
        {
          kind: 'query',
          path,
          invocationId: record.id,
          inTransaction: false,
          fetchPolicy: core.fetchPolicy,
          call: record,
        },
        () => callHandler(definition.handler, ctx, args),
      );
      const returned = await withinDeadline(
        core.clock,
        core.functionTimeoutMs,
        () => timedOut('query', path, core.functionTimeoutMs),
        work,
      );
      return checkReturnValue(path, returned, definition.returns);
    } finally {
      state.active = false;
    }
  });
}
