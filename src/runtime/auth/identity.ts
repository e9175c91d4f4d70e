// ctx.auth: the caller's identity in Convex's shape, made from the claims its token was verified
// with (the invoker's). Standard OpenID Connect claims get Convex's names; the rest pass through.
import type { Auth, Invoker, UserIdentity } from '../../server/ctx.js';

/** OpenID Connect claim → Convex's UserIdentity field. */
const RENAMED: Readonly<Record<string, string>> = {
  given_name: 'givenName',
  family_name: 'familyName',
  preferred_username: 'preferredUsername',
  profile: 'profileUrl',
  picture: 'pictureUrl',
  email_verified: 'emailVerified',
  birthdate: 'birthday',
  zoneinfo: 'timezone',
  locale: 'language',
  phone_number: 'phoneNumber',
  phone_number_verified: 'phoneNumberVerified',
  updated_at: 'updatedAt',
};

/** A token's bookkeeping, not who the caller is. */
const OMITTED = new Set([
  'iss',
  'sub',
  'aud',
  'exp',
  'iat',
  'nbf',
  'jti',
  'azp',
  'nonce',
  'at_hash',
  'auth_time',
  'sid',
]);

/** The identity of a signed-in caller; null for anyone else (anonymous, cron, scheduler, admin). */
export function identityOf(invoker: Invoker): UserIdentity | null {
  if (invoker.type !== 'user') return null;
  const claims = invoker.claims;
  const issuer = typeof claims.iss === 'string' ? claims.iss : '';
  const identity: Record<string, unknown> = {};
  for (const [claim, value] of Object.entries(claims)) {
    // `valetAuth` is the server's word, never a token's.
    if (OMITTED.has(claim) || claim === 'valetAuth') continue;
    const name = RENAMED[claim] ?? claim;
    // OIDC's updated_at is seconds since the epoch; Convex's updatedAt is a string.
    identity[name] = name === 'updatedAt' && typeof value === 'number' ? new Date(value * 1000).toISOString() : value;
  }
  identity.subject = invoker.userId;
  identity.issuer = issuer;
  identity.tokenIdentifier = `${issuer}|${invoker.userId}`;
  if (invoker.valetAuth) identity.valetAuth = true;
  return Object.freeze(identity) as UserIdentity;
}

/** ctx.auth for one call. */
export function authApi(invoker: Invoker): Auth {
  let identity: UserIdentity | null | undefined;
  return {
    getUserIdentity: async () => {
      if (identity === undefined) identity = identityOf(invoker);
      return identity;
    },
  };
}

/** The claims a provider would send for these UserIdentity fields (valet/testing's withIdentity). */
export function claimsOfIdentity(fields: Record<string, unknown>): Record<string, unknown> {
  const claimOf = new Map(Object.entries(RENAMED).map(([claim, name]) => [name, claim]));
  const claims: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(fields))
    if (value !== undefined) claims[claimOf.get(name) ?? name] = value;
  return claims;
}
