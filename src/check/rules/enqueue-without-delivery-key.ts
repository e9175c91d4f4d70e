// Rule: email enqueued without a delivery key in a safeToRetry action, so a retry sends it twice.
import { memberName, propertyOf, unwrap } from '../syntax-tree.js';
import type { Rule } from './rule.js';
import { calls } from './syntax.js';

/** A safeToRetry action can run again after a timeout; without a key, its email goes out twice. */
export const enqueueWithoutDeliveryKey: Rule = {
  id: 'enqueue-without-delivery-key',
  severity: 'error',
  fix: 'give the email a stable deliveryKey, e.g. deliveryKey: `receipt-${args.orderId}`',
  check(site) {
    if (!site.safeToRetry) return [];
    return calls(site.tree, site.handler)
      .filter((call) => {
        if (memberName(call.callee) !== 'enqueue') return false;
        if (!site.emailExpressions.has(site.tree.textOf(unwrap(call.callee.object)!))) return false;
        const message = unwrap(call.arguments[0]);
        return (
          message?.type === 'ObjectExpression' &&
          !propertyOf(message, 'deliveryKey') &&
          !message.properties.some((p: { type: string }) => p.type === 'SpreadElement')
        );
      })
      .map((node) => ({
        node,
        message: `email enqueued without deliveryKey in safeToRetry action ${site.name}: a retry sends it again`,
      }));
  },
};
