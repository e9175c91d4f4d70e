// A real OpenID provider on loopback: `oidc-provider` from npm (the certified implementation),
// configured as an issuer with its own signing key, confidential clients and a few people. Its
// development sign-in pages are driven over HTTP like a browser would (cookies, redirects, the
// login and consent forms), so a test gets the provider's real redirect back to the app.
//
// `tamper` changes what its token endpoint answers, as a hostile or broken provider (or someone
// in the middle) would: an ID token with `alg: none`, one signed with another key under the real
// key's id, or one signed with the real key but carrying another nonce.
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT, decodeJwt, decodeProtectedHeader, exportJWK, generateKeyPair, importJWK } from 'jose';
import type { JWK } from 'jose';

export interface OidcPerson {
  email?: string;
  email_verified?: boolean;
  name?: string;
}

export interface OidcClientConfig {
  clientId: string;
  clientSecret: string;
  redirectUris: string[];
  /**
   * How the client must authenticate at the token endpoint (default client_secret_basic).
   * oidc-provider itself takes either way of sending the secret; this one is held to its method,
   * as Okta and others hold a client (`invalid_client` for the other way).
   */
  tokenAuthMethod?: 'client_secret_basic' | 'client_secret_post';
}

export type Tamper = 'alg-none' | 'wrong-key' | 'wrong-nonce' | null;

export interface RunningOidcProvider {
  issuer: string;
  /** How the token endpoint's answers are changed (null: as the provider made them). */
  tamper: Tamper;
  /** Requests the token endpoint answered. */
  tokenRequests: number;
  /** Signs `person` in at an authorization URL: the provider's redirect back (to the app's callback). */
  signIn(authorizationUrl: string, person: string, options?: { deny?: boolean }): Promise<string>;
  close(): Promise<void>;
}

class CookieJar {
  private readonly cookies = new Map<string, string>();

  take(response: Response): void {
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const at = pair!.indexOf('=');
      const name = pair!.slice(0, at).trim();
      const value = pair!.slice(at + 1).trim();
      if (/expires=Thu, 01 Jan 1970/i.test(line) || value === '') this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  header(): string {
    return [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  }
}

export async function startOidcProvider(options: {
  clients: OidcClientConfig[];
  people: Record<string, OidcPerson>;
  /** Put the email in the ID token (as Google does) rather than only in userinfo (the spec's default). */
  claimsInIdToken?: boolean;
}): Promise<RunningOidcProvider> {
  const { default: Provider } = await import('oidc-provider');
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const signing = await generateKeyPair('RS256', { extractable: true });
  const privateJwk: JWK = { ...(await exportJWK(signing.privateKey)), kid: 'provider-key-1', alg: 'RS256', use: 'sig' };
  const stranger = await generateKeyPair('RS256', { extractable: true });

  const provider = new Provider(issuer, {
    clients: options.clients.map((client) => ({
      client_id: client.clientId,
      client_secret: client.clientSecret,
      redirect_uris: client.redirectUris,
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: client.tokenAuthMethod ?? 'client_secret_basic',
    })),
    jwks: { keys: [privateJwk] },
    cookies: { keys: ['a cookie key for tests only'] },
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
    pkce: { required: () => true },
    conformIdTokenClaims: !options.claimsInIdToken,
    ttl: { Interaction: 600, Session: 600, Grant: 600, AccessToken: 600, IdToken: 600, AuthorizationCode: 60 },
    features: { devInteractions: { enabled: true } },
    async findAccount(_ctx: unknown, id: string) {
      const person = options.people[id];
      if (!person) return undefined;
      return { accountId: id, claims: async () => ({ sub: id, ...person }) };
    },
  } as never);

  const running: RunningOidcProvider = {
    issuer,
    tamper: null,
    tokenRequests: 0,
    async signIn(authorizationUrl, person, signInOptions = {}) {
      const jar = new CookieJar();
      let url = authorizationUrl;
      let body: URLSearchParams | undefined;
      for (let step = 0; step < 12; step++) {
        const response = await fetch(url, {
          method: body ? 'POST' : 'GET',
          redirect: 'manual',
          headers: {
            cookie: jar.header(),
            ...(body ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
          },
          body: body?.toString(),
        });
        jar.take(response);
        body = undefined;
        const location = response.headers.get('location');
        if (location) {
          const next = new URL(location, url).href;
          // Leaving the provider: this is its redirect back to the app.
          if (!next.startsWith(`${issuer}/`)) return next;
          url = next;
          continue;
        }
        const page = await response.text();
        if (response.status !== 200) throw new Error(`the provider answered ${response.status}: ${page.slice(0, 300)}`);
        if (signInOptions.deny && /name="prompt" value="consent"/.test(page)) {
          url = `${url.replace(/\/$/, '')}/abort`;
          continue;
        }
        // Its login form (prompt=login), then its consent form (prompt=consent).
        const prompt = /name="prompt" value="(\w+)"/.exec(page)?.[1];
        if (!prompt) throw new Error(`no form on the provider's page: ${page.slice(0, 300)}`);
        body = new URLSearchParams({ prompt, login: person, password: 'anything' });
      }
      throw new Error('the provider never sent the browser back');
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };

  const realKey = await importJWK(privateJwk, 'RS256');
  const postOnly = new Set(
    options.clients.filter((c) => c.tokenAuthMethod === 'client_secret_post').map((c) => c.clientId),
  );
  provider.use(async (ctx: any, next: () => Promise<void>) => {
    const basic = /^Basic (.+)$/.exec(ctx.get('authorization') ?? '')?.[1];
    if (ctx.path === '/token' && basic) {
      const clientId = decodeURIComponent(Buffer.from(basic, 'base64').toString().split(':')[0]!);
      if (postOnly.has(clientId)) {
        running.tokenRequests++;
        ctx.status = 401;
        ctx.body = { error: 'invalid_client', error_description: 'this client sends its secret in the body' };
        return;
      }
    }
    await next();
    if (ctx.path !== '/token') return;
    running.tokenRequests++;
    const idToken = ctx.body?.id_token;
    if (typeof idToken !== 'string' || running.tamper === null) return;
    const claims = decodeJwt(idToken);
    const header = decodeProtectedHeader(idToken);
    if (running.tamper === 'alg-none') {
      const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
      ctx.body = { ...ctx.body, id_token: `${encode({ alg: 'none', typ: 'JWT' })}.${encode(claims)}.` };
    } else if (running.tamper === 'wrong-key') {
      const forged = await new SignJWT(claims).setProtectedHeader(header as never).sign(stranger.privateKey);
      ctx.body = { ...ctx.body, id_token: forged };
    } else {
      const forged = await new SignJWT({ ...claims, nonce: 'not-the-nonce-the-app-sent' })
        .setProtectedHeader(header as never)
        .sign(realKey);
      ctx.body = { ...ctx.body, id_token: forged };
    }
  });
  server.on('request', provider.callback());
  return running;
}
