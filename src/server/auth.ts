// `valet/auth`: Valet's own sign-in, enabled by a module valet/auth.ts that exports
// `export const auth = valetAuth({ providers: [Password(), Email()] })`. These are descriptions
// only (plain data with a brand); the engine serves the flows (runtime/auth/signin/). Users are
// documents of the app's own `users` table; sessions, accounts and codes are Valet's system tables.
import type { GenericId } from './values.js';

const BRAND = Symbol.for('valet.auth');

export interface PasswordProvider {
  id: 'password';
  type: 'password';
  /** Shortest password accepted (at least 8). */
  minLength: number;
  /** Whether a new account must confirm its email with a code before it can sign in (default true). */
  verifyEmail: boolean;
}

export interface EmailProvider {
  id: 'email';
  type: 'email';
}

/**
 * Sign-in with any OpenID Connect provider, by its issuer URL (authorization code + PKCE, `state`
 * and `nonce`; see docs/auth.md). The client id and secret usually come from the environment: an
 * unset one is reported when someone signs in with this provider, not when the app loads (so
 * `valet check` passes in CI without the secret).
 */
export interface OidcProvider {
  id: string;
  type: 'oidc';
  /** The provider's issuer: its discovery document is `<issuer>/.well-known/openid-configuration`. */
  issuer: string;
  clientId: string | undefined;
  clientSecret: string | undefined;
  /** Scopes asked for (default `openid email profile`; `openid` is always among them). */
  scopes: readonly string[];
  /** What the sign-in button says (the provider's name). */
  name: string;
}

/**
 * Sign-in with GitHub (OAuth 2.0: GitHub has no ID token, so the person is read from its API —
 * their numeric id, and their primary verified email from /user/emails).
 */
export interface GitHubProvider {
  id: 'github';
  type: 'github';
  name: string;
  /** https://github.com, or a GitHub Enterprise Server's URL. */
  issuer: string;
  /** https://api.github.com, or the Enterprise Server's `<url>/api/v3`. */
  apiUrl: string;
  clientId: string | undefined;
  clientSecret: string | undefined;
  scopes: readonly string[];
}

/** The providers that send the browser away to sign in and back to /api/auth/callback/<id>. */
export type RedirectProvider = OidcProvider | GitHubProvider;

export type ValetAuthProvider = PasswordProvider | EmailProvider | RedirectProvider;

export interface ValetAuthOptions {
  providers: ValetAuthProvider[];
  /**
   * Where an OpenID Connect sign-in may send the browser back to, besides the origins the server
   * already allows (VALET_CORS_ORIGINS, VALET_PUBLIC_URL, its own; localhost pages under valet dev):
   * origins such as `https://app.example.com`, or URL prefixes ending in `/`.
   */
  redirects?: string[];
  /** The subject line and sender name of the emails it sends. */
  appName?: string;
}

export interface ValetAuthDefinition {
  readonly [BRAND]: true;
  readonly providers: readonly ValetAuthProvider[];
  readonly appName: string;
  readonly redirects: readonly string[];
}

/** Sign-up and sign-in with an email address and a password (scrypt; see docs/auth.md). */
export function Password(options: { minLength?: number; verifyEmail?: boolean } = {}): PasswordProvider {
  const minLength = options.minLength ?? 8;
  if (!Number.isInteger(minLength) || minLength < 8 || minLength > 128)
    throw new Error('Password({ minLength }): a whole number from 8 to 128');
  return { id: 'password', type: 'password', minLength, verifyEmail: options.verifyEmail ?? true };
}

/** Passwordless sign-in with a one-time code sent by email (through the outbox). */
export function Email(): EmailProvider {
  return { id: 'email', type: 'email' };
}

const PROVIDER_ID = /^[a-z][a-z0-9-]{0,31}$/;

function optionalText(value: unknown, path: string): string | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string') throw new Error(`${path} must be a string`);
  return value.trim();
}

/** Sign-in with an OpenID Connect provider (Okta, Auth0, Keycloak, Microsoft, Google, …) by its issuer. */
export function OIDC(options: {
  id: string;
  issuer: string | undefined;
  clientId: string | undefined;
  clientSecret: string | undefined;
  scopes?: string[];
  name?: string;
}): OidcProvider {
  if (!options || typeof options.id !== 'string' || !PROVIDER_ID.test(options.id))
    throw new Error('OIDC({ id }): a short lower-case name such as "okta" (letters, digits, -)');
  if (options.id === 'password' || options.id === 'email')
    throw new Error(`OIDC({ id: "${options.id}" }): that name is taken by the ${options.id} provider`);
  const path = `OIDC({ id: "${options.id}" })`;
  const scopes = options.scopes ?? ['openid', 'email', 'profile'];
  if (!Array.isArray(scopes) || scopes.some((scope) => typeof scope !== 'string' || !/^[\x21-\x7e]+$/.test(scope)))
    throw new Error(`${path}.scopes must be scope names such as "email"`);
  return {
    id: options.id,
    type: 'oidc',
    issuer: optionalText(options.issuer, `${path}.issuer`)?.replace(/\/+$/, '') ?? '',
    clientId: optionalText(options.clientId, `${path}.clientId`),
    clientSecret: optionalText(options.clientSecret, `${path}.clientSecret`),
    scopes: Object.freeze(scopes.includes('openid') ? [...scopes] : ['openid', ...scopes]),
    name: options.name ?? options.id,
  };
}

/** Sign-in with Google (an OpenID Connect provider at https://accounts.google.com). */
export function Google(options: { clientId: string | undefined; clientSecret: string | undefined; scopes?: string[] }) {
  return OIDC({ id: 'google', name: 'Google', issuer: 'https://accounts.google.com', ...options });
}

/** Sign-in with GitHub, or with a GitHub Enterprise Server at `enterpriseUrl`. */
export function GitHub(options: {
  clientId: string | undefined;
  clientSecret: string | undefined;
  enterpriseUrl?: string;
  scopes?: string[];
}): GitHubProvider {
  const base = optionalText(options.enterpriseUrl, 'GitHub({ enterpriseUrl })')?.replace(/\/+$/, '');
  return {
    id: 'github',
    type: 'github',
    name: 'GitHub',
    issuer: base ?? 'https://github.com',
    apiUrl: base ? `${base}/api/v3` : 'https://api.github.com',
    clientId: optionalText(options.clientId, 'GitHub({ clientId })'),
    clientSecret: optionalText(options.clientSecret, 'GitHub({ clientSecret })'),
    scopes: Object.freeze(options.scopes ?? ['read:user', 'user:email']),
  };
}

function redirectRules(value: unknown): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new Error('valetAuth({ redirects }): a list of origins or URL prefixes');
  return value.map((rule, index) => {
    let url: URL;
    try {
      url = new URL(String(rule));
    } catch {
      throw new Error(`valetAuth({ redirects[${index}] }): not a URL: ${JSON.stringify(rule)}`);
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:')
      throw new Error(`valetAuth({ redirects[${index}] }): an http(s) origin or URL prefix`);
    // An origin, or a prefix that ends at a path segment (so /app cannot also match /application).
    const asGiven = String(rule);
    return url.pathname === '/' && !asGiven.endsWith('/')
      ? url.origin
      : `${url.origin}${url.pathname.replace(/\/*$/, '/')}`;
  });
}

export function valetAuth(options: ValetAuthOptions): ValetAuthDefinition {
  if (!options || !Array.isArray(options.providers) || options.providers.length === 0)
    throw new Error('valetAuth({ providers: [Password(), Email()] }): give at least one provider');
  const ids = new Set<string>();
  for (const provider of options.providers) {
    if (!provider || !['password', 'email', 'oidc', 'github'].includes(provider.type))
      throw new Error('valetAuth: each provider is Password(), Email(), OIDC(), Google() or GitHub() from valet/auth');
    if (ids.has(provider.id)) throw new Error(`valetAuth: the provider "${provider.id}" is given twice`);
    ids.add(provider.id);
  }
  return Object.freeze({
    [BRAND]: true as const,
    providers: Object.freeze([...options.providers]),
    appName: options.appName ?? 'your app',
    redirects: Object.freeze(redirectRules(options.redirects)),
  });
}

export function isValetAuthDefinition(value: unknown): value is ValetAuthDefinition {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
}

/**
 * The signed-in user's id in the `users` table, or null: for callers signed in through valet/auth
 * (a token of another provider has no users document, so it is null too).
 */
export async function getAuthUserId(ctx: {
  auth: { getUserIdentity(): Promise<{ subject: string; valetAuth?: unknown } | null> };
}): Promise<GenericId<'users'> | null> {
  const identity = await ctx.auth.getUserIdentity();
  return identity && identity.valetAuth === true ? (identity.subject as GenericId<'users'>) : null;
}
