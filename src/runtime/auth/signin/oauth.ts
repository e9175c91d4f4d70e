// Sign-in with an OpenID Connect provider through valet/auth (docs/auth.md, "Signing in with an
// OpenID Connect provider"), in three steps:
// 1. start — POST /api/auth/signin { provider: "<id>", params: { redirectTo, verifier } }: the page
//    says where to come back to (an allowed origin only: no open redirect; by default the page that
//    asked, from its Origin) and a secret of its own (`verifier`, kept in the page's storage; made
//    by the server and answered when the page sends none, as Convex Auth does); the server keeps
//    state, nonce and a PKCE verifier and answers `{ redirect, verifier }`, the provider's page.
// 2. callback — GET /api/auth/callback/<id>?code&state: the state must be a live flow's, once (a
//    replay or a forged state is refused); the code is exchanged with the client secret and PKCE
//    verifier, the ID token checked (signature, issuer, audience, times, nonce); the user found or
//    made; and the browser sent back to `redirectTo?code=<one-time exchange code>`.
// 3. exchange — POST /api/auth/signin { provider: "<id>", params: { code, verifier } }: the code,
//    once, within two minutes, and only with the verifier of the page that started the flow (a code
//    someone else got, from a log or a Referer, is useless to them) → the session's tokens.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { RedirectProvider, ValetAuthDefinition } from '../../../server/auth.js';
import { tableDefinition } from '../../../server/schema.js';
import type { SchemaDefinition } from '../../../server/schema.js';
import type { SqlExecutor } from '../../../storage/sql.js';
import { EngineError } from '../../errors.js';
import { LIMITS } from './limits.js';
import type { OidcClients } from './oidc-client.js';
import { usableProvider } from './oidc-client.js';
import type { OidcProfile } from './refusal.js';
import { OidcRefusal } from './refusal.js';
import { claimFlow, completeFlow, insertFlow, spendExchangeCode } from './oauth-store.js';
import type { ClientInfo, SignInDeps } from './service.js';
import { findAccount, insertAccount, sha256 } from './store.js';
import type { TokenPair } from './tokens.js';
import { startSession } from './tokens.js';

/** How long the person has to sign in at the provider. */
export const FLOW_MS = 10 * 60 * 1000;
/** How long the page has to exchange the code it was sent back with. */
export const EXCHANGE_MS = 2 * 60 * 1000;
const VERIFIER = /^[A-Za-z0-9._~-]{32,256}$/;

export interface OAuthDeps extends SignInDeps {
  oidc: OidcClients;
  schema: () => SchemaDefinition<any> | null;
  /** The account-linking rule (service.ts): the user of a proven address. */
  userFor(ctx: { db: any }, sql: SqlExecutor, email: string, verified: boolean, fields?: object): Promise<string>;
  log: (line: string) => void;
}

/** Where the request came in: the callback URL given to the provider, and the page origins allowed back. */
export interface CallbackSite {
  /** `<origin>/api/auth/callback/<id>` is the redirect URI to register at the provider (null: unknown). */
  origin: string | null;
  /** The page that asked (its Origin header), where the browser returns without a `redirectTo`. */
  requestOrigin: string | null;
  isAllowedReturn(url: URL): boolean;
}

const bad = (message: string) => new EngineError('invalid_auth_request', message);
const random = () => randomBytes(32).toString('base64url');
const challengeOf = (verifier: string) => createHash('sha256').update(verifier).digest('base64url');

function sameHash(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

/** Whether a URL is allowed by valet/auth.ts's `redirects` (an origin, or a prefix ending in /). */
export function matchesRedirectRule(url: URL, rules: readonly string[]): boolean {
  const href = `${url.origin}${url.pathname}`;
  return rules.some((rule) => (rule.endsWith('/') ? href.startsWith(rule) : url.origin === rule));
}

export class OAuthSignIn {
  constructor(private readonly deps: OAuthDeps) {}

  private definition(): ValetAuthDefinition {
    const definition = this.deps.definition();
    if (!definition) throw new EngineError('auth_not_enabled', 'this app does not sign people in (no valet/auth.ts)');
    return definition;
  }

  /** The OpenID Connect (or GitHub) provider of valet/auth.ts with this id, or null. */
  provider(id: string): RedirectProvider | null {
    const found = this.deps.definition()?.providers.find((p) => p.id === id);
    return found?.type === 'oidc' || found?.type === 'github' ? found : null;
  }

  async signIn(
    provider: RedirectProvider,
    params: Record<string, unknown>,
    client: ClientInfo,
    site: CallbackSite | null,
  ): Promise<{ redirect: string; verifier: string } | TokenPair> {
    const given = params.verifier;
    if (given !== undefined && (typeof given !== 'string' || !VERIFIER.test(given)))
      throw bad('params.verifier must be a random string of 32 to 256 URL-safe characters, kept by the page');
    await this.deps.limiter.take([[LIMITS.attemptsPerAddress, `attempt-ip:${client.address}`]]);
    if (params.code !== undefined) {
      if (given === undefined)
        throw bad('params.verifier is required with params.code: the one the sign-in started with');
      return this.exchange(provider, params.code, given, client);
    }
    if (!site) throw bad('start an OpenID Connect sign-in over HTTP (POST /api/auth/signin)');
    if (site.origin === null)
      throw new EngineError(
        'auth_provider_unconfigured',
        'set VALET_PUBLIC_URL to the https:// URL people reach this server at: the provider sends them back to <VALET_PUBLIC_URL>/api/auth/callback/<id>',
      );
    const verifier = given ?? random();
    const redirectTo = params.redirectTo ?? (site.requestOrigin ? `${site.requestOrigin}/` : `${site.origin}/`);
    return { ...(await this.start(provider, redirectTo, verifier, site)), verifier };
  }

  private async start(
    provider: RedirectProvider,
    redirectTo: unknown,
    verifier: string,
    site: CallbackSite,
  ): Promise<{ redirect: string }> {
    usableProvider(provider);
    if (typeof redirectTo !== 'string' || redirectTo.length > 2048)
      throw bad('params.redirectTo is required: the page to come back to (an absolute URL)');
    let returnTo: URL;
    try {
      returnTo = new URL(redirectTo);
    } catch {
      throw bad('params.redirectTo must be an absolute URL (such as https://app.example.com/)');
    }
    if ((returnTo.protocol !== 'https:' && returnTo.protocol !== 'http:') || returnTo.username || returnTo.password)
      throw bad('params.redirectTo must be an http(s) URL');
    if (!site.isAllowedReturn(returnTo))
      throw bad(
        `params.redirectTo: ${returnTo.origin} is not a page this server may send people back to: add it to valetAuth({ redirects }) or VALET_CORS_ORIGINS`,
      );
    const state = random();
    const nonce = random();
    const pkceVerifier = random();
    const callbackUrl = `${site.origin}/api/auth/callback/${provider.id}`;
    // Before the row is written: an unreachable provider leaves nothing behind.
    const redirect = await this.deps.oidc.authorizationUrl(provider, {
      state,
      nonce,
      challenge: challengeOf(pkceVerifier),
      callbackUrl,
    });
    const now = this.deps.now();
    await this.deps.connections.inWriteTransaction((store) =>
      insertFlow(store.sql, {
        state_hash: sha256(state),
        provider: provider.id,
        pkce_verifier: pkceVerifier,
        nonce,
        callback_url: callbackUrl,
        return_to: returnTo.href,
        client_hash: sha256(verifier),
        expires_at: now + FLOW_MS,
        now,
      }),
    );
    return { redirect };
  }

  /**
   * The provider's redirect back: where to send the browser. A state that names no live flow is
   * refused outright (there is no page known to send it to); every other failure goes back to the
   * page with `?error=`, the reason in the log.
   */
  async callback(id: string, query: URLSearchParams): Promise<string> {
    this.definition();
    const provider = this.provider(id);
    if (!provider) throw new EngineError('not_found', `this app has no sign-in provider "${id}"`);
    const state = query.get('state');
    const refused = () =>
      new EngineError(
        'oauth_state_invalid',
        'this sign-in is unknown, expired or already finished: go back to the app and sign in again',
      );
    if (!state || state.length > 256) throw refused();
    const flow = await this.deps.connections.inWriteTransaction((store) =>
      claimFlow(store.sql, sha256(state), id, this.deps.now()),
    );
    if (!flow) throw refused();
    const back = (params: Record<string, string>) => {
      const url = new URL(flow.return_to);
      for (const [name, value] of Object.entries(params)) url.searchParams.set(name, value);
      return url.href;
    };
    const providerError = query.get('error');
    if (providerError !== null)
      return back({ error: /^[a-z_]{1,64}$/.test(providerError) ? providerError : 'provider_error' });
    const code = query.get('code');
    if (!code || code.length > 4096) return back({ error: 'provider_error' });
    let profile: OidcProfile;
    try {
      profile = await this.deps.oidc.signedIn(provider, {
        code,
        verifier: flow.pkce_verifier,
        nonce: flow.nonce,
        callbackUrl: flow.callback_url,
      });
    } catch (error) {
      const refusal =
        error instanceof OidcRefusal ? error : new OidcRefusal('provider_error', (error as Error).message);
      this.deps.log(`sign-in with "${id}" refused: ${refusal.message}`);
      return back({ error: refusal.error });
    }
    const exchangeCode = random();
    await this.deps.inTransaction('auth:oidcCallback', async (ctx, sql) => {
      const userId = await this.userOf(ctx, sql, provider, profile);
      await completeFlow(sql, flow.state_hash, {
        codeHash: sha256(exchangeCode),
        userId,
        email: profile.email,
        emailVerified: profile.emailVerified,
        expiresAt: this.deps.now() + EXCHANGE_MS,
      });
    });
    return back({ code: exchangeCode });
  }

  /** The user of this provider's subject: known, or linked by verified email, or new. */
  private async userOf(ctx: { db: any }, sql: SqlExecutor, provider: RedirectProvider, profile: OidcProfile) {
    const known = await findAccount(sql, provider.id, profile.subject);
    if (known) return known.user_id;
    const now = this.deps.now();
    const fields = this.userFields({ email: profile.email, name: profile.name, image: profile.picture });
    const userId =
      profile.email && profile.emailVerified
        ? await this.deps.userFor(ctx, sql, profile.email, true, fields)
        : await ctx.db.insert('users', fields);
    await insertAccount(sql, {
      provider: provider.id,
      account: profile.subject,
      userId,
      secret: null,
      verifiedAt: profile.emailVerified ? now : null,
      email: profile.email,
      now,
    });
    return userId;
  }

  /** The profile fields the app's users table declares (all of them without a schema). */
  private userFields(profile: Record<string, string | null>): Record<string, string> {
    const declared = tableDefinition(this.deps.schema(), 'users')?.fields;
    return Object.fromEntries(
      Object.entries(profile).filter(
        ([name, value]) => value !== null && (!this.deps.schema() || (declared && name in declared)),
      ),
    ) as Record<string, string>;
  }

  private async exchange(provider: RedirectProvider, code: unknown, verifier: string, client: ClientInfo) {
    if (typeof code !== 'string' || code.length === 0 || code.length > 256) throw bad('params.code is required');
    const wrong = () =>
      new EngineError('invalid_code', 'the sign-in code is wrong, used or expired: sign in with the provider again');
    const pair = await this.deps.inTransaction('auth:oidcExchange', async (_ctx, sql) => {
      const flow = await spendExchangeCode(sql, sha256(code), provider.id, this.deps.now());
      // Spent either way (the transaction commits): a code tried with another page's verifier is
      // not left for a second guess.
      if (!flow || !flow.user_id || !sameHash(sha256(verifier), flow.client_hash)) return null;
      return startSession(sql, this.deps.tokens, {
        userId: flow.user_id,
        provider: provider.id,
        email: flow.email,
        emailVerified: Number(flow.email_verified) === 1,
        client: client.userAgent,
      });
    });
    if (!pair) throw wrong();
    return pair;
  }
}
