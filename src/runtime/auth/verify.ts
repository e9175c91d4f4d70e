// Bearer tokens: JWTs verified strictly with jose — an algorithm allow-list, issuer, audience,
// required exp and sub, a small clock tolerance, and no `iat` from the future. Each rejection has
// its own stable code.
import { systemClock } from '../clock.js';
import type { errors as JoseErrors, JWTVerifyGetKey, KeyObject } from 'jose';
import { EngineError } from '../errors.js';
import { verifyPlainToken } from './fast-verify.js';
import type { ErrorCode } from '../../protocol/error-codes.js';

export interface AuthConfig {
  /** The `iss` tokens must carry (any of several spellings: a provider's with and without its trailing slash). */
  issuer: string | string[];
  /** The `aud` tokens must carry; undefined for any (a custom JWT provider without an applicationID). */
  audience: string | undefined;
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
  /** When the token stops being valid (ms). */
  expiresAt: number;
}

const invalid = (code: ErrorCode, message: string) => new EngineError(code, message);

function describeFailure(error: unknown, errors: typeof JoseErrors): EngineError {
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
        return invalid(
          'token_claim_missing',
          `the bearer token lacks a required claim (${error.claim}): exp and sub are required`,
        );
    }
  }
  if (error instanceof errors.JOSEAlgNotAllowed)
    return invalid(
      'token_algorithm_not_allowed',
      'the bearer token is signed with an algorithm this server does not accept',
    );
  if (error instanceof errors.JWSSignatureVerificationFailed)
    return invalid('token_signature_invalid', 'the bearer token signature does not verify');
  if (error instanceof errors.JWKSNoMatchingKey)
    return invalid('token_signature_invalid', 'no key of this server matches the bearer token');
  if (error instanceof errors.JOSENotSupported)
    return invalid('token_algorithm_not_allowed', 'the bearer token uses an unsupported algorithm');
  return invalid('token_malformed', 'the bearer token is not a valid JWT');
}

export async function verifyToken(config: AuthConfig, token: string, now = systemClock.now()): Promise<VerifiedUser> {
  // jose is loaded with the first token, not with the server (most dev requests carry none).
  const jose = await import('jose');
  const { errors, jwtVerify } = jose;
  try {
    const claims = {
      issuer: config.issuer,
      audience: config.audience,
      clockTolerance: config.clockToleranceSeconds,
      requiredClaims: ['exp', 'sub'],
      currentDate: new Date(now),
    };
    // The common token through the fast path (fast-verify.ts); any other, jose's verify.
    const payload =
      (await verifyPlainToken(jose, config, token, claims)) ??
      (await jwtVerify(token, config.key as never, { ...claims, algorithms: config.algorithms })).payload;
    if (typeof payload.sub !== 'string' || payload.sub.length === 0)
      throw invalid('token_claim_missing', 'the bearer token has no subject (sub)');
    // jose accepts any iat; a token "issued" in the future was not issued by a clock we trust.
    if (typeof payload.iat === 'number' && payload.iat > now / 1000 + config.clockToleranceSeconds) {
      throw invalid('token_not_yet_valid', 'the bearer token was issued in the future (iat)');
    }
    return {
      userId: payload.sub,
      claims: payload as Record<string, unknown>,
      expiresAt: (payload.exp as number) * 1000,
    };
  } catch (error) {
    if (error instanceof EngineError) throw error;
    throw describeFailure(error, errors);
  }
}
