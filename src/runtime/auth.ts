// Bearer tokens: JWTs verified strictly with jose — an algorithm allow-list, issuer, audience,
// required exp and sub, a small clock tolerance. Each rejection has its own stable code.
import { createLocalJWKSet, createRemoteJWKSet, errors, jwtVerify } from 'jose';
import type { JWTVerifyGetKey, KeyObject } from 'jose';
import { EngineError } from './errors.js';

export interface AuthConfig {
  issuer: string;
  audience: string;
  algorithms: string[];
  /** A key, a shared secret, or a JWKS getter. */
  key: KeyObject | Uint8Array | JWTVerifyGetKey | CryptoKey;
  clockToleranceSeconds: number;
  /** Where the configuration came from, for the server's ready line. */
  source: string;
}

export interface VerifiedUser {
  userId: string;
  claims: Record<string, unknown>;
}

const invalid = (code: string, message: string) => new EngineError(code, 401, message);

function describeFailure(error: unknown): EngineError {
  if (error instanceof errors.JWTExpired) return invalid('token_expired', 'the bearer token has expired');
  if (error instanceof errors.JWTClaimValidationFailed) {
    switch (error.claim) {
      case 'nbf':
      case 'iat':
        return invalid('token_not_yet_valid', 'the bearer token is not valid yet');
      case 'iss':
        return invalid('token_issuer_invalid', 'the bearer token was issued by someone this server does not trust');
      case 'aud':
        return invalid('token_audience_invalid', 'the bearer token is meant for another audience');
      default:
        return invalid('token_claim_missing', `the bearer token lacks a required claim (${error.claim}): exp and sub are required`);
    }
  }
  if (error instanceof errors.JOSEAlgNotAllowed) return invalid('token_algorithm_not_allowed', 'the bearer token is signed with an algorithm this server does not accept');
  if (error instanceof errors.JWSSignatureVerificationFailed) return invalid('token_signature_invalid', 'the bearer token signature does not verify');
  if (error instanceof errors.JWKSNoMatchingKey) return invalid('token_signature_invalid', 'no key of this server matches the bearer token');
  if (error instanceof errors.JOSENotSupported) return invalid('token_algorithm_not_allowed', 'the bearer token uses an unsupported algorithm');
  return invalid('token_malformed', 'the bearer token is not a valid JWT');
}

export async function verifyToken(config: AuthConfig, token: string): Promise<VerifiedUser> {
  try {
    const { payload } = await jwtVerify(token, config.key as never, {
      issuer: config.issuer,
      audience: config.audience,
      algorithms: config.algorithms,
      clockTolerance: config.clockToleranceSeconds,
      requiredClaims: ['exp', 'sub'],
    });
    if (typeof payload.sub !== 'string' || payload.sub.length === 0) throw invalid('token_claim_missing', 'the bearer token has no subject (sub)');
    return { userId: payload.sub, claims: payload as Record<string, unknown> };
  } catch (error) {
    if (error instanceof EngineError) throw error;
    throw describeFailure(error);
  }
}

/**
 * Production configuration from the environment: VALET_AUTH_ISSUER, VALET_AUTH_AUDIENCE and
 * either VALET_AUTH_JWKS_URL (RS256/ES256/EdDSA) or VALET_AUTH_SECRET (HS256);
 * VALET_AUTH_ALGORITHMS narrows the allow-list. Returns null when none is set.
 */
export function authConfigFromEnv(env: NodeJS.ProcessEnv): AuthConfig | null {
  const { VALET_AUTH_ISSUER: issuer, VALET_AUTH_AUDIENCE: audience, VALET_AUTH_JWKS_URL: jwksUrl, VALET_AUTH_SECRET: secret } = env;
  if (!issuer && !audience && !jwksUrl && !secret) return null;
  if (!issuer || !audience || (!jwksUrl && !secret)) {
    throw new Error('auth configuration is incomplete: set VALET_AUTH_ISSUER, VALET_AUTH_AUDIENCE and one of VALET_AUTH_JWKS_URL or VALET_AUTH_SECRET');
  }
  if (jwksUrl && secret) throw new Error('set only one of VALET_AUTH_JWKS_URL and VALET_AUTH_SECRET');
  const allowed = env.VALET_AUTH_ALGORITHMS?.split(',').map((a) => a.trim()).filter(Boolean);
  if (secret) {
    if (Buffer.byteLength(secret) < 32) throw new Error('VALET_AUTH_SECRET must be at least 32 bytes');
    const algorithms = allowed ?? ['HS256'];
    if (algorithms.some((a) => !a.startsWith('HS'))) throw new Error('with VALET_AUTH_SECRET only HS256/HS384/HS512 are allowed');
    return { issuer, audience, algorithms, key: new TextEncoder().encode(secret), clockToleranceSeconds: 5, source: 'shared secret (VALET_AUTH_SECRET)' };
  }
  const algorithms = allowed ?? ['RS256', 'ES256', 'EdDSA'];
  if (algorithms.some((a) => a.startsWith('HS') || a === 'none')) throw new Error('with a JWKS only asymmetric algorithms are allowed');
  return { issuer, audience, algorithms, key: createRemoteJWKSet(new URL(jwksUrl!)), clockToleranceSeconds: 5, source: `JWKS ${jwksUrl}` };
}

export function authConfigFromJwks(jwks: { keys: object[] }, issuer: string, audience: string, algorithms: string[], source: string): AuthConfig {
  return { issuer, audience, algorithms, key: createLocalJWKSet(jwks as never), clockToleranceSeconds: 5, source };
}
