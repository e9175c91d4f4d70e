// ctx.runQuery / ctx.runMutation / ctx.runAction in actions and HTTP routes: another function, as
// the same caller. A mutation runs in its own transaction, so inside ctx.db.transaction it would
// wait for the writer the transaction holds (and commit after a rollback): it throws at once
// instead, and so does an action. A query inside the transaction reads the transaction's own
// snapshot, which is sound. Actions nest at most MAX_ACTION_DEPTH deep.
import type { Invoker } from '../../server/ctx.js';
import type { InvocationState } from '../database-api.js';
import { PASSING_CODES } from '../../protocol/error-codes.js';
import { decodeValue } from '../../protocol/values.js';
import type { ErrorBody } from '../../protocol/errors.js';
import { EngineError } from '../errors.js';
import { currentScope } from '../scope.js';
import type { EngineCore } from './types.js';

type Ref = { path: string };

export const MAX_ACTION_DEPTH = 8;

function insideTransaction(state: InvocationState) {
  return currentScope()?.inTransaction && state.transaction ? state.transaction : null;
}

export function callerApi(core: EngineCore, invoker: Invoker, state: InvocationState) {
  const run = async (kind: 'query' | 'mutation' | 'action', ref: Ref, args: unknown) => {
    const transaction = insideTransaction(state);
    if (transaction && kind !== 'query') {
      const name = kind === 'mutation' ? 'runMutation' : 'runAction';
      throw new EngineError(
        'not_allowed_in_transaction',
        `${state.path}: ctx.${name} cannot be called inside ctx.db.transaction (it runs in its own transaction); call it before or after the transaction, or do the writes with tx`,
      );
    }
    const depth = (currentScope()?.depth ?? 0) + (kind === 'action' ? 1 : 0);
    if (depth > MAX_ACTION_DEPTH)
      throw new EngineError(
        'actions_nested_too_deep',
        `${state.path}: ctx.runAction nests more than ${MAX_ACTION_DEPTH} actions deep`,
      );
    const call = currentScope()?.call;
    const response = await core.call(
      {
        kind,
        path: ref?.path,
        args,
        invoker,
        external: false,
        depth,
        fence: state.fence,
        source: 'function',
        parent: call ? { id: call.id, root: call.root } : null,
      },
      transaction ?? undefined,
    );
    const body = response.body as ErrorBody;
    // What another mutation or action did counts as this invocation's writes, unless it decided nothing.
    if (kind !== 'query' && (response.status === 200 || !PASSING_CODES.has(body.code))) state.committed = true;
    // The callee's answer is in wire form (bytes as {"$bytes": …}); the caller gets values as handlers see them.
    if (response.status === 200) return decodeValue((response.body as { value: unknown }).value);
    throw EngineError.fromBody(body, `${ref?.path}: `);
  };
  return {
    runQuery: (ref: Ref, args?: unknown) => run('query', ref, args),
    runMutation: (ref: Ref, args?: unknown) => run('mutation', ref, args),
    runAction: (ref: Ref, args?: unknown) => run('action', ref, args),
  };
}
