// Rule: email enqueued without a delivery key in a safeToRetry action, so a retry sends it twice.
import { Node } from '../ts-morph.js';
import type { Rule } from './rule.js';
import { calls } from './syntax.js';

/** A safeToRetry action can run again after a timeout; without a key, its email goes out twice. */
export const enqueueWithoutDeliveryKey: Rule = {
  id: 'enqueue-without-delivery-key',
  severity: 'error',
  fix: 'give the email a stable deliveryKey, e.g. deliveryKey: `receipt-${args.orderId}`',
  check(site) {
    if (!site.safeToRetry) return [];
    return calls(site.handler)
      .filter((call) => {
        const callee = call.getExpression();
        if (!Node.isPropertyAccessExpression(callee) || callee.getName() !== 'enqueue') return false;
        if (!site.emailExpressions.has(callee.getExpression().getText())) return false;
        const message = call.getArguments()[0];
        return (
          Node.isObjectLiteralExpression(message) &&
          !message.getProperty('deliveryKey') &&
          !message.getProperties().some((p) => Node.isSpreadAssignment(p))
        );
      })
      .map((node) => ({
        node,
        message: `email enqueued without deliveryKey in safeToRetry action ${site.name}: a retry sends it again`,
      }));
  },
};
