// Rule: a public action that calls a third party, which anyone may then make the app call at will.
import type { Rule } from './rule.js';
import { fetchCalls } from './syntax.js';

/** Anyone can call a public action, and so make the app call a third party as often as they like. */
export const publicActionCallsThirdParty: Rule = {
  id: 'public-action-calls-third-party',
  severity: 'warning',
  fix: "make it access: 'authenticated', or have a mutation record the intent and schedule an access: 'system' action",
  check(site) {
    if (site.kind !== 'action' || site.access !== 'public') return [];
    const [first] = fetchCalls(site.tree, site.handler);
    return first
      ? [
          {
            node: first,
            message: `public action ${site.name} calls a third party: anonymous callers can trigger it at will`,
          },
        ]
      : [];
  },
};
