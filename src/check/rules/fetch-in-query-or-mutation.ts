// Rule: fetch in a query or mutation, where it throws at run time.
import type { Rule } from './rule.js';
import { fetchCalls } from './syntax.js';

/** Queries and mutations may be re-run and replayed on clients; fetch throws in them at runtime. */
export const fetchInQueryOrMutation: Rule = {
  id: 'fetch-in-query-or-mutation',
  severity: 'error',
  fix: 'move the call into an action; a mutation can record the intent and schedule that action with ctx.scheduler.runAfter(0, ...)',
  check(site) {
    if (site.kind !== 'query' && site.kind !== 'mutation') return [];
    return fetchCalls(site.tree, site.handler).map((node) => ({
      node,
      message: `fetch() in ${site.kind} ${site.name}: ${site.kind === 'query' ? 'queries' : 'mutations'} cannot call the network (it throws at runtime)`,
    }));
  },
};
