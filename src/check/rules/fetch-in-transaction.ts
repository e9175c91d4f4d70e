// Rule: fetch inside ctx.db.transaction, which holds the transaction open and may send twice.
import type { Rule } from './rule.js';
import { fetchCalls, transactions } from './syntax.js';

/**
 * A network call inside a transaction would hold it open for the call's whole duration, and on
 * PostgreSQL a conflict runs the callback again (the request would be sent twice).
 */
export const fetchInTransaction: Rule = {
  id: 'fetch-in-transaction',
  severity: 'error',
  fix: 'call fetch first, then open ctx.db.transaction(...) for the database work',
  check(site) {
    return transactions(site).flatMap((scope) =>
      fetchCalls(site.tree, scope.callback).map((node) => ({
        node,
        message: `fetch() inside ctx.db.transaction in ${site.name}: it throws at runtime`,
      })),
    );
  },
};
