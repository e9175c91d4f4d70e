// valet/auth's side of an OpenID Connect provider: its discovery document (cached), the URL a
// browser is sent to, the code exchange at its token endpoint (client secret + PKCE verifier), and
// the ID token's checks — signature by the provider's published keys (asymmetric algorithms only:
// `none` and HMAC never pass), issuer, audience, times, nonce — then userinfo when the ID token
// lacks the email. Everything goes through the fetch guard, like an action's fetch.
import type { JWTPayload } from 'jose';
import type { OidcProvider, RedirectProvider } from '../../../server/auth.js';
import { EngineError } from '../../errors.js';
import type { FetchJson } from '../remote-keys.js';
import { RemoteKeySet } from '../remote-keys.js';
import { githubAuthorizationUrl, githubSignedIn } from './github.js';
import type { GuardedFetch, OidcProfile } from './refusal.js';
import { OidcRefusal } from './refusal.js';

interface Discovery {
  issuer: string;
  authorization_endpoint: string;
  token_endpoint: string;
  jwks_uri: string;
  userinfo_endpoint?: string;
  token_endpoint_auth_methods_supported?: string[];
}

const DISCOVERY_MS = 10 * 60 * 1000;
const ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];
/** Clock difference tolerated between the provider and this server. */
const CLOCK_TOLERANCE_S = 60;
const isLoopback = (host: string) => host === 'localhost' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host);

/** The provider's configuration, or why it cannot be used (said to the operator, not the caller). */
export function usableProvider(provider: RedirectProvider): { clientId: string; clientSecret: string } {
  const unset = (what: string) =>
    new EngineError(
      'auth_provider_unconfigured',
      `the sign-in provider "${provider.id}" has no ${what} (valet/auth.ts; is an environment variable it reads unset?)`,
    );
  if (!provider.issuer) throw unset('issuer');
  let url: URL;
  try {
    url = new URL(provider.issuer);
  } catch {
    throw new EngineError('auth_provider_unconfigured', `the issuer of "${provider.id}" is not a URL`);
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopback(url.hostname)))
    throw new EngineError(
      'auth_provider_unconfigured',
      `the issuer of "${provider.id}" must be an https:// URL (http:// only on localhost)`,
    );
  if (!provider.clientId) throw unset('clientId');
  if (!provider.clientSecret) throw unset('clientSecret');
  return { clientId: provider.clientId, clientSecret: provider.clientSecret };
}

export class OidcClients {
  private readonly discovered = new Map<string, { at: number; document: Discovery }>();
  private readonly keySets = new Map<string, RemoteKeySet>();

  constructor(
    private readonly fetch: GuardedFetch,
    private readonly fetchJson: FetchJson,
    /** Wall time (ID tokens are checked against it). */
    private readonly now: () => number,
  ) {}

  /** The provider's endpoints, from its discovery document (whose issuer must be the configured one). */
  async discover(provider: OidcProvider): Promise<Discovery> {
    const cached = this.discovered.get(provider.issuer);
    const now = this.now();
    if (cached && now - cached.at < DISCOVERY_MS && now >= cached.at) return cached.document;
    let document: Discovery;
    try {
      document = (await this.fetchJson(`${provider.issuer}/.well-known/openid-configuration`)) as Discovery;
    } catch (error) {
      throw new EngineError(
        'auth_provider_unavailable',
        `the sign-in provider "${provider.id}" did not answer its discovery document: ${(error as Error).message}`,
      );
    }
    const issuer = typeof document?.issuer === 'string' ? document.issuer.replace(/\/+$/, '') : null;
    const problem =
      issuer !== provider.issuer
        ? `it names the issuer ${JSON.stringify(document?.issuer)}, not ${provider.issuer}`
        : (['authorization_endpoint', 'token_endpoint', 'jwks_uri'] as const).find(
            (field) => typeof document[field] !== 'string' || !/^https?:\/\//.test(document[field]),
          );
    if (problem)
      throw new EngineError(
        'auth_provider_unavailable',
        `the discovery document of "${provider.id}" is not usable: ${problem.includes(' ') ? problem : `no ${problem}`}`,
      );
    this.discovered.set(provider.issuer, { at: now, document });
    return document;
  }

  /** Where the browser goes to sign in. */
  async authorizationUrl(
    provider: RedirectProvider,
    flow: { state: string; nonce: string; challenge: string; callbackUrl: string },
  ): Promise<string> {
    const { clientId } = usableProvider(provider);
    if (provider.type === 'github') return githubAuthorizationUrl(provider, clientId, flow);
    const url = new URL((await this.discover(provider)).authorization_endpoint);
    const params = {
      response_type: 'code',
      client_id: clientId,
      redirect_uri: flow.callbackUrl,
      scope: provider.scopes.join(' '),
      state: flow.state,
      nonce: flow.nonce,
      code_challenge: flow.challenge,
      code_challenge_method: 'S256',
    };
    for (const [name, value] of Object.entries(params)) url.searchParams.set(name, value);
    return url.href;
  }

  /** Exchanges the provider's code and checks what comes back: the person it signed in. */
  async signedIn(
    provider: RedirectProvider,
    flow: { code: string; verifier: string; nonce: string; callbackUrl: string },
  ): Promise<OidcProfile> {
    const { clientId, clientSecret } = usableProvider(provider);
    if (provider.type === 'github') return githubSignedIn(this.fetch, provider, { clientId, clientSecret }, flow);
    const document = await this.discover(provider).catch((error: Error) => {
      throw new OidcRefusal('provider_unavailable', error.message);
    });
    const tokens = await this.exchange(document, { clientId, clientSecret }, flow);
    if (typeof tokens.id_token !== 'string')
      throw new OidcRefusal('provider_error', 'the token endpoint answered without an id_token');
    const claims = await this.verifyIdToken(provider, document, clientId, tokens.id_token, flow.nonce);
    const profile = profileOf(claims);
    if (!profile.email && document.userinfo_endpoint && typeof tokens.access_token === 'string')
      return this.withUserinfo(document.userinfo_endpoint, tokens.access_token, profile);
    return profile;
  }

  /**
   * The code exchange. The client authenticates the way the provider lists first of the two it
   * may take (client_secret_basic unless only _post is listed); a client registered for the other
   * one is refused with `invalid_client` before the code is spent, so that one is tried once more.
   */
  private async exchange(
    document: Discovery,
    client: { clientId: string; clientSecret: string },
    flow: { code: string; verifier: string; callbackUrl: string },
  ): Promise<{ id_token?: unknown; access_token?: unknown }> {
    const methods = document.token_endpoint_auth_methods_supported;
    const basicFirst = !methods || methods.includes('client_secret_basic');
    const postToo = !methods || methods.includes('client_secret_post');
    const first = await this.tokenRequest(document, client, flow, basicFirst ? 'basic' : 'post');
    if (first.ok) return first.answer;
    if (basicFirst && postToo && first.error === 'invalid_client') {
      const second = await this.tokenRequest(document, client, flow, 'post');
      if (second.ok) return second.answer;
      throw new OidcRefusal('provider_error', `its token endpoint refused the code (${second.error})`);
    }
    throw new OidcRefusal('provider_error', `its token endpoint refused the code (${first.error})`);
  }

  private async tokenRequest(
    document: Discovery,
    client: { clientId: string; clientSecret: string },
    flow: { code: string; verifier: string; callbackUrl: string },
    method: 'basic' | 'post',
  ): Promise<{ ok: true; answer: Record<string, unknown> } | { ok: false; error: string }> {
    const body = new URLSearchParams({
      grant_type: 'authorization_code',
      code: flow.code,
      redirect_uri: flow.callbackUrl,
      code_verifier: flow.verifier,
    });
    const headers: Record<string, string> = {
      'content-type': 'application/x-www-form-urlencoded',
      accept: 'application/json',
    };
    if (method === 'basic') {
      // RFC 6749 §2.3.1: each part form-encoded before Basic's base64.
      const encode = (part: string) => encodeURIComponent(part).replace(/%20/g, '+');
      const pair = `${encode(client.clientId)}:${encode(client.clientSecret)}`;
      headers.authorization = `Basic ${Buffer.from(pair).toString('base64')}`;
    } else {
      body.set('client_id', client.clientId);
      body.set('client_secret', client.clientSecret);
    }
    let response: Response;
    try {
      response = await this.fetch(document.token_endpoint, {
        method: 'POST',
        headers,
        body: body.toString(),
        redirect: 'error',
        signal: AbortSignal.timeout(10_000),
      });
    } catch (error) {
      throw new OidcRefusal('provider_unavailable', `its token endpoint did not answer: ${(error as Error).message}`);
    }
    const answer = (await response.json().catch(() => null)) as Record<string, unknown> | null;
    if (response.ok && answer) return { ok: true, answer };
    const error = typeof answer?.error === 'string' ? answer.error.slice(0, 100) : `status ${response.status}`;
    return { ok: false, error };
  }

  private keysOf(document: Discovery): RemoteKeySet {
    let keys = this.keySets.get(document.jwks_uri);
    if (!keys) {
      keys = new RemoteKeySet(
        { label: document.issuer, issuer: document.issuer, jwksUrl: document.jwks_uri },
        this.fetchJson,
        this.now,
      );
      this.keySets.set(document.jwks_uri, keys);
    }
    return keys;
  }

  private async verifyIdToken(
    provider: OidcProvider,
    document: Discovery,
    clientId: string,
    idToken: string,
    nonce: string,
  ): Promise<JWTPayload> {
    const jose = await import('jose');
    let payload: JWTPayload;
    try {
      ({ payload } = await jose.jwtVerify(idToken, this.keysOf(document).getKey, {
        issuer: document.issuer,
        audience: clientId,
        algorithms: ALGORITHMS,
        clockTolerance: CLOCK_TOLERANCE_S,
        currentDate: new Date(this.now()),
        requiredClaims: ['sub', 'iat', 'exp'],
      }));
    } catch (error) {
      throw new OidcRefusal('invalid_id_token', `the ID token of "${provider.id}" did not verify: ${describe(error)}`);
    }
    if (payload.nonce !== nonce)
      throw new OidcRefusal('invalid_id_token', `the ID token of "${provider.id}" carries another nonce`);
    // OIDC Core §3.1.3.7: with several audiences, the authorized party must be this client.
    if (Array.isArray(payload.aud) && payload.aud.length > 1 && payload.azp !== clientId)
      throw new OidcRefusal('invalid_id_token', `the ID token of "${provider.id}" was issued to another party`);
    return payload;
  }

  private async withUserinfo(endpoint: string, accessToken: string, profile: OidcProfile): Promise<OidcProfile> {
    let claims: JWTPayload | null = null;
    try {
      const response = await this.fetch(endpoint, {
        headers: { authorization: `Bearer ${accessToken}`, accept: 'application/json' },
        redirect: 'error',
        signal: AbortSignal.timeout(10_000),
      });
      if (response.ok) claims = (await response.json()) as JWTPayload;
    } catch {
      // The ID token's subject is enough to sign in; the email stays unknown.
    }
    // OIDC Core §5.3.2: userinfo about another subject is not about this person.
    if (!claims || claims.sub !== profile.subject) return profile;
    const more = profileOf(claims);
    return {
      ...profile,
      email: more.email,
      emailVerified: more.emailVerified,
      name: profile.name ?? more.name,
      picture: profile.picture ?? more.picture,
    };
  }
}

function describe(error: unknown): string {
  const code = (error as { code?: unknown }).code;
  const message = (error as Error).message ?? String(error);
  return typeof code === 'string' ? `${code}: ${message}` : message;
}

const text = (value: unknown, max: number) =>
  typeof value === 'string' && value.length > 0 && value.length <= max ? value : null;

function profileOf(claims: JWTPayload): OidcProfile {
  const email = text(claims.email, 254)?.trim().toLowerCase() ?? null;
  // Some providers send "true" as a string.
  const verified = claims.email_verified === true || claims.email_verified === 'true';
  const picture = text(claims.picture, 2048);
  return {
    subject: String(claims.sub),
    email,
    emailVerified: email !== null && verified,
    name: text(claims.name, 200),
    picture: picture && /^https:\/\//.test(picture) ? picture : null,
  };
}
