// GitHub's side of a sign-in (OAuth 2.0 as GitHub documents it for OAuth apps: no ID token and no
// nonce — the `state` and the PKCE verifier carry the flow's integrity, and the code is exchanged
// over TLS with the client secret). Who signed in comes from GitHub's REST API: the user's numeric
// id (never the login, which can be renamed and reused) and their primary verified email.
import type { GitHubProvider } from '../../../server/auth.js';
import type { GuardedFetch, OidcProfile } from './refusal.js';
import { OidcRefusal } from './refusal.js';

export function githubAuthorizationUrl(
  provider: GitHubProvider,
  clientId: string,
  flow: { state: string; challenge: string; callbackUrl: string },
): string {
  const url = new URL(`${provider.issuer}/login/oauth/authorize`);
  const params = {
    client_id: clientId,
    redirect_uri: flow.callbackUrl,
    scope: provider.scopes.join(' '),
    state: flow.state,
    code_challenge: flow.challenge,
    code_challenge_method: 'S256',
    allow_signup: 'true',
  };
  for (const [name, value] of Object.entries(params)) url.searchParams.set(name, value);
  return url.href;
}

async function readJson(fetch: GuardedFetch, url: string, init: RequestInit, what: string): Promise<any> {
  let response: Response;
  try {
    response = await fetch(url, { ...init, redirect: 'error', signal: AbortSignal.timeout(10_000) });
  } catch (error) {
    throw new OidcRefusal('provider_unavailable', `GitHub's ${what} did not answer: ${(error as Error).message}`);
  }
  const body = await response.json().catch(() => null);
  if (!response.ok || body === null)
    throw new OidcRefusal('provider_error', `GitHub's ${what} answered ${response.status}`);
  return body;
}

export async function githubSignedIn(
  fetch: GuardedFetch,
  provider: GitHubProvider,
  client: { clientId: string; clientSecret: string },
  flow: { code: string; verifier: string; callbackUrl: string },
): Promise<OidcProfile> {
  const tokens = await readJson(
    fetch,
    `${provider.issuer}/login/oauth/access_token`,
    {
      method: 'POST',
      headers: { accept: 'application/json', 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        client_id: client.clientId,
        client_secret: client.clientSecret,
        code: flow.code,
        redirect_uri: flow.callbackUrl,
        code_verifier: flow.verifier,
      }).toString(),
    },
    'token endpoint',
  );
  // GitHub answers a refused code with 200 and `{ error }`.
  if (typeof tokens.access_token !== 'string') {
    const said = typeof tokens.error === 'string' ? tokens.error.slice(0, 100) : 'no access_token';
    throw new OidcRefusal('provider_error', `GitHub's token endpoint refused the code (${said})`);
  }
  const api = {
    headers: {
      authorization: `Bearer ${tokens.access_token}`,
      accept: 'application/vnd.github+json',
      'x-github-api-version': '2022-11-28',
      'user-agent': 'valet-auth',
    },
  };
  const user = await readJson(fetch, `${provider.apiUrl}/user`, api, 'user API');
  if (typeof user.id !== 'number' && typeof user.id !== 'string')
    throw new OidcRefusal('provider_error', "GitHub's user API gave no id");
  const emails = await readJson(fetch, `${provider.apiUrl}/user/emails`, api, 'emails API').catch(() => []);
  const verified = (Array.isArray(emails) ? emails : []).filter(
    (e: { email?: unknown; verified?: unknown }) => typeof e?.email === 'string' && e.verified === true,
  );
  const chosen = verified.find((e: { primary?: unknown }) => e.primary === true) ?? verified[0];
  const email = typeof chosen?.email === 'string' ? chosen.email.trim().toLowerCase() : null;
  const picture = typeof user.avatar_url === 'string' && /^https:\/\//.test(user.avatar_url) ? user.avatar_url : null;
  return {
    subject: String(user.id),
    email,
    emailVerified: email !== null,
    name:
      typeof user.name === 'string' && user.name
        ? user.name.slice(0, 200)
        : typeof user.login === 'string'
          ? user.login
          : null,
    picture,
  };
}
