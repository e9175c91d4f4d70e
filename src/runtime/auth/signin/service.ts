// valet/auth's flows behind /api/auth/*: password sign-up (confirmed by an emailed code), sign-in
// and reset; passwordless sign-in by emailed code; refresh with rotation and reuse detection;
// sign-out; sessions listed and revoked. Every email goes through the outbox in the same
// transaction as the code it carries (sent once, retried, visible in `valet outbox ls`). Answers
// never say whether an email has an account: sign-up and reset always answer `{ started: true }`,
// a wrong password and an unknown email are the same error after the same work.
import { randomBytes, randomInt, timingSafeEqual } from 'node:crypto';
import type { EmailProvider, PasswordProvider, ValetAuthDefinition } from '../../../server/auth.js';
import type { DocumentStore } from '../../../storage/documents.js';
import type { Connections } from '../../connections/types.js';
import { EngineError } from '../../errors.js';
import type { SchemaDefinition } from '../../../server/schema.js';
import type { SigningKeys } from './keys.js';
import type { RateLimiter } from './limits.js';
import { LIMITS } from './limits.js';
import type { CallbackSite } from './oauth.js';
import { OAuthSignIn } from './oauth.js';
import type { OidcClients } from './oidc-client.js';
import { hashPassword, passwordProblem, verifyPassword } from './passwords.js';
import {
  confirmAccount,
  failCodeAttempt,
  findAccount,
  findRefreshToken,
  getSession,
  insertAccount,
  insertCode,
  liveCode,
  revokeSessions,
  sha256,
  spendCode,
  touchSession,
  useRefreshToken,
} from './store.js';
import type { SqlExecutor } from '../../../storage/sql.js';
import type { TokenContext, TokenPair } from './tokens.js';
import { issueRefreshToken, signAccessToken, startSession } from './tokens.js';

export const CODE_MS = 15 * 60 * 1000;
/** How long an instance trusts its last look at whether a session is live. */
export const SESSION_CHECK_MS = 5_000;
export const MAX_CODE_ATTEMPTS = 5;
const ADDRESS = /^[^\s@<>(),;:"[\]\\]+@[^\s@<>(),;:"[\]\\]+\.[^\s@<>(),;:"[\]\\]+$/;

export type SignInAnswer = TokenPair | { started: true } | { redirect: string; verifier: string };

/** A mutation's ctx (db, email) and its transaction's store, as the engine runs one for valet/auth. */
export type AuthTransaction = <T>(
  label: string,
  work: (ctx: { db: any; email: { enqueue(message: object): Promise<string> } }, sql: SqlExecutor) => Promise<T>,
) => Promise<T>;

export interface SignInDeps {
  connections: Connections;
  now: () => number;
  definition: () => ValetAuthDefinition | null;
  inTransaction: AuthTransaction;
  tokens: TokenContext;
  keys: SigningKeys;
  limiter: RateLimiter;
  /** OpenID Connect providers' endpoints and keys (through the fetch guard). */
  oidc: OidcClients;
  /** The app's schema (which profile fields its users table takes). */
  schema: () => SchemaDefinition<any> | null;
  log: (line: string) => void;
}

export interface ClientInfo {
  address: string;
  userAgent: string | null;
}

const bad = (message: string) => new EngineError('invalid_auth_request', message);
const wrongCredentials = () => new EngineError('invalid_credentials', 'the email or password is wrong');
const wrongCode = () => new EngineError('invalid_code', 'the code is wrong or has expired: ask for a new one');

function emailOf(value: unknown): string {
  if (typeof value !== 'string' || value.length > 254 || !ADDRESS.test(value.trim()))
    throw bad('params.email must be an email address');
  return value.trim().toLowerCase();
}

function stringParam(params: Record<string, unknown>, name: string): string {
  const value = params[name];
  if (typeof value !== 'string' || value.length === 0 || value.length > 1024) throw bad(`params.${name} is required`);
  return value;
}

const newCode = () => String(randomInt(0, 100_000_000)).padStart(8, '0');
const codeHash = (purpose: string, email: string, code: string) => sha256(`${purpose}\n${email}\n${code.trim()}`);

export class SignInService {
  private readonly oauth: OAuthSignIn;

  constructor(private readonly deps: SignInDeps) {
    this.oauth = new OAuthSignIn({
      ...deps,
      userFor: (ctx, sql, email, verified, fields) => this.userFor(ctx, sql, email, verified, fields),
    });
  }

  private requireEnabled(): void {
    void this.definition;
  }

  private get definition(): ValetAuthDefinition {
    const definition = this.deps.definition();
    if (!definition)
      throw new EngineError(
        'auth_not_enabled',
        'this app does not sign people in: add valet/auth.ts (see docs/auth.md)',
      );
    return definition;
  }

  private provider<T extends 'password' | 'email'>(id: T): T extends 'password' ? PasswordProvider : EmailProvider {
    const found = this.definition.providers.find((p) => p.id === id);
    if (!found)
      throw bad(
        `this app has no "${id}" provider (valet/auth.ts lists ${this.definition.providers.map((p) => `"${p.id}"`).join(', ')})`,
      );
    return found as never;
  }

  /** `site`: where the HTTP request came in (an OpenID Connect sign-in starts only over HTTP). */
  async signIn(body: unknown, client: ClientInfo, site: CallbackSite | null = null): Promise<SignInAnswer> {
    this.requireEnabled();
    // Before any transaction: making or rotating the signing key takes one of its own.
    await this.deps.keys.ensure();
    const { provider, params } = (body ?? {}) as { provider?: unknown; params?: unknown };
    if (typeof provider !== 'string') throw bad('provider is required ("password", "email" or an OIDC provider\'s id)');
    if (!params || typeof params !== 'object' || Array.isArray(params)) throw bad('params must be an object');
    const p = params as Record<string, unknown>;
    if (provider === 'password') return this.password(this.provider('password'), p, client);
    if (provider === 'email') return this.emailCode(p, client);
    const oidc = this.oauth.provider(provider);
    if (oidc) return this.oauth.signIn(oidc, p, client, site);
    this.provider(provider as never);
    throw bad(`unknown provider "${provider}"`);
  }

  /** An OpenID Connect provider's redirect back (GET /api/auth/callback/<id>): where the browser goes next. */
  callback(id: string, query: URLSearchParams): Promise<string> {
    return this.oauth.callback(id, query);
  }

  // --- passwords ---

  private async password(
    config: PasswordProvider,
    p: Record<string, unknown>,
    client: ClientInfo,
  ): Promise<SignInAnswer> {
    const flow = p.flow ?? 'signIn';
    const email = emailOf(p.email);
    switch (flow) {
      case 'signUp':
        return this.signUp(config, email, p, client);
      case 'signIn':
        return this.passwordSignIn(config, email, stringParam(p, 'password'), client);
      case 'email-verification':
        return this.verifyEmail(email, stringParam(p, 'code'), client);
      case 'reset':
        return this.startReset(email, client);
      case 'reset-verification':
        return this.finishReset(config, email, stringParam(p, 'code'), p.newPassword, client);
      default:
        throw bad('params.flow must be "signUp", "signIn", "email-verification", "reset" or "reset-verification"');
    }
  }

  /**
   * A new account's password waits in its confirmation code's row, not on the account: only the
   * sign-up whose code the address's owner enters sets it (someone squatting an address before its
   * owner signs up, or signing up again after, never chooses the password the owner confirms).
   */
  private async signUp(config: PasswordProvider, email: string, p: Record<string, unknown>, client: ClientInfo) {
    const problem = passwordProblem(p.password, config.minLength);
    if (problem) throw bad(problem);
    await this.deps.limiter.take([
      [LIMITS.codesPerEmail, `code:${email}`],
      [LIMITS.codesPerAddress, `code-ip:${client.address}`],
    ]);
    const secret = await hashPassword(p.password as string);
    return this.deps.inTransaction('auth:signUp', async (ctx, sql) => {
      const existing = await findAccount(sql, 'password', email);
      const now = this.deps.now();
      if (!config.verifyEmail) {
        // Without confirmation there is no owner to ask: a taken address is refused (and said so).
        if (existing) throw bad('an account with this email exists: sign in, or reset its password');
        const userId = await this.userFor(ctx, sql, email, false);
        await insertAccount(sql, { provider: 'password', account: email, userId, secret, verifiedAt: null, now });
        return startSession(sql, this.deps.tokens, {
          userId,
          provider: 'password',
          email,
          emailVerified: false,
          client: client.userAgent,
        });
      }
      if (existing?.verified_at != null) {
        // Said to the address's owner, not to whoever asked.
        await ctx.email.enqueue({
          to: email,
          subject: `Someone tried to sign up to ${this.definition.appName} with your email`,
          text: `An account for ${email} already exists. If that was you, sign in, or reset your password if you forgot it. If not, you can ignore this message.`,
        });
        return { started: true } as const;
      }
      if (!existing)
        await insertAccount(sql, {
          provider: 'password',
          account: email,
          userId: '',
          secret: null,
          verifiedAt: null,
          now,
        });
      await this.sendCode(ctx, sql, email, 'verify', 'Confirm your email', secret);
      return { started: true } as const;
    });
  }

  private async passwordSignIn(config: PasswordProvider, email: string, password: string, client: ClientInfo) {
    await this.deps.limiter.take([
      [LIMITS.attemptsPerAccount, `attempt:${email}`],
      [LIMITS.attemptsPerAddress, `attempt-ip:${client.address}`],
    ]);
    const account = await findAccount(this.deps.connections.autoCommit.sql, 'password', email);
    // The same scrypt work whether or not there is an account (or a password yet: an unconfirmed sign-up has none).
    if (!(await verifyPassword(password, account?.secret ?? null)) || !account) throw wrongCredentials();
    await this.deps.limiter.reset(`attempt:${email}`);
    return this.deps.inTransaction('auth:signIn', async (_ctx, sql) =>
      startSession(sql, this.deps.tokens, {
        userId: account.user_id,
        provider: 'password',
        email,
        emailVerified: account.verified_at != null || !config.verifyEmail,
        client: client.userAgent,
      }),
    );
  }

  private async verifyEmail(email: string, code: string, client: ClientInfo) {
    await this.takeAttempt(email, client);
    const secret = await this.spend(email, 'verify', code);
    return this.deps.inTransaction('auth:verifyEmail', async (ctx, sql) => {
      const account = await findAccount(sql, 'password', email);
      if (!account || !secret) throw wrongCode();
      const userId = account.user_id || (await this.userFor(ctx, sql, email, true));
      await confirmAccount(sql, 'password', email, { userId, secret, verifiedAt: this.deps.now() });
      return startSession(sql, this.deps.tokens, {
        userId,
        provider: 'password',
        email,
        emailVerified: true,
        client: client.userAgent,
      });
    });
  }

  private async startReset(email: string, client: ClientInfo) {
    await this.deps.limiter.take([
      [LIMITS.codesPerEmail, `code:${email}`],
      [LIMITS.codesPerAddress, `code-ip:${client.address}`],
    ]);
    await this.deps.inTransaction('auth:reset', async (ctx, sql) => {
      // No account, no email: and the same answer either way.
      if (await findAccount(sql, 'password', email))
        await this.sendCode(ctx, sql, email, 'reset', 'Reset your password');
    });
    return { started: true } as const;
  }

  private async finishReset(
    config: PasswordProvider,
    email: string,
    code: string,
    newPassword: unknown,
    client: ClientInfo,
  ) {
    const problem = passwordProblem(newPassword, config.minLength);
    if (problem) throw bad(problem.replace('the password', 'params.newPassword'));
    await this.takeAttempt(email, client);
    const secret = await hashPassword(newPassword as string);
    await this.spend(email, 'reset', code);
    return this.deps.inTransaction('auth:resetPassword', async (ctx, sql) => {
      const account = await findAccount(sql, 'password', email);
      if (!account) throw wrongCode();
      const now = this.deps.now();
      const userId = account.user_id || (await this.userFor(ctx, sql, email, true));
      // The code proved the address; every session made with the old password ends.
      await confirmAccount(sql, 'password', email, { userId, secret, verifiedAt: now });
      await revokeSessions(sql, { userId }, 'password reset', now);
      return startSession(sql, this.deps.tokens, {
        userId,
        provider: 'password',
        email,
        emailVerified: true,
        client: client.userAgent,
      });
    });
  }

  // --- email codes ---

  private async emailCode(p: Record<string, unknown>, client: ClientInfo): Promise<SignInAnswer> {
    this.provider('email');
    const email = emailOf(p.email);
    if (p.code === undefined) {
      await this.deps.limiter.take([
        [LIMITS.codesPerEmail, `code:${email}`],
        [LIMITS.codesPerAddress, `code-ip:${client.address}`],
      ]);
      await this.deps.inTransaction('auth:emailCode', (ctx, sql) =>
        this.sendCode(ctx, sql, email, 'signin', 'Your sign-in code'),
      );
      return { started: true };
    }
    const code = stringParam(p, 'code');
    await this.takeAttempt(email, client);
    await this.spend(email, 'signin', code);
    return this.deps.inTransaction('auth:emailSignIn', async (ctx, sql) => {
      const now = this.deps.now();
      let account = await findAccount(sql, 'email', email);
      if (!account) {
        const userId = await this.userFor(ctx, sql, email, true);
        await insertAccount(sql, { provider: 'email', account: email, userId, secret: null, verifiedAt: now, now });
        account = await findAccount(sql, 'email', email);
      }
      return startSession(sql, this.deps.tokens, {
        userId: account!.user_id,
        provider: 'email',
        email,
        emailVerified: true,
        client: client.userAgent,
      });
    });
  }

  // --- shared steps ---

  private async takeAttempt(email: string, client: ClientInfo): Promise<void> {
    await this.deps.limiter.take([
      [LIMITS.attemptsPerAccount, `attempt:${email}`],
      [LIMITS.attemptsPerAddress, `attempt-ip:${client.address}`],
    ]);
  }

  /**
   * The user for a newly proven address: linked to the user of another verified account with the
   * same email (the account-linking rule), else a new document of the app's `users` table.
   */
  private async userFor(
    ctx: { db: any },
    sql: SqlExecutor,
    email: string,
    verified: boolean,
    fields: object = { email },
  ): Promise<string> {
    if (verified) {
      const linked = await sql.get<{ user_id: string }>(
        "SELECT user_id FROM _valet_auth_accounts WHERE email = ? AND verified_at IS NOT NULL AND user_id <> '' ORDER BY created_at LIMIT 1",
        [email],
      );
      if (linked) return linked.user_id;
    }
    return ctx.db.insert('users', fields);
  }

  private async sendCode(
    ctx: { email: { enqueue(message: object): Promise<string> } },
    sql: SqlExecutor,
    email: string,
    purpose: 'verify' | 'reset' | 'signin',
    subject: string,
    secret?: string,
  ): Promise<void> {
    const code = newCode();
    const now = this.deps.now();
    await insertCode(sql, {
      id: randomBytes(12).toString('base64url'),
      purpose,
      email,
      hash: codeHash(purpose, email, code),
      now,
      expiresAt: now + CODE_MS,
      secret,
    });
    const minutes = CODE_MS / 60_000;
    await ctx.email.enqueue({
      to: email,
      subject: `${subject}: ${code}`,
      text: `Your code for ${this.definition.appName} is ${code}. It works once, for ${minutes} minutes. If you did not ask for it, ignore this message.`,
    });
  }

  /**
   * Spends the live code if it matches, in a transaction of its own (a wrong guess must count even
   * though the sign-in fails; it is dead after MAX_CODE_ATTEMPTS). A failure after this step (the
   * database gone mid-sign-in) costs the user a new code, never a second use of this one.
   */
  private async spend(email: string, purpose: string, code: string): Promise<string | null> {
    const now = this.deps.now();
    const spent = await this.deps.connections.inWriteTransaction(async (store) => {
      const live = await liveCode(store.sql, email, purpose, now);
      if (!live) return false;
      const given = Buffer.from(codeHash(purpose, email, code));
      const expected = Buffer.from(live.hash);
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
        await failCodeAttempt(store.sql, live.id, MAX_CODE_ATTEMPTS, now);
        return false;
      }
      await spendCode(store.sql, live.id, now);
      return { secret: live.secret };
    });
    if (!spent) throw wrongCode();
    return spent.secret;
  }

  // --- sessions ---

  /** A new pair for a refresh token, which is spent; a spent one coming back revokes its session. */
  async refresh(body: unknown, client: ClientInfo): Promise<TokenPair> {
    const refreshToken = (body as { refreshToken?: unknown } | null)?.refreshToken;
    if (typeof refreshToken !== 'string' || refreshToken.length === 0 || refreshToken.length > 200)
      throw bad('refreshToken is required');
    this.requireEnabled();
    await this.deps.keys.ensure();
    await this.deps.limiter.take([[LIMITS.refreshesPerAddress, `refresh-ip:${client.address}`]]);
    const invalid = () => new EngineError('refresh_token_invalid', 'the refresh token is not valid: sign in again');
    const outcome = await this.deps.connections.inWriteTransaction(async (store: DocumentStore) => {
      const sql = store.sql;
      const now = this.deps.now();
      const row = await findRefreshToken(sql, sha256(refreshToken));
      if (!row) return null;
      const session = await getSession(sql, row.session_id);
      if (!session || session.revoked_at !== null || session.expires_at <= now || row.expires_at <= now) return null;
      if (row.used_at !== null || !(await useRefreshToken(sql, row.hash, now))) {
        // Used before: a copy is in someone else's hands. The whole session ends.
        await revokeSessions(sql, { sessionId: session.id }, 'refresh token reused', now);
        return { kind: 'reused' as const, sessionId: session.id };
      }
      await touchSession(sql, session.id, now);
      const account = await sql.get<{ email: string | null; verified_at: number | null }>(
        'SELECT email, verified_at FROM _valet_auth_accounts WHERE user_id = ? AND provider = ?',
        [session.user_id, session.provider],
      );
      const next = await issueRefreshToken(sql, this.deps.tokens, session.id);
      const { token, expiresAt } = await signAccessToken(this.deps.tokens, {
        userId: session.user_id,
        sessionId: session.id,
        email: account?.email ?? null,
        emailVerified: account?.verified_at != null,
      });
      return { kind: 'refreshed' as const, pair: { token, refreshToken: next, expiresAt } };
    });
    if (outcome === null) throw invalid();
    if (outcome.kind === 'reused') {
      this.liveSessions.delete(outcome.sessionId);
      throw invalid();
    }
    return outcome.pair;
  }

  /** Ends the session of a refresh token or of a verified access token's `sid`. */
  async signOut(target: { refreshToken?: string; sessionId?: string }): Promise<{ signedOut: boolean }> {
    let sessionId = target.sessionId;
    const changed = await this.deps.connections.inWriteTransaction(async (store) => {
      const now = this.deps.now();
      if (!sessionId && target.refreshToken)
        sessionId = (await findRefreshToken(store.sql, sha256(target.refreshToken)))?.session_id;
      return sessionId ? revokeSessions(store.sql, { sessionId }, 'signed out', now) : 0;
    });
    if (sessionId) this.liveSessions.delete(sessionId);
    return { signedOut: changed > 0 };
  }

  private readonly liveSessions = new Map<string, { live: boolean; checkedAt: number }>();

  /**
   * Whether a session may still be used: an access token of a revoked session stops working here
   * at once, and on other instances within SESSION_CHECK_MS (each checks a session that often).
   */
  async sessionLive(sessionId: string): Promise<boolean> {
    const now = this.deps.tokens.wallNow();
    const known = this.liveSessions.get(sessionId);
    if (known && now - known.checkedAt < SESSION_CHECK_MS && now >= known.checkedAt) return known.live;
    const session = await getSession(this.deps.connections.autoCommit.sql, sessionId);
    const live = Boolean(session && session.revoked_at === null && session.expires_at > this.deps.now());
    this.liveSessions.delete(sessionId);
    this.liveSessions.set(sessionId, { live, checkedAt: now });
    if (this.liveSessions.size > 10_000) this.liveSessions.delete(this.liveSessions.keys().next().value!);
    return live;
  }

  /** Ends every live session of a user (the dashboard); how many. */
  async revokeUser(userId: string, reason = 'revoked by an admin'): Promise<number> {
    const changed = await this.deps.connections.inWriteTransaction((store) =>
      revokeSessions(store.sql, { userId }, reason, this.deps.now()),
    );
    // Which cached sessions were the user's is not known here: forget them all (a re-check each).
    this.liveSessions.clear();
    return changed;
  }

  /** Ends a session (the dashboard, `valet auth sessions revoke`). */
  async revokeSession(sessionId: string, reason = 'revoked by an admin'): Promise<boolean> {
    const changed = await this.deps.connections.inWriteTransaction((store) =>
      revokeSessions(store.sql, { sessionId }, reason, this.deps.now()),
    );
    this.liveSessions.delete(sessionId);
    return changed > 0;
  }
}
