import type { Invoker } from '../server/ctx.js';

/** Who an idempotency key belongs to: keys never collide across callers. */
export function principalOf(invoker: Invoker): string {
  if (invoker.type === 'user') return `user:${invoker.userId}`;
  if (invoker.type === 'anonymous') return 'anonymous';
  return `system:${invoker.source}`;
}

/** `--as user:<id> | anonymous | system` as the CLI and the admin API spell it. */
export function parseActAs(value: string | undefined | null): Invoker | null {
  if (!value || value === 'system') return { type: 'system', source: 'admin' };
  if (value === 'anonymous') return { type: 'anonymous' };
  const match = /^user:(.+)$/.exec(value);
  return match ? { type: 'user', userId: match[1]!, claims: { sub: match[1]! } } : null;
}
