// Verified bearer tokens, remembered: the same user's token arrives on every call, and an ES256
// signature check costs far more than the call it guards. An entry is the token's verified user,
// used only while the token is unexpired (never past `exp`, whatever the clock tolerance), in a
// bounded least-recently-used map. Only successes are kept: a refused token is checked again
// every time, so refusals stay exact. A JWKS whose keys changed (rotated, fetched again) empties it within a second.
import { systemClock } from '../clock.js';
import type { AuthConfig, VerifiedUser } from './verify.js';
import { verifyToken } from './verify.js';

const MAX_ENTRIES = 5_000;

type JwksGetter = ((...args: never[]) => unknown) & { jwks?: () => unknown };

/** How often the key set is compared with the one the entries were verified against. */
const KEY_CHECK_MS = 1_000;

export class TokenCache {
  private readonly entries = new Map<string, VerifiedUser>();
  private keysSeen: unknown;
  private keysCheckedAt = 0;

  constructor(
    private readonly config: AuthConfig,
    private readonly maxEntries = MAX_ENTRIES,
  ) {
    this.keysSeen = this.currentKeys();
  }

  /** The key material now: a JWKS's current keys (as JSON: jose hands out copies), else the key. */
  private currentKeys(): unknown {
    const key = this.config.key as unknown;
    if (typeof key !== 'function') return key;
    const getter = key as JwksGetter;
    return typeof getter.jwks === 'function' ? JSON.stringify(getter.jwks() ?? null) : key;
  }

  async verify(token: string, now = systemClock.now()): Promise<VerifiedUser> {
    if (now - this.keysCheckedAt >= KEY_CHECK_MS || now < this.keysCheckedAt) {
      this.keysCheckedAt = now;
      const keys = this.currentKeys();
      if (keys !== this.keysSeen) {
        this.entries.clear();
        this.keysSeen = keys;
      }
    }
    const cached = this.entries.get(token);
    if (cached) {
      this.entries.delete(token);
      if (now < cached.expiresAt) {
        this.entries.set(token, cached);
        return cached;
      }
    }
    const user = await verifyToken(this.config, token, now);
    // Handlers share the cached claims: frozen, so one call cannot change what the next one sees.
    deepFreeze(user.claims);
    this.entries.set(token, user);
    if (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    return user;
  }

  get size(): number {
    return this.entries.size;
  }
}

function deepFreeze(value: unknown): void {
  if (value === null || typeof value !== 'object' || Object.isFrozen(value)) return;
  Object.freeze(value);
  for (const child of Object.values(value)) deepFreeze(child);
}
