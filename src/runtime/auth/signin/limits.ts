// valet/auth's rate limits: fixed windows counted in the database (shared by every instance), each
// counted in a transaction of its own so a refused attempt still counts. Numbers in docs/auth.md.
import type { Connections } from '../../connections/types.js';
import { EngineError } from '../../errors.js';
import { clearEvents, countEvent } from './store.js';

export interface Limit {
  /** What the window counts, for the message. */
  what: string;
  max: number;
  windowMs: number;
}

const MINUTE = 60_000;

export const LIMITS = {
  /** Password sign-ins and code entries, per account (email). */
  attemptsPerAccount: { what: 'sign-in attempts for this account', max: 10, windowMs: 15 * MINUTE },
  /** The same, per client address (generous: people behind one NAT or proxy share it). */
  attemptsPerAddress: { what: 'sign-in attempts from this address', max: 100, windowMs: 15 * MINUTE },
  /** Codes sent (sign-up, email sign-in, password reset), per email address. */
  codesPerEmail: { what: 'codes sent to this email address', max: 5, windowMs: 60 * MINUTE },
  /** Codes sent, per client address. */
  codesPerAddress: { what: 'codes requested from this address', max: 30, windowMs: 60 * MINUTE },
  /** Token refreshes, per client address. */
  refreshesPerAddress: { what: 'token refreshes from this address', max: 600, windowMs: 15 * MINUTE },
} satisfies Record<string, Limit>;

export class RateLimiter {
  constructor(
    private readonly connections: Connections,
    private readonly now: () => number,
  ) {}

  /** Counts one event under each key; over any limit is a 429 with when to try again. */
  async take(entries: [Limit, string][]): Promise<void> {
    const now = this.now();
    const over = await this.connections.inWriteTransaction(async (store) => {
      let worst: { limit: Limit; retryAfterMs: number } | null = null;
      for (const [limit, key] of entries) {
        const { count, windowStart } = await countEvent(store.sql, key, limit.windowMs, now);
        if (count > limit.max) {
          const retryAfterMs = windowStart + limit.windowMs - now;
          if (!worst || retryAfterMs > worst.retryAfterMs) worst = { limit, retryAfterMs };
        }
      }
      return worst;
    });
    if (over) {
      const seconds = Math.max(1, Math.ceil(over.retryAfterMs / 1000));
      // The answer's Retry-After header comes from data.retryAfterSeconds (http/respond.ts).
      throw new EngineError('auth_rate_limited', `too many ${over.limit.what}: try again in ${seconds} s`, {
        retryAfterSeconds: seconds,
      });
    }
  }

  /** A success resets the account's failed attempts. */
  async reset(key: string): Promise<void> {
    await this.connections.inWriteTransaction((store) => clearEvents(store.sql, key));
  }
}
