// A provider's signing keys, fetched through the fetch guard (an auth config can never make the
// server reach a private address it would refuse an action), cached, and fetched again when a
// token names a key id the cache lacks (the provider rotated) — at most once per REFETCH_MS, so
// a flood of made-up key ids cannot make the server hammer the provider.
import type { JWK, JWTVerifyGetKey } from 'jose';
import { EngineError } from '../errors.js';

/** Keys older than this are fetched again on the next token (kept if that fails). */
const MAX_AGE_MS = 10 * 60 * 1000;
/** A key id the cache lacks refetches at most this often. */
export const REFETCH_MS = 30 * 1000;
const MAX_BODY_BYTES = 512 * 1024;

export type FetchJson = (url: string) => Promise<unknown>;

const unavailable = (label: string, why: string) =>
  new EngineError('auth_keys_unavailable', `the signing keys of ${label} could not be fetched: ${why}`);

/** GETs JSON with `fetch` (the guarded one), bounded in size, with what went wrong in words. */
export function jsonFetcher(
  fetch: (url: string, init: RequestInit) => Promise<Response>,
  timeoutMs = 10_000,
): FetchJson {
  return async (url) => {
    const response = await fetch(url, {
      headers: { accept: 'application/json' },
      redirect: 'follow',
      signal: AbortSignal.timeout(timeoutMs),
    });
    if (!response.ok) throw new Error(`${new URL(url).origin}${new URL(url).pathname} answered ${response.status}`);
    const body = await response.arrayBuffer();
    if (body.byteLength > MAX_BODY_BYTES)
      throw new Error(`${new URL(url).pathname} is larger than ${MAX_BODY_BYTES} bytes`);
    return JSON.parse(Buffer.from(body).toString('utf8'));
  };
}

export interface KeySource {
  label: string;
  /** The issuer a discovery document must name (OpenID Connect providers). */
  issuer: string;
  discovery?: string;
  jwksUrl?: string;
}

export class RemoteKeySet {
  private keys: { keys: JWK[] } | null = null;
  private local: JWTVerifyGetKey | null = null;
  private fetchedAt = Number.NEGATIVE_INFINITY;
  private lastAttempt = Number.NEGATIVE_INFINITY;
  private lastForced = Number.NEGATIVE_INFINITY;
  private loading: Promise<void> | null = null;
  /** How many times the keys were fetched (tests and the bench read it). */
  fetches = 0;

  constructor(
    private readonly source: KeySource,
    private readonly fetchJson: FetchJson,
    private readonly now: () => number,
  ) {}

  /** The current keys as JSON (the token cache empties itself when they change). */
  jwks(): unknown {
    return this.keys;
  }

  /** A jose key getter over these keys. */
  readonly getKey = (async (header, token) => {
    const jose = await import('jose');
    if (!this.local || this.now() - this.fetchedAt >= MAX_AGE_MS) await this.refresh(false);
    try {
      return await this.localGetter()(header, token);
    } catch (error) {
      // A key id we lack: the provider may have rotated; look again (rate-limited).
      if (!(error instanceof jose.errors.JWKSNoMatchingKey) || !(await this.refresh(true))) throw error;
      return this.localGetter()(header, token);
    }
  }) as JWTVerifyGetKey;

  private localGetter(): JWTVerifyGetKey {
    if (!this.local) throw unavailable(this.source.label, 'no keys yet');
    return this.local;
  }

  /** Fetches the keys again; `forced` by an unknown key id. Whether new keys were loaded. */
  private async refresh(forced: boolean): Promise<boolean> {
    if (this.loading) {
      await this.loading.catch(() => undefined);
      return true;
    }
    const now = this.now();
    // Unknown key ids refetch at most once per REFETCH_MS; an expired cache (or a failed first
    // fetch) is tried again at the same pace.
    if (forced) {
      if (now - this.lastForced < REFETCH_MS) return false;
      this.lastForced = now;
    } else if (now - this.lastAttempt < REFETCH_MS && this.lastAttempt !== Number.NEGATIVE_INFINITY) {
      if (this.local) return false;
      throw unavailable(this.source.label, 'the last attempt failed; trying again shortly');
    }
    this.lastAttempt = now;
    this.loading = this.load();
    try {
      await this.loading;
      return true;
    } catch (error) {
      // Keys we already have stay in use while the provider is out of reach.
      if (this.local) return false;
      throw error;
    } finally {
      this.loading = null;
    }
  }

  private async load(): Promise<void> {
    const { label } = this.source;
    let jwksUrl = this.source.jwksUrl;
    this.fetches++;
    try {
      if (this.source.discovery) {
        const document = (await this.fetchJson(this.source.discovery)) as { issuer?: unknown; jwks_uri?: unknown };
        const issuer = typeof document?.issuer === 'string' ? document.issuer.replace(/\/+$/, '') : null;
        if (issuer !== this.source.issuer)
          throw new Error(
            `its discovery document names the issuer ${JSON.stringify(document?.issuer)}, not ${this.source.issuer}`,
          );
        if (typeof document.jwks_uri !== 'string') throw new Error('its discovery document has no jwks_uri');
        jwksUrl = document.jwks_uri;
      }
      const jwks = (await this.fetchJson(jwksUrl!)) as { keys?: unknown };
      if (!Array.isArray(jwks?.keys))
        throw new Error(`${new URL(jwksUrl!).pathname} is not a JWKS ({ "keys": [...] })`);
      const jose = await import('jose');
      const keys = { keys: jwks.keys as JWK[] };
      this.local = jose.createLocalJWKSet(keys);
      this.keys = keys;
      this.fetchedAt = this.now();
    } catch (error) {
      if (error instanceof EngineError && error.code === 'auth_keys_unavailable') throw error;
      throw unavailable(label, (error as Error).message);
    }
  }
}
