// ctx.runQuery / ctx.runMutation in actions and HTTP routes: another function, as the same
// caller. A mutation runs in its own transaction, so inside ctx.db.transaction it would wait for
// the writer the transaction holds (and commit after a rollback): it throws at once instead. A
// query inside the transaction reads the transaction's own snapshot, which is sound.
import type { Invoker } from '../../server/ctx.js';
import type { InvocationState } from '../database-api.js';
import { EngineError } from '../errors.js';
import { currentScope } from '../scope.js';
import type { EngineCore } from './types.js';

type Ref = { path: string };

function insideTransaction(state: InvocationState) {
  return currentScope()?.inTransaction && state.transaction ? state.transaction : null;
}

export function callerApi(core: EngineCore, invoker: Invoker, state: InvocationState) {
  const run = async (kind: 'query' | 'mutation' | 'action', ref: Ref, args: unknown) => {
    const transaction = insideTransaction(state);
    if (transaction && kind !== 'query') {
      const name = kind === 'mutation' ? 'runMutation' : 'runAction';
      throw new EngineError('not_allowed_in_transaction', 500, `${state.path}: ctx.${name} cannot be called inside ctx.db.transaction (it runs in its own transaction); call it before or after the transaction, or do the writes with tx`);
    }
    const response = await core.call({ kind, path: ref?.path, args, invoker, external: false }, transaction ?? undefined);
    if (response.status === 200) return (response.body as { value: unknown }).value;
    const body = response.body as { code: string; message: string; data?: unknown };
    throw new EngineError(body.code, response.status, `${ref?.path}: ${body.message}`, body.data);
  };
  return {
    runQuery: (ref: Ref, args?: unknown) => run('query', ref, args),
    runMutation: (ref: Ref, args?: unknown) => run('mutation', ref, args),
  };
}
