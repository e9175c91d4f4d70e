// Strict bearer-token verification: every way a token can be wrong gets 401 and its own code.
import { exportJWK, exportSPKI, generateKeyPair, importJWK, SignJWT, UnsecuredJWT } from 'jose';
import { afterAll, describe, expect, it } from 'vitest';
import { authConfigFromEnv, devAuthConfig } from '../../src/runtime/auth/config.js';
import { verifyToken } from '../../src/runtime/auth/verify.js';
import { TokenCache } from '../../src/runtime/auth/token-cache.js';
import { DEV_AUDIENCE, DEV_ISSUER, loadOrCreateDevKey, signDevToken } from '../../src/project/keys.js';
import { removeTempDirs, tempDir } from '../helpers/apps.js';

afterAll(removeTempDirs);

const stateDir = tempDir();
const devKey = await loadOrCreateDevKey(stateDir);
const config = devAuthConfig(devKey.publicJwk, DEV_ISSUER, DEV_AUDIENCE, 'the test key');
const privateKey = await importJWK(devKey.privateJwk, 'ES256');
const now = () => Math.floor(Date.now() / 1000);

function claims(
  overrides: { iss?: string; aud?: string; exp?: number | null; nbf?: number; sub?: string | null; iat?: number } = {},
) {
  const jwt = new SignJWT({})
    .setProtectedHeader({ alg: 'ES256', kid: devKey.kid })
    .setIssuer(overrides.iss ?? DEV_ISSUER)
    .setAudience(overrides.aud ?? DEV_AUDIENCE)
    .setIssuedAt(overrides.iat);
  if (overrides.sub !== null) jwt.setSubject(overrides.sub ?? 'u1');
  if (overrides.exp !== null) jwt.setExpirationTime(overrides.exp ?? now() + 3600);
  if (overrides.nbf !== undefined) jwt.setNotBefore(overrides.nbf);
  return jwt;
}

async function rejection(token: string): Promise<{ code: string; status: number }> {
  try {
    await verifyToken(config, token);
  } catch (error) {
    return { code: (error as { code: string }).code, status: (error as { status: number }).status };
  }
  throw new Error('the token was accepted');
}

describe('verifyToken', () => {
  it('accepts a dev token and returns its subject and claims', async () => {
    const token = await signDevToken(stateDir, 'user-42', { claims: { role: 'admin' } });
    expect(await verifyToken(config, token)).toMatchObject({
      userId: 'user-42',
      claims: expect.objectContaining({ sub: 'user-42', role: 'admin', iss: DEV_ISSUER, aud: DEV_AUDIENCE }),
    });
  });

  it('allows a small clock skew', async () => {
    expect((await verifyToken(config, await claims({ exp: now() - 2 }).sign(privateKey))).userId).toBe('u1');
    expect((await verifyToken(config, await claims({ iat: now() + 2 }).sign(privateKey))).userId).toBe('u1');
  });

  it.each([
    [
      'alg: none',
      async () =>
        new UnsecuredJWT({ sub: 'u1' })
          .setIssuer(DEV_ISSUER)
          .setAudience(DEV_AUDIENCE)
          .setExpirationTime('1h')
          .encode(),
      'token_algorithm_not_allowed',
    ],
    [
      'a key this server does not know',
      async () => claims().sign((await generateKeyPair('ES256')).privateKey),
      'token_signature_invalid',
    ],
    [
      'HS256 signed with the public key',
      async () => {
        const publicPem = await exportSPKI((await importJWK(devKey.publicJwk, 'ES256')) as never);
        return new SignJWT({})
          .setProtectedHeader({ alg: 'HS256', kid: devKey.kid })
          .setSubject('u1')
          .setIssuer(DEV_ISSUER)
          .setAudience(DEV_AUDIENCE)
          .setExpirationTime('1h')
          .sign(new TextEncoder().encode(publicPem));
      },
      'token_algorithm_not_allowed',
    ],
    ['no exp', async () => claims({ exp: null }).sign(privateKey), 'token_claim_missing'],
    ['no sub', async () => claims({ sub: null }).sign(privateKey), 'token_claim_missing'],
    ['another issuer', async () => claims({ iss: 'https://evil.example' }).sign(privateKey), 'token_issuer_invalid'],
    ['another audience', async () => claims({ aud: 'other-app' }).sign(privateKey), 'token_audience_invalid'],
    ['expired', async () => claims({ exp: now() - 60 }).sign(privateKey), 'token_expired'],
    ['not yet valid', async () => claims({ nbf: now() + 60 }).sign(privateKey), 'token_not_yet_valid'],
    [
      'issued in the future (iat beyond the clock tolerance)',
      async () => claims({ iat: now() + 600 }).sign(privateKey),
      'token_not_yet_valid',
    ],
    ['garbage', async () => 'not.a.jwt', 'token_malformed'],
  ])('rejects %s with 401', async (_name, makeToken, code) => {
    expect(await rejection(await makeToken())).toEqual({ code, status: 401 });
  });
});

describe('authConfigFromEnv', () => {
  it('reads a shared secret or a JWKS URL, and nothing when unset', async () => {
    expect(authConfigFromEnv({})).toBeNull();
    const secret = 'x'.repeat(40);
    const config = authConfigFromEnv({
      VALET_AUTH_ISSUER: 'https://auth.example',
      VALET_AUTH_AUDIENCE: 'app',
      VALET_AUTH_SECRET: secret,
    })!;
    expect(config.algorithms).toEqual(['HS256']);
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('s1')
      .setIssuer('https://auth.example')
      .setAudience('app')
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode(secret));
    expect((await verifyToken(config, token)).userId).toBe('s1');
    expect(
      authConfigFromEnv({
        VALET_AUTH_ISSUER: 'i',
        VALET_AUTH_AUDIENCE: 'a',
        VALET_AUTH_JWKS_URL: 'https://auth.example/jwks.json',
      })!.algorithms,
    ).toEqual(['RS256', 'ES256', 'EdDSA']);
  });

  it('refuses incomplete or unsafe settings with a message', () => {
    expect(() => authConfigFromEnv({ VALET_AUTH_ISSUER: 'i' })).toThrow('auth configuration is incomplete');
    expect(() =>
      authConfigFromEnv({ VALET_AUTH_ISSUER: 'i', VALET_AUTH_AUDIENCE: 'a', VALET_AUTH_SECRET: 'short' }),
    ).toThrow('at least 32 bytes');
    expect(() =>
      authConfigFromEnv({
        VALET_AUTH_ISSUER: 'i',
        VALET_AUTH_AUDIENCE: 'a',
        VALET_AUTH_JWKS_URL: 'https://x',
        VALET_AUTH_ALGORITHMS: 'HS256',
      }),
    ).toThrow('only asymmetric');
  });

  it('keeps the dev key in .valet/ across restarts', async () => {
    expect((await loadOrCreateDevKey(stateDir)).kid).toBe(devKey.kid);
    expect(await exportJWK((await importJWK(devKey.publicJwk, 'ES256')) as never)).toMatchObject({
      kty: 'EC',
      crv: 'P-256',
    });
  });
});

describe('the verified-token cache', () => {
  const codeOf = async (run: () => Promise<unknown>) => {
    try {
      await run();
    } catch (error) {
      return (error as { code: string }).code;
    }
    return 'accepted';
  };

  it('answers a token it verified from memory, and never past its exp', async () => {
    const cache = new TokenCache(config);
    const exp = now() + 60;
    const token = await claims({ exp }).sign(privateKey);
    const first = await cache.verify(token);
    expect(await cache.verify(token)).toBe(first);
    expect(await codeOf(() => cache.verify(token, exp * 1000 + 10_000))).toBe('token_expired');
  });

  it('keeps refusing what it refused, and a forged token beside a cached good one', async () => {
    const cache = new TokenCache(config);
    const good = await claims().sign(privateKey);
    await cache.verify(good);
    const [header, payload] = good.split('.');
    const forged = `${header}.${Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(payload!, 'base64url').toString()), sub: 'admin' })).toString('base64url')}.${good.split('.')[2]}`;
    expect(await codeOf(() => cache.verify(forged))).toBe('token_signature_invalid');
    expect(await codeOf(() => cache.verify(forged))).toBe('token_signature_invalid');
    expect(cache.size).toBe(1);
  });

  it('hands out frozen claims, stays within its bound, and empties when the JWKS is fetched again', async () => {
    const cache = new TokenCache(config, 2);
    const tokens = await Promise.all(['a', 'b', 'c'].map((sub) => claims({ sub }).sign(privateKey)));
    for (const token of tokens) await cache.verify(token);
    expect(cache.size).toBe(2);
    const user = await cache.verify(tokens[2]!);
    expect(() => ((user.claims as Record<string, unknown>).sub = 'someone-else')).toThrow();

    let keys: { keys: object[] } = { keys: [devKey.publicJwk] };
    const local = devAuthConfig(devKey.publicJwk, DEV_ISSUER, DEV_AUDIENCE, 'rotating');
    const getter = Object.assign((...args: unknown[]) => (local.key as (...a: unknown[]) => unknown)(...args), {
      jwks: () => keys,
    });
    const rotating = new TokenCache({ ...local, key: getter as never });
    const t0 = Date.now();
    await rotating.verify(tokens[0]!, t0);
    await rotating.verify(tokens[1]!, t0 + 10);
    expect(rotating.size).toBe(2);
    keys = { keys: [devKey.publicJwk, { ...devKey.publicJwk, kid: 'next' }] };
    await rotating.verify(tokens[1]!, t0 + 2_000);
    expect(rotating.size).toBe(1);
  });
});
