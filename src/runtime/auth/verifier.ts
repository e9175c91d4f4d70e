// Which configuration checks a bearer token: the one from the environment (VALET_AUTH_*, or the
// app's dev key) and each provider of valet/auth.config.ts. With several, the token's (unverified)
// `iss` picks the candidates, and one of them must verify it — signature, issuer, audience and
// times, as verify.ts checks them. Verified tokens are remembered per configuration (token-cache.ts).
import type { JWTVerifyGetKey } from 'jose';
import { EngineError } from '../errors.js';
import type { ProviderSpec } from './providers.js';
import type { FetchJson } from './remote-keys.js';
import { RemoteKeySet } from './remote-keys.js';
import { TokenCache } from './token-cache.js';
import type { AuthConfig, VerifiedUser } from './verify.js';

interface Candidate {
  issuers: string[];
  cache: TokenCache;
  /** The app's own valet/auth tokens. */
  own: boolean;
}

export interface Verified extends VerifiedUser {
  own: boolean;
}

/** The app's own issuer (valet/auth), verified with the keys it signs with. */
export interface OwnIssuer {
  issuer: string;
  audience: string;
  key: JWTVerifyGetKey;
}

const withoutTrailingSlash = (issuer: string) => issuer.replace(/\/+$/, '');

/** The issuer a JWT claims, before anything is verified (it only picks which keys to try). */
function claimedIssuer(token: string): string | null {
  const payload = token.split('.')[1];
  if (payload === undefined) return null;
  try {
    const iss = (JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { iss?: unknown }).iss;
    return typeof iss === 'string' ? withoutTrailingSlash(iss) : null;
  } catch {
    return null;
  }
}

/** Remote key sets by where they come from: kept across reloads, so a save in valet dev refetches nothing. */
export class KeySets {
  private readonly sets = new Map<string, RemoteKeySet>();

  constructor(
    private readonly fetchJson: FetchJson,
    private readonly now: () => number,
  ) {}

  keyFor(spec: ProviderSpec): AuthConfig['key'] {
    if ('jwks' in spec.keys) return localKeySet(spec.keys.jwks);
    const source = 'discovery' in spec.keys ? { discovery: spec.keys.discovery } : { jwksUrl: spec.keys.jwksUrl };
    const id = JSON.stringify(source);
    let set = this.sets.get(id);
    if (!set) {
      set = new RemoteKeySet({ label: spec.label, issuer: spec.issuer, ...source }, this.fetchJson, this.now);
      this.sets.set(id, set);
    }
    const remote = set;
    return Object.assign((...args: Parameters<JWTVerifyGetKey>) => remote.getKey(...args), {
      jwks: () => remote.jwks(),
    }) as unknown as JWTVerifyGetKey;
  }

  /** The set for a provider's keys (tests count its fetches). */
  get(spec: ProviderSpec): RemoteKeySet | undefined {
    if ('jwks' in spec.keys) return undefined;
    const source = 'discovery' in spec.keys ? { discovery: spec.keys.discovery } : { jwksUrl: spec.keys.jwksUrl };
    return this.sets.get(JSON.stringify(source));
  }
}

/** A JWKS given in the config itself, imported on the first token. */
function localKeySet(jwks: { keys: object[] }): JWTVerifyGetKey {
  let real: JWTVerifyGetKey | null = null;
  return (async (...args: Parameters<JWTVerifyGetKey>) => {
    real ??= (await import('jose')).createLocalJWKSet(jwks as never);
    return real(...args);
  }) as JWTVerifyGetKey;
}

export class TokenVerifier {
  private readonly candidates: Candidate[];

  constructor(
    base: AuthConfig | null,
    providers: readonly ProviderSpec[],
    keys: KeySets,
    own: OwnIssuer | null = null,
  ) {
    this.candidates = [];
    if (own)
      this.candidates.push(
        candidateOf(
          {
            issuer: own.issuer,
            audience: own.audience,
            algorithms: ['ES256'],
            key: own.key,
            clockToleranceSeconds: 5,
            source: 'valet/auth',
          },
          true,
        ),
      );
    if (base) this.candidates.push(candidateOf(base));
    for (const spec of providers) {
      this.candidates.push(
        candidateOf({
          issuer: [spec.issuer, `${spec.issuer}/`],
          audience: spec.audience ?? undefined,
          algorithms: spec.algorithms,
          key: keys.keyFor(spec),
          clockToleranceSeconds: 5,
          source: spec.label,
        }),
      );
    }
  }

  get configured(): boolean {
    return this.candidates.length > 0;
  }

  async verify(token: string): Promise<Verified> {
    if (this.candidates.length === 1) return this.verifyWith(this.candidates[0]!, token);
    const issuer = claimedIssuer(token);
    if (issuer === null) throw new EngineError('token_malformed', 'the bearer token is not a valid JWT');
    const matching = this.candidates.filter((c) => c.issuers.includes(issuer));
    if (matching.length === 0)
      throw new EngineError(
        'token_issuer_invalid',
        'the bearer token was issued by someone this server does not trust',
      );
    let firstError: unknown = null;
    for (const candidate of matching) {
      try {
        return await this.verifyWith(candidate, token);
      } catch (error) {
        firstError ??= error;
      }
    }
    throw firstError;
  }

  private async verifyWith(candidate: Candidate, token: string): Promise<Verified> {
    return { ...(await candidate.cache.verify(token)), own: candidate.own };
  }
}

function candidateOf(config: AuthConfig, own = false): Candidate {
  const issuers = (Array.isArray(config.issuer) ? config.issuer : [config.issuer]).map(withoutTrailingSlash);
  return { issuers: [...new Set(issuers)], cache: new TokenCache(config), own };
}
