// Which invocation the current async code belongs to. The fetch guard reads it (fetch throws in
// queries, mutations and transactions); ctx objects use it to refuse work after they finished.
import { AsyncLocalStorage } from 'node:async_hooks';
import type { CallRecord } from './calls/record.js';
import type { FetchPolicy } from './fetch-guard/guard.js';

export type ScopeKind = 'query' | 'mutation' | 'action' | 'http';

export interface InvocationScope {
  kind: ScopeKind;
  path: string;
  /** Identifies this call in logs: the invocation record id for actions, a fresh id otherwise. */
  invocationId: string;
  inTransaction: boolean;
  fetchPolicy: FetchPolicy;
  /** How many actions deep this call runs (ctx.runAction nests). */
  depth?: number;
  /** The call's record in the activity log: its log lines and what it caused go there. */
  call?: CallRecord;
}

const storage = new AsyncLocalStorage<InvocationScope>();

export function currentScope(): InvocationScope | undefined {
  return storage.getStore();
}

export function runInScope<T>(scope: InvocationScope, fn: () => T): T {
  return storage.run(scope, fn);
}
