// Where token verification is configured: production from the environment (an issuer and
// audience with a JWKS URL or a shared secret), or an app's dev key when a server is told to
// trust it. A half-written configuration is the user's mistake, reported as such.
import type { JWK, JWTVerifyGetKey } from 'jose';
import { UserError } from '../../errors/user-error.js';
import type { AuthConfig } from './verify.js';

type Jose = typeof import('jose');

/**
 * A key set made on the first token it checks, so that a server starts without loading jose.
 * `jwks()` (what the token cache watches for rotation) is the real set's, once there is one.
 */
function lazyKeySet(make: (jose: Jose) => JWTVerifyGetKey): JWTVerifyGetKey {
  let real: JWTVerifyGetKey | null = null;
  const getter = async (...args: Parameters<JWTVerifyGetKey>) => {
    real ??= make(await import('jose'));
    return real(...args);
  };
  return Object.assign(getter, {
    jwks: () => (real as { jwks?: () => unknown } | null)?.jwks?.(),
  }) as unknown as JWTVerifyGetKey;
}

/**
 * VALET_AUTH_ISSUER, VALET_AUTH_AUDIENCE and either VALET_AUTH_JWKS_URL (RS256/ES256/EdDSA) or
 * VALET_AUTH_SECRET (HS256); VALET_AUTH_ALGORITHMS narrows the allow-list. Null when none is set.
 */
export function authConfigFromEnv(env: NodeJS.ProcessEnv): AuthConfig | null {
  const {
    VALET_AUTH_ISSUER: issuer,
    VALET_AUTH_AUDIENCE: audience,
    VALET_AUTH_JWKS_URL: jwksUrl,
    VALET_AUTH_SECRET: secret,
  } = env;
  if (!issuer && !audience && !jwksUrl && !secret) return null;
  if (!issuer || !audience || (!jwksUrl && !secret)) {
    throw new UserError(
      'auth configuration is incomplete: set VALET_AUTH_ISSUER, VALET_AUTH_AUDIENCE and one of VALET_AUTH_JWKS_URL or VALET_AUTH_SECRET',
    );
  }
  if (jwksUrl && secret)
    throw new UserError('auth configuration: set only one of VALET_AUTH_JWKS_URL and VALET_AUTH_SECRET');
  const allowed = env.VALET_AUTH_ALGORITHMS?.split(',')
    .map((a) => a.trim())
    .filter(Boolean);
  if (secret) {
    if (Buffer.byteLength(secret) < 32)
      throw new UserError('auth configuration: VALET_AUTH_SECRET must be at least 32 bytes');
    const algorithms = allowed ?? ['HS256'];
    if (algorithms.some((a) => !a.startsWith('HS')))
      throw new UserError('auth configuration: with VALET_AUTH_SECRET only HS256/HS384/HS512 are allowed');
    return {
      issuer,
      audience,
      algorithms,
      key: new TextEncoder().encode(secret),
      clockToleranceSeconds: 5,
      source: 'shared secret (VALET_AUTH_SECRET)',
    };
  }
  const algorithms = allowed ?? ['RS256', 'ES256', 'EdDSA'];
  if (algorithms.some((a) => a.startsWith('HS') || a === 'none'))
    throw new UserError('auth configuration: with a JWKS only asymmetric algorithms are allowed');
  let url: URL;
  try {
    url = new URL(jwksUrl!);
  } catch {
    throw new UserError(`auth configuration: VALET_AUTH_JWKS_URL is not a URL: ${jwksUrl}`);
  }
  return {
    issuer,
    audience,
    algorithms,
    key: lazyKeySet((jose) => jose.createRemoteJWKSet(url)),
    clockToleranceSeconds: 5,
    source: `JWKS ${jwksUrl}`,
  };
}

export function authConfigFromJwks(
  jwks: { keys: object[] },
  issuer: string,
  audience: string,
  algorithms: string[],
  source: string,
): AuthConfig {
  return {
    issuer,
    audience,
    algorithms,
    key: lazyKeySet((jose) => jose.createLocalJWKSet(jwks as never)),
    clockToleranceSeconds: 5,
    source,
  };
}

/** Trusts tokens signed with an app's dev key: ES256 only, so an HS256 token "signed" with the public key is refused. */
export function devAuthConfig(publicJwk: JWK, issuer: string, audience: string, source: string): AuthConfig {
  return authConfigFromJwks({ keys: [publicJwk] }, issuer, audience, ['ES256'], source);
}
