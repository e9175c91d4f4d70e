// Rule: a plain insert in a safeToRetry action, which a retry would repeat.
import type { Rule } from './rule.js';
import { databaseCalls, transactionCalls, transactions } from './syntax.js';

/** A safeToRetry action can run again; a plain insert would then add a second row. */
export const insertInRetryableAction: Rule = {
  id: 'insert-in-retryable-action',
  severity: 'error',
  fix: 'use ctx.db.insertOrIgnore(table, { _id: <an id derived from the args>, ... }) so a re-run inserts nothing new',
  check(site) {
    if (!site.safeToRetry) return [];
    const inserts = [
      ...databaseCalls(site, ['insert']),
      ...transactions(site).flatMap((scope) => transactionCalls(site.tree, scope, ['insert'])),
    ];
    return inserts.map((node) => ({
      node,
      message: `plain insert in safeToRetry action ${site.name}: a retry inserts the row again`,
    }));
  },
};
