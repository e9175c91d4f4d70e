// Rule: several writes in an action outside a transaction, which can leave half-done work.
import type { Rule } from './rule.js';
import { databaseCalls, isRepeated, isWithin, transactions } from './syntax.js';

const WRITES = ['insert', 'insertOrIgnore', 'patch', 'replace', 'delete'] as const;

/** In actions each ctx.db write commits on its own; several of them can leave half-done work. */
export const writesOutsideTransaction: Rule = {
  id: 'writes-outside-transaction',
  severity: 'error',
  fix: 'wrap the writes in `await ctx.db.transaction(async (tx) => { ... })` so they commit together (fetch first, then open the transaction)',
  check(site) {
    if (site.kind !== 'action' && site.kind !== 'http') return [];
    const scopes = transactions(site);
    const autoCommit = databaseCalls(site, WRITES).filter(
      (call) => !scopes.some((scope) => isWithin(call, scope.callback)),
    );
    const repeated = autoCommit.some((call) => isRepeated(site.tree, call, site.handler));
    if (autoCommit.length < 2 && !repeated) return [];
    const lines = autoCommit.map((call) => site.tree.position(call.start).line).join(', ');
    const count = repeated ? 'repeated' : String(autoCommit.length);
    return [
      {
        node: autoCommit[1] ?? autoCommit[0]!,
        message: `${count} auto-commit writes in ${site.name} (line${autoCommit.length > 1 ? 's' : ''} ${lines}): each commits on its own, so a failure between them leaves partial changes`,
      },
    ];
  },
};
