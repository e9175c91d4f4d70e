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

export type ValetAuthProvider = PasswordProvider | EmailProvider;

export interface ValetAuthOptions {
  providers: ValetAuthProvider[];
  /** The subject line and sender name of the emails it sends. */
  appName?: string;
}

export interface ValetAuthDefinition {
  readonly [BRAND]: true;
  readonly providers: readonly ValetAuthProvider[];
  readonly appName: string;
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

export function valetAuth(options: ValetAuthOptions): ValetAuthDefinition {
  if (!options || !Array.isArray(options.providers) || options.providers.length === 0)
    throw new Error('valetAuth({ providers: [Password(), Email()] }): give at least one provider');
  const ids = new Set<string>();
  for (const provider of options.providers) {
    if (!provider || (provider.type !== 'password' && provider.type !== 'email'))
      throw new Error('valetAuth: each provider is Password() or Email() from valet/auth');
    if (ids.has(provider.id)) throw new Error(`valetAuth: the provider "${provider.id}" is given twice`);
    ids.add(provider.id);
  }
  return Object.freeze({
    [BRAND]: true as const,
    providers: Object.freeze([...options.providers]),
    appName: options.appName ?? 'your app',
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
