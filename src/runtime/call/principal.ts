// Who an idempotency key, or a sync client's sequence, belongs to: never shared across callers.
import type { Invoker } from '../../server/ctx.js';

export function principalOf(invoker: Invoker): string {
  if (invoker.type === 'user') return `user:${invoker.userId}`;
  if (invoker.type === 'anonymous') return 'anonymous';
  return `system:${invoker.source}`;
}
