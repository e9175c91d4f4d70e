// Who an admin call acts as, spelled the same by `valet run --as`, the X-Valet-As header and the
// dashboard: `system` (the default), `anonymous`, or `user:<id>`.
import type { Invoker } from '../server/ctx.js';

export const ACT_AS_SYNTAX = 'system, anonymous or user:<id>';

export function parseActAs(value: string | undefined | null): Invoker | null {
  if (!value || value === 'system') return { type: 'system', source: 'admin' };
  if (value === 'anonymous') return { type: 'anonymous' };
  const match = /^user:(.+)$/.exec(value);
  return match ? { type: 'user', userId: match[1]!, claims: { sub: match[1]! } } : null;
}
