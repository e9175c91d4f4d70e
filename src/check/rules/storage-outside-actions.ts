// Rule: ctx.storage used where it throws at run time — the bytes (get, store) outside actions and
// HTTP routes, writes (generateUploadUrl, delete) in a query.
import { memberName, unwrap } from '../syntax-tree.js';
import type { Rule } from './rule.js';
import { calls } from './syntax.js';

const BYTES = ['get', 'store'];
const WRITES = ['generateUploadUrl', 'delete'];

export const storageOutsideActions: Rule = {
  id: 'storage-outside-actions',
  severity: 'error',
  fix: 'read or store bytes in an action (ctx.storage.get / store), and give queries and mutations the file id or its URL (ctx.storage.getUrl)',
  check(site) {
    if (site.kind !== 'query' && site.kind !== 'mutation') return [];
    const refused = site.kind === 'query' ? [...BYTES, ...WRITES] : BYTES;
    return calls(site.tree, site.handler)
      .filter((call) => {
        const method = memberName(call.callee);
        return (
          method !== null &&
          refused.includes(method) &&
          site.storageExpressions.has(site.tree.textOf(unwrap(call.callee.object)!))
        );
      })
      .map((node) => ({
        node,
        message: `ctx.storage.${memberName(node.callee)}() in ${site.kind} ${site.name}: ${BYTES.includes(memberName(node.callee)!) ? 'file bytes are read and stored in actions and HTTP routes only' : 'queries cannot write'} (it throws storage_not_allowed at run time)`,
      }));
  },
};
