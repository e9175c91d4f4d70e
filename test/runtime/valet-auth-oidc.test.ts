// Signing in through valet/auth with OpenID Connect providers, on both backends, against two real
// OpenID providers on loopback (oidc-provider): the whole flow (start → the provider's sign-in →
// callback → one-time exchange → tokens), then each way it must fail — a forged or replayed state,
// a replayed or stolen exchange code, a page not on the allow-list, an ID token with `alg: none`,
// signed by another key, or carrying another nonce, a flow left too long, a refusal at the provider
// — and account linking by verified email across providers. GitHub (OAuth 2.0 without ID tokens)
// against a loopback server at a GitHub Enterprise Server's paths (test/helpers/github-like.ts).
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listOutbox } from '../../src/runtime/outbox/store.js';
import { removeTempDirs } from '../helpers/apps.js';
import { ManualClock } from '../helpers/engine.js';
import { startGitHubLike } from '../helpers/github-like.js';
import type { GitHubLike } from '../helpers/github-like.js';
import { startOidcProvider } from '../helpers/oidc-provider.js';
import type { RunningOidcProvider } from '../helpers/oidc-provider.js';
import { postJson, serveFixture } from '../helpers/sync-server.js';
import type { ServedApp } from '../helpers/sync-server.js';

const clock = new ManualClock();
const logs: string[] = [];
const ACME_SECRET = 'acme-client-secret-for-tests-0123456789';
const GLOBEX_SECRET = 'globex-client-secret-for-tests-9876543210';
const BACK = 'https://app.example.com/signed-in/';
let served: ServedApp;
let acme: RunningOidcProvider;
let globex: RunningOidcProvider;
let github: GitHubLike;
const GITHUB_SECRET = 'github-client-secret-for-tests-00000000';

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

beforeAll(async () => {
  const port = await freePort();
  const app = `http://127.0.0.1:${port}`;
  acme = await startOidcProvider({
    clients: [{ clientId: 'acme-client', clientSecret: ACME_SECRET, redirectUris: [`${app}/api/auth/callback/acme`] }],
    people: {
      ada: { email: 'Ada@Example.com', email_verified: true, name: 'Ada Lovelace' },
      eve: { email: 'eve@example.com', email_verified: false, name: 'Eve' },
      grace: { email: 'grace@example.com', email_verified: true },
      blip: { email: 'blip@example.com', email_verified: true },
    },
  });
  globex = await startOidcProvider({
    clients: [
      {
        clientId: 'valet-app',
        clientSecret: GLOBEX_SECRET,
        redirectUris: [`${app}/api/auth/callback/globex`],
        // Registered for the secret in the body: refused with Basic, then taken that way.
        tokenAuthMethod: 'client_secret_post',
      },
    ],
    people: { 'ada-at-globex': { email: 'ada@example.com', email_verified: true, name: 'A. Lovelace' } },
    claimsInIdToken: true,
  });
  github = await startGitHubLike({ clientId: 'gh-client', clientSecret: GITHUB_SECRET });
  // valet/auth.ts reads these when its bundle loads.
  const env = {
    GITHUB_URL: github.url,
    GITHUB_SECRET,
    ACME_ISSUER: acme.issuer,
    ACME_CLIENT_ID: 'acme-client',
    ACME_CLIENT_SECRET: ACME_SECRET,
    GLOBEX_ISSUER: globex.issuer,
    GLOBEX_CLIENT_SECRET: GLOBEX_SECRET,
  };
  Object.assign(process.env, env);
  try {
    served = await serveFixture('oidc-app', undefined, port, {
      clock,
      log: (line) => logs.push(line),
      // A production server reaches loopback providers only because it is told it may.
      env: { VALET_FETCH_ALLOW: '127.0.0.1' },
    });
  } finally {
    for (const name of Object.keys(env)) delete process.env[name];
  }
});

afterAll(async () => {
  await served?.stop();
  await acme?.close();
  await globex?.close();
  await github?.close();
  removeTempDirs();
});

const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  postJson(served.url, path, body, headers);

const signIn = (provider: string, params: Record<string, unknown>) => post('/api/auth/signin', { provider, params });
const newVerifier = () => randomBytes(32).toString('base64url');

async function start(provider: string, verifier: string, redirectTo = BACK): Promise<string> {
  const started = await signIn(provider, { redirectTo, verifier });
  expect(started).toMatchObject({ status: 200, body: { redirect: expect.any(String) } });
  return started.body.redirect;
}

/** Follows the provider's redirect back into the app: where the app sends the browser next. */
async function callback(url: string) {
  const response = await fetch(url, { redirect: 'manual' });
  const location = response.headers.get('location');
  return {
    status: response.status,
    location: location ? new URL(location) : null,
    referrerPolicy: response.headers.get('referrer-policy'),
    body: location ? null : ((await response.json()) as any),
  };
}

async function viewer(token: string) {
  const response = await post('/api/query', { path: 'me:viewer', args: {} }, { authorization: `Bearer ${token}` });
  return response.body.value;
}

/** The whole flow for `person` at `provider`: the exchange's answer. */
async function signInThrough(provider: RunningOidcProvider, id: string, person: string) {
  const verifier = newVerifier();
  const back = await callback(await provider.signIn(await start(id, verifier), person));
  const code = back.location?.searchParams.get('code');
  if (!code) throw new Error(`no code: ${back.location?.href ?? JSON.stringify(back.body)}`);
  return signIn(id, { code, verifier });
}

async function signInThroughGitHub() {
  const verifier = newVerifier();
  const authorization = await start('github', verifier);
  const back = await callback((await fetch(authorization, { redirect: 'manual' })).headers.get('location')!);
  return signIn('github', { code: back.location!.searchParams.get('code'), verifier });
}

describe('signing in with an OpenID Connect provider', () => {
  it('goes to the provider with PKCE, state and nonce, and comes back signed in as a users document', async () => {
    const verifier = newVerifier();
    const authorization = new URL(await start('acme', verifier));
    expect(authorization.origin).toBe(acme.issuer);
    expect(Object.fromEntries(authorization.searchParams)).toMatchObject({
      response_type: 'code',
      client_id: 'acme-client',
      redirect_uri: `${served.url}/api/auth/callback/acme`,
      scope: 'openid email profile',
      code_challenge_method: 'S256',
      state: expect.stringMatching(/^[\w-]{43}$/),
      nonce: expect.stringMatching(/^[\w-]{43}$/),
      code_challenge: expect.stringMatching(/^[\w-]{43}$/),
    });
    // The page's own verifier never goes to the provider.
    expect(authorization.href).not.toContain(verifier);

    const back = await callback(await acme.signIn(authorization.href, 'ada'));
    expect(back.status).toBe(303);
    expect(back.referrerPolicy).toBe('no-referrer');
    expect(`${back.location!.origin}${back.location!.pathname}`).toBe(BACK);
    const code = back.location!.searchParams.get('code')!;
    expect(code).toMatch(/^[\w-]{43}$/);

    const tokens = await signIn('acme', { code, verifier });
    expect(tokens).toMatchObject({
      status: 200,
      body: { token: expect.any(String), refreshToken: expect.any(String), expiresAt: expect.any(Number) },
    });
    const me = await viewer(tokens.body.token);
    // The provider gave the email in userinfo only (the spec's default): it was fetched from there.
    expect(me.user).toMatchObject({ _id: me.userId, email: 'ada@example.com', name: 'Ada Lovelace' });
    expect(me.identity).toMatchObject({ subject: me.userId, email: 'ada@example.com', emailVerified: true });
    // A refresh works as for any other session.
    expect((await post('/api/auth/refresh', { refreshToken: tokens.body.refreshToken })).status).toBe(200);
  });

  it('makes the verifier when the page sends none (as Convex Auth does) and returns to the page that asked', async () => {
    const started = await post('/api/auth/signin', { provider: 'acme', params: {} }, { origin: served.url });
    expect(started).toMatchObject({
      status: 200,
      body: { redirect: expect.any(String), verifier: expect.stringMatching(/^[\w-]{43}$/) },
    });
    const back = await callback(await acme.signIn(started.body.redirect, 'ada'));
    expect(`${back.location!.origin}${back.location!.pathname}`).toBe(`${served.url}/`);
    const code = back.location!.searchParams.get('code');
    expect((await signIn('acme', { code })).body.code).toBe('invalid_auth_request');
    expect((await signIn('acme', { code, verifier: started.body.verifier })).status).toBe(200);
    // A page on an origin the server does not allow is not a default either.
    const elsewhere = await post(
      '/api/auth/signin',
      { provider: 'acme', params: {} },
      { origin: 'https://evil.example' },
    );
    expect(elsewhere.status).toBe(403);
  });

  it('lists the providers for a sign-in page, names only', async () => {
    const response = await fetch(`${served.url}/api/auth/providers`);
    const text = await response.text();
    expect(JSON.parse(text)).toEqual({
      providers: [
        { id: 'email', type: 'email' },
        { id: 'acme', type: 'oidc', name: 'Acme SSO' },
        { id: 'globex', type: 'oidc', name: 'globex' },
        { id: 'github', type: 'github', name: 'GitHub' },
      ],
    });
    for (const secret of [ACME_SECRET, GLOBEX_SECRET, GITHUB_SECRET, 'acme-client']) expect(text).not.toContain(secret);
  });

  it('takes each callback and each exchange code once, and the code only with the page’s own verifier', async () => {
    const verifier = newVerifier();
    const redirectBack = await acme.signIn(await start('acme', verifier), 'ada');
    const first = await callback(redirectBack);
    const code = first.location!.searchParams.get('code')!;
    // The provider's redirect replayed (a back button, a leaked URL): refused, nothing issued.
    expect(await callback(redirectBack)).toMatchObject({ status: 400, body: { code: 'oauth_state_invalid' } });
    // Someone who got the code (from a log or a Referer) but not the page's verifier gets nothing,
    // and the code is spent by their try.
    expect(await signIn('acme', { code, verifier: newVerifier() })).toMatchObject({
      status: 401,
      body: { code: 'invalid_code' },
    });
    expect((await signIn('acme', { code, verifier })).body.code).toBe('invalid_code');

    const again = await signInThrough(acme, 'acme', 'ada');
    expect(again.status).toBe(200);
    const secondCode = await (async () => {
      const v = newVerifier();
      const back = await callback(await acme.signIn(await start('acme', v), 'ada'));
      const c = back.location!.searchParams.get('code')!;
      expect((await signIn('acme', { code: c, verifier: v })).status).toBe(200);
      return { c, v };
    })();
    // Replayed after its use: refused.
    expect((await signIn('acme', { code: secondCode.c, verifier: secondCode.v })).body.code).toBe('invalid_code');
  });

  it('refuses a forged or missing state, and a callback for another provider’s flow', async () => {
    expect(await callback(`${served.url}/api/auth/callback/acme?code=abc&state=${newVerifier()}`)).toMatchObject({
      status: 400,
      body: { code: 'oauth_state_invalid' },
    });
    expect(await callback(`${served.url}/api/auth/callback/acme?code=abc`)).toMatchObject({
      status: 400,
      body: { code: 'oauth_state_invalid' },
    });
    // Acme's genuine redirect, delivered to Globex's callback.
    const back = new URL(await acme.signIn(await start('acme', newVerifier()), 'ada'));
    back.pathname = '/api/auth/callback/globex';
    expect(await callback(back.href)).toMatchObject({ status: 400, body: { code: 'oauth_state_invalid' } });
    expect(await callback(`${served.url}/api/auth/callback/nobody?state=x`)).toMatchObject({
      status: 404,
      body: { code: 'not_found' },
    });
  });

  it('sends people back only to allowed pages (no open redirect)', async () => {
    for (const redirectTo of [
      'https://evil.example/signed-in/',
      'https://app.example.com/elsewhere',
      'https://app.example.com.evil.example/signed-in/',
      'javascript:alert(1)//https://app.example.com/signed-in/',
      '/relative',
    ]) {
      const refused = await signIn('acme', { redirectTo, verifier: newVerifier() });
      expect(refused, redirectTo).toMatchObject({ status: 400, body: { code: 'invalid_auth_request' } });
    }
    expect(
      (await signIn('acme', { redirectTo: 'https://evil.example/', verifier: newVerifier() })).body.message,
    ).toMatch(/https:\/\/evil\.example is not a page this server may send people back to/);
    // The server's own pages are allowed; a page deeper under the allowed prefix too.
    await start('acme', newVerifier(), `${served.url}/`);
    await start('acme', newVerifier(), `${BACK}deeper/page?tab=1`);
    // A verifier that is not a random string is refused.
    expect((await signIn('acme', { redirectTo: BACK, verifier: 'short' })).body.code).toBe('invalid_auth_request');
  });

  for (const tamper of ['alg-none', 'wrong-key', 'wrong-nonce'] as const) {
    it(`refuses an ID token ${tamper === 'alg-none' ? 'with alg: none' : tamper === 'wrong-key' ? 'signed by another key' : 'with another nonce'}`, async () => {
      const before = logs.length;
      acme.tamper = tamper;
      try {
        const back = await callback(await acme.signIn(await start('acme', newVerifier()), 'grace'));
        expect(back.status).toBe(303);
        expect(back.location!.searchParams.get('error')).toBe('invalid_id_token');
        expect(back.location!.searchParams.has('code')).toBe(false);
      } finally {
        acme.tamper = null;
      }
      expect(logs.slice(before).join('\n')).toMatch(/sign-in with "acme" refused: the ID token of "acme"/);
    });
  }

  it('sends a refusal at the provider back to the page, and takes no flow left past ten minutes', async () => {
    const denied = await callback(await acme.signIn(await start('acme', newVerifier()), 'ada', { deny: true }));
    expect(denied.location!.searchParams.get('error')).toBe('access_denied');

    const late = await acme.signIn(await start('acme', newVerifier()), 'ada');
    clock.advance(10 * 60 * 1000 + 1);
    expect(await callback(late)).toMatchObject({ status: 400, body: { code: 'oauth_state_invalid' } });
  });

  it('is one user across two providers with the same verified email, and never links an unverified one', async () => {
    const atAcme = await viewer((await signInThrough(acme, 'acme', 'ada')).body.token);
    const atGlobex = await signInThrough(globex, 'globex', 'ada-at-globex');
    expect(atGlobex.status).toBe(200);
    expect((await viewer(atGlobex.body.token)).userId).toBe(atAcme.userId);

    // Eve's provider does not vouch for her address: a user of her own, and an email-code sign-in
    // for that address (which proves it) is not handed her provider account.
    const eve = await viewer((await signInThrough(acme, 'acme', 'eve')).body.token);
    expect(eve.identity.emailVerified).toBe(false);
    expect(eve.userId).not.toBe(atAcme.userId);
    await signIn('email', { email: 'eve@example.com' });
    const [email] = (await listOutbox(served.engine.connections.autoCommit.sql)).filter((e) =>
      e.to.includes('eve@example.com'),
    );
    const code = /(\d{8})$/.exec(email!.subject)![1];
    const byEmail = await viewer((await signIn('email', { email: 'eve@example.com', code })).body.token);
    expect(byEmail.userId).not.toBe(eve.userId);
  });

  it('signs in with GitHub: the numeric id, the primary verified email, linked by it', async () => {
    const viaAcme = await viewer((await signInThrough(acme, 'acme', 'grace')).body.token);
    github.emails = [
      { email: 'octo-old@example.com', primary: false, verified: true },
      { email: 'Grace@Example.com', primary: true, verified: true },
    ];
    const verifier = newVerifier();
    const authorization = new URL(await start('github', verifier));
    expect(`${authorization.origin}${authorization.pathname}`).toBe(`${github.url}/login/oauth/authorize`);
    expect(authorization.searchParams.get('code_challenge_method')).toBe('S256');
    const back = await callback((await fetch(authorization, { redirect: 'manual' })).headers.get('location')!);
    const tokens = await signIn('github', { code: back.location!.searchParams.get('code'), verifier });
    const me = await viewer(tokens.body.token);
    expect(me.userId).toBe(viaAcme.userId);
    expect(me.identity).toMatchObject({ email: 'grace@example.com', emailVerified: true });

    // Renamed on GitHub, no verified email: still the same account (by id, not login).
    github.user = { ...github.user, login: 'octocat-renamed' };
    github.emails = [{ email: 'unverified@example.com', primary: true, verified: false }];
    expect((await viewer((await signInThroughGitHub()).body.token)).userId).toBe(viaAcme.userId);
  });

  it('refuses a GitHub code exchanged without the flow’s PKCE verifier', async () => {
    const authorization = new URL(await start('github', newVerifier()));
    // Someone swaps the challenge on the way to GitHub: the code GitHub issues is bound to it.
    authorization.searchParams.set('code_challenge', 'A'.repeat(43));
    const back = await callback((await fetch(authorization, { redirect: 'manual' })).headers.get('location')!);
    expect(back.location!.searchParams.get('error')).toBe('provider_error');
    expect(back.location!.searchParams.has('code')).toBe(false);
  });

  it('holds at a database blip in each step: nothing half-made, and what may be retried works', async () => {
    const { faults, autoCommit } = served.engine.connections;
    const count = async (sql: string) => Number((await autoCommit.sql.get<{ n: number }>(sql))!.n);
    const sessions = () => count('SELECT COUNT(*) AS n FROM _valet_auth_sessions');
    const users = () => count("SELECT COUNT(*) AS n FROM _valet_documents WHERE tbl = 'users'");

    // Start: the flow is not written, the page is told to try again, and trying again works.
    faults.failNext('INSERT INTO _valet_auth_oauth');
    expect((await signIn('acme', { redirectTo: BACK, verifier: newVerifier() })).body.code).toBe('storage_unavailable');
    const verifier = newVerifier();
    const providerBack = await acme.signIn(await start('acme', verifier), 'blip');

    // The callback's claim: nothing was spent (not the state, not the provider's code): the same
    // redirect works when the database is back.
    faults.failNext('UPDATE _valet_auth_oauth SET code_hash = ? WHERE state_hash');
    expect(await callback(providerBack)).toMatchObject({ status: 503, body: { code: 'storage_unavailable' } });
    const [usersBefore, sessionsBefore] = [await users(), await sessions()];
    // Its completion, after the provider's code was spent: no user, no account, no session, and the
    // state is not taken twice (the person signs in again).
    faults.failNext('UPDATE _valet_auth_oauth SET code_hash = ?, user_id');
    expect(await callback(providerBack)).toMatchObject({ status: 503, body: { code: 'storage_unavailable' } });
    expect([await users(), await sessions()]).toEqual([usersBefore, sessionsBefore]);
    expect(await callback(providerBack)).toMatchObject({ status: 400, body: { code: 'oauth_state_invalid' } });

    // The exchange: the code stays unspent, and the retry signs in once.
    const again = newVerifier();
    const back = await callback(await acme.signIn(await start('acme', again), 'blip'));
    const code = back.location!.searchParams.get('code');
    faults.failNext('UPDATE _valet_auth_oauth SET used_at');
    expect((await signIn('acme', { code, verifier: again })).body.code).toBe('storage_unavailable');
    expect(await sessions()).toBe(sessionsBefore);
    expect((await signIn('acme', { code, verifier: again })).status).toBe(200);
    expect(await sessions()).toBe(sessionsBefore + 1);
    expect(await users()).toBe(usersBefore + 1);
  });

  it('writes no secret, code or token to a log line', async () => {
    const text = logs.join('\n');
    for (const secret of [ACME_SECRET, GLOBEX_SECRET, GITHUB_SECRET]) expect(text).not.toContain(secret);
    expect(text).not.toMatch(/code=[\w-]{20,}/);
    expect(acme.tokenRequests).toBeGreaterThan(0);
  });
});
