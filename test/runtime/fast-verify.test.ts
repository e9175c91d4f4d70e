// The fast path for bearer tokens is held to jose's answers: for every token below — good ones,
// forged, tampered, expired, oddly encoded, with headers or keys jose treats specially — it either
// steps aside (jose decides) or gives what jose's own verify gives: the same payload, or the same
// error (and for a claim, the same claim).
import { constants, sign as cryptoSign, generateKeyPairSync } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import * as jose from 'jose';
import { describe, expect, it } from 'vitest';
import { verifyPlainToken } from '../../src/runtime/auth/fast-verify.js';
import type { ClaimOptions } from '../../src/runtime/auth/fast-verify.js';
import type { AuthConfig } from '../../src/runtime/auth/verify.js';
import { verifyToken } from '../../src/runtime/auth/verify.js';

const NOW = Date.UTC(2026, 11, 1, 12, 0, 0);
const seconds = NOW / 1000;
const ISSUER = 'https://issuer.example';
const AUDIENCE = 'valet-app';

interface Signer {
  alg: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
}

function signer(alg: string, type: 'ec' | 'rsa' | 'ed25519', detail?: string | number): Signer {
  const { privateKey, publicKey } =
    type === 'ec'
      ? generateKeyPairSync('ec', { namedCurve: detail as string })
      : type === 'rsa'
        ? generateKeyPairSync('rsa', { modulusLength: detail as number })
        : generateKeyPairSync('ed25519');
  return { alg, privateKey, publicKey };
}

const SIGNERS = [
  signer('ES256', 'ec', 'P-256'),
  signer('ES384', 'ec', 'P-384'),
  signer('ES512', 'ec', 'P-521'),
  signer('RS256', 'rsa', 2048),
  signer('PS256', 'rsa', 2048),
  signer('EdDSA', 'ed25519'),
];
const ALL_ALGS = ['ES256', 'ES384', 'ES512', 'RS256', 'PS256', 'EdDSA'];

const claimsOf = (payload: Record<string, unknown>) => ({
  iss: ISSUER,
  aud: AUDIENCE,
  sub: 'user-1',
  iat: seconds - 10,
  exp: seconds + 3600,
  ...payload,
});

const b64 = (value: unknown) =>
  Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

/** Signs with Node's crypto (jose would refuse to sign some of the odd tokens asked about). */
async function sign(s: Signer, payload: Record<string, unknown> = {}, header: Record<string, unknown> = {}) {
  const input = `${b64({ alg: s.alg, kid: s.alg, ...header })}.${b64(claimsOf(payload))}`;
  const hash = s.alg === 'EdDSA' ? null : `sha${s.alg.slice(2)}`;
  const options = s.alg.startsWith('ES')
    ? { key: s.privateKey, dsaEncoding: 'ieee-p1363' as const }
    : s.alg.startsWith('PS')
      ? { key: s.privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: Number(s.alg.slice(2)) / 8 }
      : s.privateKey;
  return `${input}.${cryptoSign(hash, Buffer.from(input), options).toString('base64url')}`;
}

const segments = (token: string) => token.split('.') as [string, string, string];

/** Tokens worth asking about, for one signer: every one is asked of both verifiers. */
async function tokensFor(s: Signer): Promise<[string, string][]> {
  const good = await sign(s);
  const [h, p, sig] = segments(good);
  const flipped = sig[5] === 'A' ? 'B' : 'A';
  return [
    ['good', good],
    ['expired', await sign(s, { exp: seconds - 3600 })],
    ['expired within tolerance', await sign(s, { exp: seconds - 2 })],
    ['not yet valid', await sign(s, { nbf: seconds + 3600 })],
    ['other issuer', await sign(s, { iss: 'https://evil.example' })],
    ['other audience', await sign(s, { aud: 'other' })],
    ['audience list', await sign(s, { aud: ['other', AUDIENCE] })],
    ['no sub', await sign(s, { sub: undefined })],
    ['no exp', await sign(s, { exp: undefined })],
    ['exp a string', await sign(s, { exp: String(seconds + 3600) })],
    ['iat a string', await sign(s, { iat: 'yesterday' })],
    ['unicode claims', await sign(s, { name: 'Zoë ✓ 😀' })],
    ['with typ', await sign(s, {}, { typ: 'JWT' })],
    ['kid a number', await sign(s, {}, { kid: 7 })],
    ['unknown kid', await sign(s, {}, { kid: 'rotated-away' })],
    ['crit header', await sign(s, {}, { crit: ['exp'] })],
    ['jku header', await sign(s, {}, { jku: 'https://evil.example/jwks' })],
    ['tampered payload', `${h}.${b64(claimsOf({ sub: 'admin' }))}.${sig}`],
    ['tampered signature', `${h}.${p}.${sig.slice(0, 5)}${flipped}${sig.slice(6)}`],
    ['signature cut short', `${h}.${p}.${sig.slice(0, -4)}`],
    ['signature one char longer', `${h}.${p}.${sig}A`],
    ['signature with padding', `${h}.${p}.${sig}==`],
    ['signature with a plus', `${h}.${p}.${sig.slice(0, 5)}+${sig.slice(6)}`],
    ['empty signature', `${h}.${p}.`],
    ['alg none', `${b64({ alg: 'none' })}.${p}.`],
    ['alg none, signed', `${b64({ alg: 'none' })}.${p}.${sig}`],
    ['alg HS256', `${b64({ alg: 'HS256' })}.${p}.${sig}`],
    ['alg relabelled', `${b64({ alg: s.alg === 'ES256' ? 'ES384' : 'ES256', kid: s.alg })}.${p}.${sig}`],
    ['header not JSON', `${b64('{alg')}.${p}.${sig}`],
    ['header an array', `${b64([s.alg])}.${p}.${sig}`],
    ['payload not JSON', `${h}.${b64('not json')}.${sig}`],
    ['payload an array', `${h}.${b64([1, 2])}.${sig}`],
    ['two segments', `${h}.${p}`],
    ['four segments', `${good}.${sig}`],
    ['whitespace', ` ${good}`],
  ];
}

type Answer = { payload: unknown } | { error: string; claim?: string };

async function answerOf(work: () => Promise<unknown>): Promise<Answer> {
  try {
    return { payload: await work() };
  } catch (error) {
    return { error: (error as Error).constructor.name, claim: (error as { claim?: string }).claim };
  }
}

describe('the fast path for bearer tokens', async () => {
  const jwks = {
    keys: await Promise.all(
      SIGNERS.map(async (s) => ({ ...(await jose.exportJWK(s.publicKey)), kid: s.alg, alg: s.alg })),
    ),
  };
  const keySet = jose.createLocalJWKSet(jwks as never);
  const claims: ClaimOptions = {
    issuer: ISSUER,
    audience: AUDIENCE,
    clockTolerance: 5,
    requiredClaims: ['exp', 'sub'],
    currentDate: new Date(NOW),
  };
  const config = (key: AuthConfig['key'], algorithms = ALL_ALGS): AuthConfig => ({
    issuer: ISSUER,
    audience: AUDIENCE,
    algorithms,
    key,
    clockToleranceSeconds: 5,
    source: 'test',
  });

  /** Asks both; whether the fast path answered (rather than stepping aside). */
  async function compare(what: string, cfg: AuthConfig, token: string): Promise<boolean> {
    const fast = await answerOf(async () => {
      const payload = await verifyPlainToken(jose, cfg, token, claims);
      if (payload === null) throw new Error('stepped aside');
      return payload;
    });
    if ('error' in fast && fast.error === 'Error') return false;
    const reference = await answerOf(
      async () => (await jose.jwtVerify(token, cfg.key as never, { ...claims, algorithms: cfg.algorithms })).payload,
    );
    expect({ what, answer: fast }).toEqual({ what, answer: reference });
    return true;
  }

  it('answers as jose does, with a key set and with a key object, for every algorithm', async () => {
    const answeredGood: string[] = [];
    for (const s of SIGNERS) {
      for (const [what, token] of await tokensFor(s)) {
        for (const [source, cfg] of [
          ['key set', config(keySet)],
          ['key object', config(s.publicKey)],
          ['narrower allow-list', config(keySet, ['ES256'])],
        ] as const) {
          const answered = await compare(`${s.alg} ${what} (${source})`, cfg, token);
          if (answered && what === 'good' && source !== 'narrower allow-list') answeredGood.push(`${s.alg} ${source}`);
        }
      }
    }
    // The fast path answered every good token itself: it does not step aside for everything.
    expect(answeredGood).toHaveLength(SIGNERS.length * 2);
  });

  it('steps aside for keys jose treats specially: an RSA key under 2048 bits, a shared secret, a key of another kind', async () => {
    const small = signer('RS256', 'rsa', 1024);
    const token = await sign(small);
    expect(await verifyPlainToken(jose, config(small.publicKey), token, claims)).toBeNull();
    const es = SIGNERS[0]!;
    const esToken = await sign(es);
    expect(
      await verifyPlainToken(jose, config(new TextEncoder().encode('a shared secret')), esToken, claims),
    ).toBeNull();
    expect(await verifyPlainToken(jose, config(SIGNERS[3]!.publicKey), esToken, claims)).toBeNull();
    for (const [cfg, t] of [
      [config(small.publicKey), token],
      [config(SIGNERS[3]!.publicKey), esToken],
    ] as const) {
      // jose refuses them, and so does the server.
      await expect(verifyToken(cfg, t, NOW)).rejects.toMatchObject({ code: expect.stringMatching(/^token_/) });
    }
  });

  it('gives the server the same user through either path', async () => {
    const s = SIGNERS[0]!;
    const token = await sign(s, { email: 'a@example.com' });
    const user = await verifyToken(config(keySet), token, NOW);
    expect(user).toMatchObject({
      userId: 'user-1',
      claims: { email: 'a@example.com' },
      expiresAt: (seconds + 3600) * 1000,
    });
    await expect(verifyToken(config(keySet), await sign(s, { iat: seconds + 600 }), NOW)).rejects.toMatchObject({
      code: 'token_not_yet_valid',
    });
  });
});
