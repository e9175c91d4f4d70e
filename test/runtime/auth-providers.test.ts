// valet/auth.config.ts with two providers at once — an OpenID Connect issuer found by discovery on
// a real HTTP server on loopback, and a custom JWT issuer whose JWKS is a data: URI — and
// ctx.auth.getUserIdentity() as Convex gives it in queries, mutations, actions and HTTP routes.
// Each wrong token is refused with its code; a rotated key is fetched once, a flood of unknown key
// ids does not make the server fetch again; the keys come through the fetch guard.
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { exportJWK, generateKeyPair, SignJWT, UnsecuredJWT } from 'jose';
import type { CryptoKey, JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildAndLoad } from '../../src/bundler/evaluate.js';
import { runCodegen } from '../../src/codegen/index.js';
import { UserError } from '../../src/errors/user-error.js';
import { parseAuthConfig } from '../../src/runtime/auth/providers.js';
import { createEngine } from '../../src/runtime/engine.js';
import type { Engine } from '../../src/runtime/engine.js';
import type { Invoker } from '../../src/server/ctx.js';
import { fixtureApp, removeTempDirs } from '../helpers/apps.js';
import { testDatabase } from '../helpers/database.js';

interface Key {
  privateKey: CryptoKey;
  jwk: JWK;
}

async function newKey(alg: 'ES256' | 'RS256', kid: string): Promise<Key> {
  const pair = await generateKeyPair(alg, { extractable: true });
  return { privateKey: pair.privateKey, jwk: { ...(await exportJWK(pair.publicKey)), kid, alg, use: 'sig' } };
}

/** An OpenID provider's public face: its discovery document and its JWKS, counted. */
class IssuerServer {
  keys: Key[] = [];
  requests: string[] = [];
  server: Server = createServer((req, res) => {
    this.requests.push(req.url ?? '');
    if (req.url === '/.well-known/openid-configuration') {
      res.setHeader('content-type', 'application/json');
      return res.end(JSON.stringify({ issuer: this.issuer, jwks_uri: `${this.issuer}/jwks` }));
    }
    if (req.url === '/jwks') {
      res.setHeader('content-type', 'application/json');
      return res.end(JSON.stringify({ keys: this.keys.map((k) => k.jwk) }));
    }
    res.writeHead(404).end();
  });

  get issuer(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  get jwksFetches(): number {
    return this.requests.filter((url) => url === '/jwks').length;
  }

  sign(key: Key, claims: Record<string, unknown>, options: { iss?: string; aud?: string; sub?: string } = {}) {
    return new SignJWT(claims)
      .setProtectedHeader({ alg: key.jwk.alg as string, kid: key.jwk.kid })
      .setIssuer(options.iss ?? `${this.issuer}/`)
      .setAudience(options.aud ?? 'auth-app')
      .setSubject(options.sub ?? 'user-1')
      .setIssuedAt()
      .setExpirationTime('10m')
      .sign(key.privateKey);
  }
}

const issuer = new IssuerServer();
let customKey: Key;
let engine: Engine;
let fetchAllowedEngine: Engine | null = null;

afterAll(async () => {
  await engine?.close();
  await fetchAllowedEngine?.close();
  issuer.server.close();
  removeTempDirs();
});

async function appEngine(env: Record<string, string>) {
  const app = fixtureApp('auth-app', []);
  runCodegen(app);
  const saved = { OIDC_ISSUER: process.env.OIDC_ISSUER, CUSTOM_JWKS: process.env.CUSTOM_JWKS };
  // valet/auth.config.ts reads these when the bundle loads.
  process.env.OIDC_ISSUER = issuer.issuer;
  process.env.CUSTOM_JWKS = `data:application/json;base64,${Buffer.from(JSON.stringify({ keys: [customKey.jwk] })).toString('base64')}`;
  const modules = await buildAndLoad(app);
  Object.assign(process.env, saved);
  for (const [name, value] of Object.entries(saved)) if (value === undefined) delete process.env[name];
  return createEngine({ modules, ...testDatabase(join(app, '.valet')), log: () => undefined, env });
}

beforeAll(async () => {
  await new Promise<void>((resolve) => issuer.server.listen(0, '127.0.0.1', resolve));
  issuer.keys = [await newKey('ES256', 'oidc-1')];
  customKey = await newKey('RS256', 'custom-1');
  // A production engine may reach the loopback provider only because VALET_FETCH_ALLOW says so.
  engine = await appEngine({ VALET_FETCH_ALLOW: '127.0.0.1' });
});

async function callAs(token: string | null, kind: 'query' | 'mutation' | 'action', path: string) {
  let invoker: Invoker;
  try {
    invoker = await engine.authenticate(token ? `Bearer ${token}` : null);
  } catch (error) {
    return { status: (error as { status: number }).status, code: (error as { code: string }).code };
  }
  const response = await engine.call({ kind, path, args: {}, invoker, external: true });
  return { status: response.status, value: (response.body as { value?: unknown }).value };
}

describe('ctx.auth.getUserIdentity()', () => {
  it('gives an OpenID Connect provider’s user in Convex’s shape', async () => {
    const token = await issuer.sign(issuer.keys[0]!, {
      email: 'ada@example.com',
      email_verified: true,
      name: 'Ada Lovelace',
      given_name: 'Ada',
      picture: 'https://example.com/ada.png',
      updated_at: 1_700_000_000,
      org: 'analytical',
    });
    const { status, value } = await callAs(token, 'query', 'me:identity');
    expect(status).toBe(200);
    expect(value).toEqual({
      tokenIdentifier: `${issuer.issuer}/|user-1`,
      subject: 'user-1',
      issuer: `${issuer.issuer}/`,
      email: 'ada@example.com',
      emailVerified: true,
      name: 'Ada Lovelace',
      givenName: 'Ada',
      pictureUrl: 'https://example.com/ada.png',
      updatedAt: new Date(1_700_000_000_000).toISOString(),
      org: 'analytical',
    });
  });

  it('gives the custom JWT provider’s user from its inline JWKS', async () => {
    const token = await issuer.sign(customKey, {}, { iss: 'https://jwt.example.com', aud: 'anything', sub: 'c-7' });
    const { value } = await callAs(token, 'query', 'me:identity');
    expect(value).toMatchObject({ tokenIdentifier: 'https://jwt.example.com|c-7', subject: 'c-7' });
  });

  it('is null for anonymous callers and in scheduled runs; actions and their runQuery see the caller', async () => {
    expect((await callAs(null, 'query', 'me:identity')).value).toBeNull();
    const token = await issuer.sign(issuer.keys[0]!, {}, { sub: 'user-2' });
    expect((await callAs(token, 'action', 'me:fromAction')).value).toEqual({
      own: `${issuer.issuer}/|user-2`,
      viaQuery: `${issuer.issuer}/|user-2`,
      invoker: 'user',
    });
    await callAs(token, 'mutation', 'me:remember');
    await engine.scheduled.round();
    const seen = (await callAs(null, 'query', 'me:seen')).value as { tokenIdentifier: string | null; via: string }[];
    expect(seen.map((s) => [s.via, s.tokenIdentifier])).toEqual(
      expect.arrayContaining([
        ['mutation', `${issuer.issuer}/|user-2`],
        ['scheduler', null],
      ]),
    );
  });

  it('is there in HTTP routes', async () => {
    const token = await issuer.sign(issuer.keys[0]!, { email: 'route@example.com' }, { sub: 'user-3' });
    const response = await engine.handleHttp(
      new Request('http://127.0.0.1/http/whoami', { headers: { authorization: `Bearer ${token}` } }),
      '/whoami',
    );
    expect(await response.json()).toEqual({ tokenIdentifier: `${issuer.issuer}/|user-3`, email: 'route@example.com' });
  });
});

describe('tokens each provider refuses', () => {
  it.each([
    ['another audience', async () => issuer.sign(issuer.keys[0]!, {}, { aud: 'other-app' }), 'token_audience_invalid'],
    [
      'an issuer nobody configured',
      async () => issuer.sign(issuer.keys[0]!, {}, { iss: 'https://evil.example' }),
      'token_issuer_invalid',
    ],
    [
      'the custom issuer’s name signed with the OIDC key (ES256, not its RS256)',
      async () => issuer.sign(issuer.keys[0]!, {}, { iss: 'https://jwt.example.com' }),
      'token_algorithm_not_allowed',
    ],
    [
      'the custom issuer’s name signed with another RS256 key of the same key id',
      async () => issuer.sign(await newKey('RS256', 'custom-1'), {}, { iss: 'https://jwt.example.com' }),
      'token_signature_invalid',
    ],
    [
      'the OIDC issuer’s name signed with a key it never published',
      async () => issuer.sign(await newKey('ES256', 'oidc-1'), {}),
      'token_signature_invalid',
    ],
    [
      'alg: none',
      async () =>
        new UnsecuredJWT({ sub: 'x' })
          .setIssuer(issuer.issuer)
          .setAudience('auth-app')
          .setExpirationTime('1h')
          .encode(),
      'token_algorithm_not_allowed',
    ],
  ])('%s', async (_name, make, code) => {
    expect(await callAs(await make(), 'query', 'me:identity')).toEqual({ status: 401, code });
  });
});

describe('the provider’s keys', () => {
  it('are fetched again once for a rotated key, not for every unknown key id', async () => {
    const before = issuer.jwksFetches;
    const rotated = await newKey('ES256', 'oidc-2');
    issuer.keys = [...issuer.keys, rotated];
    expect((await callAs(await issuer.sign(rotated, {}, { sub: 'rotated' }), 'query', 'me:identity')).status).toBe(200);
    expect(issuer.jwksFetches).toBe(before + 1);
    // Made-up key ids, many of them: refused, and no further fetch within the refetch interval.
    for (let i = 0; i < 20; i++) {
      const stranger = await newKey('ES256', `made-up-${i}`);
      expect((await callAs(await issuer.sign(stranger, {}), 'query', 'me:identity')).code).toBe(
        'token_signature_invalid',
      );
    }
    expect(issuer.jwksFetches).toBe(before + 1);
  });

  it('are refused from a private address unless VALET_FETCH_ALLOW names it', async () => {
    fetchAllowedEngine = await appEngine({});
    const token = await issuer.sign(issuer.keys[0]!, {});
    await expect(fetchAllowedEngine.authenticate(`Bearer ${token}`)).rejects.toMatchObject({
      code: 'auth_keys_unavailable',
      status: 503,
    });
  });
});

describe('valet/auth.config.ts, checked when the app loads', () => {
  it.each([
    [{}, /must `export default \{ providers: \[/],
    [
      { providers: [{ domain: 'ftp://id.example.com', applicationID: 'a' }] },
      /providers\[0\]\.domain must be an https:\/\/ URL/,
    ],
    [
      { providers: [{ domain: 'http://id.example.com', applicationID: 'a' }] },
      /providers\[0\]\.domain must be an https:\/\/ URL/,
    ],
    [
      { providers: [{ domain: undefined, applicationID: 'a' }] },
      /providers\[0\]\.domain is not set .*environment variable/,
    ],
    [
      { providers: [{ domain: 'https://id.example.com' }] },
      /providers\[0\]\.applicationID is not set .*environment variable/,
    ],
    [{ providers: [{ issuer: 'https://id.example.com', applicationID: 'a' }] }, /names an issuer but no domain/],
    [
      { providers: [{ type: 'customJwt', issuer: 'x', jwks: 'https://x.example/jwks', algorithm: 'HS256' }] },
      /providers\[0\]\.algorithm must be one of RS256/,
    ],
    [
      { providers: [{ type: 'customJwt', issuer: 'x', jwks: 'data:,nope', algorithm: 'RS256' }] },
      /data: URI that does not hold JSON/,
    ],
    [{ providers: [{ type: 'oauth', issuer: 'x' }] }, /providers\[0\]\.type must be "customJwt"/],
    [
      {
        providers: [
          { domain: 'https://id.example.com', applicationID: 'a' },
          { domain: 'https://id.example.com/', applicationID: 'a' },
        ],
      },
      /providers\[1\] repeats providers\[0\]/,
    ],
  ])('%j is refused, naming the path', (config, message) => {
    let error: unknown;
    try {
      parseAuthConfig(config);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(UserError);
    expect((error as UserError).message).toMatch(/^valet\/auth\.config\.ts: /);
    expect((error as UserError).message).toMatch(message);
    expect((error as UserError).location?.file).toBe('valet/auth.config.ts');
  });

  it('takes an OpenID Connect provider with or without its trailing slash, and http on loopback', () => {
    expect(parseAuthConfig({ providers: [{ domain: 'https://id.example.com/', applicationID: 'a' }] })).toEqual([
      expect.objectContaining({
        issuer: 'https://id.example.com',
        audience: 'a',
        keys: { discovery: 'https://id.example.com/.well-known/openid-configuration' },
      }),
    ]);
    expect(parseAuthConfig({ providers: [{ domain: 'http://localhost:4000', applicationID: 'a' }] })).toHaveLength(1);
    expect(parseAuthConfig(undefined)).toBeNull();
  });
});

describe('valet/auth.ts', () => {
  it('is the app’s sign-in only when `auth` is valetAuth(...): a function named auth is just a function', async () => {
    const { buildRegistry } = await import('../../src/runtime/registry.js');
    const { defineQuery } = await import('../../src/server/index.js');
    const { Password, valetAuth } = await import('../../src/server/auth.js');
    const asFunction = buildRegistry({ auth: { auth: defineQuery({ access: 'public', handler: async () => 1 }) } });
    expect(asFunction.valetAuth).toBeNull();
    expect(asFunction.functions.has('auth:auth')).toBe(true);
    expect(buildRegistry({ auth: { auth: valetAuth({ providers: [Password()] }) } }).valetAuth).not.toBeNull();
    expect(() => buildRegistry({ auth: { auth: { providers: [] } } })).toThrow(/`auth` must be `valetAuth/);
  });
});
