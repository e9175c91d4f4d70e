// The common bearer token — a compact JWS with only alg, kid and typ in its header, signed with a
// public key (ES256/384/512, RS*, PS*, EdDSA) — verified with Node's own `crypto.verify` on a key
// object made once per key (on libuv's thread pool, as WebCrypto's verify is), without jose's
// per-call key handling and WebCrypto's job machinery: a third less of the event loop's time per
// distinct token, an eighth less CPU in all. Everything else about the token is still jose's: the
// claims go through jose's own validation (of an unsecured JWT carrying the same payload), and
// anything unusual — another header parameter, an HMAC secret, a key jose would refuse for the
// algorithm — is left to jose's full verify, which answers it (test/runtime/fast-verify.test.ts
// holds the two to the same answers).
import { constants, KeyObject, verify } from 'node:crypto';
import type { JWTPayload } from 'jose';
import type { AuthConfig } from './verify.js';

type Jose = typeof import('jose');

interface Algorithm {
  /** The digest crypto.verify takes (null: EdDSA hashes itself). */
  hash: string | null;
  /** Whether a key object fits the algorithm as jose would require it to. */
  fits(key: KeyObject): boolean;
  options?: { dsaEncoding?: 'ieee-p1363'; padding?: number; saltLength?: number };
  /** The WebCrypto algorithm a CryptoKey must have been imported for (as jose checks). */
  cryptoKey: { name: string; namedCurve?: string; hash?: string };
}

/** SHA-256 as WebCrypto names it, from Node's `sha256`. */
const webHash = (hash: string) => `SHA-${hash.slice(3)}`;

const ec = (curve: string, webCurve: string, hash: string): Algorithm => ({
  hash,
  fits: (key) => key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === curve,
  options: { dsaEncoding: 'ieee-p1363' },
  cryptoKey: { name: 'ECDSA', namedCurve: webCurve },
});
/** jose refuses RSA keys under 2048 bits. */
const rsa = (hash: string, pss: boolean): Algorithm => ({
  hash,
  fits: (key) => key.asymmetricKeyType === 'rsa' && (key.asymmetricKeyDetails?.modulusLength ?? 0) >= 2048,
  options: pss
    ? { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: Number(hash.slice(-3)) / 8 }
    : { padding: constants.RSA_PKCS1_PADDING },
  cryptoKey: { name: pss ? 'RSA-PSS' : 'RSASSA-PKCS1-v1_5', hash: webHash(hash) },
});
const ed25519: Algorithm = {
  hash: null,
  fits: (key) => key.asymmetricKeyType === 'ed25519',
  cryptoKey: { name: 'Ed25519' },
};

const ALGORITHMS: Record<string, Algorithm> = {
  ES256: ec('prime256v1', 'P-256', 'sha256'),
  ES384: ec('secp384r1', 'P-384', 'sha384'),
  ES512: ec('secp521r1', 'P-521', 'sha512'),
  RS256: rsa('sha256', false),
  RS384: rsa('sha384', false),
  RS512: rsa('sha512', false),
  PS256: rsa('sha256', true),
  PS384: rsa('sha384', true),
  PS512: rsa('sha512', true),
  EdDSA: ed25519,
  Ed25519: ed25519,
};

const SEGMENT = /^[A-Za-z0-9_-]+$/;
/** Header parameters the fast path knows; any other (crit, b64, jwk, x5c …) goes to jose. */
const PLAIN_HEADER = new Set(['alg', 'kid', 'typ']);
/** `{"alg":"none"}`: the header of the unsecured JWT whose claims jose validates. */
const UNSECURED_HEADER = 'eyJhbGciOiJub25lIn0';

/** Key objects made from CryptoKeys, once per key (a JWKS hands out the same CryptoKey each time). */
const keyObjects = new WeakMap<object, KeyObject>();

function keyObjectFor(key: unknown, algorithm: Algorithm): KeyObject | null {
  if (key instanceof KeyObject) return key.type === 'public' ? key : null;
  if (!isCryptoKey(key) || key.type !== 'public' || !key.usages.includes('verify')) return null;
  const expected = algorithm.cryptoKey;
  const actual = key.algorithm as { name: string; namedCurve?: string; hash?: { name: string } };
  if (actual.name !== expected.name || actual.namedCurve !== expected.namedCurve || actual.hash?.name !== expected.hash)
    return null;
  let object = keyObjects.get(key);
  if (!object) {
    object = KeyObject.from(key);
    keyObjects.set(key, object);
  }
  return object;
}

function isCryptoKey(key: unknown): key is CryptoKey {
  return typeof CryptoKey !== 'undefined' && key instanceof CryptoKey;
}

function parseHeader(segment: string): Record<string, unknown> | null {
  try {
    const header: unknown = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
    if (header === null || typeof header !== 'object' || Array.isArray(header)) return null;
    return Object.keys(header).every((name) => PLAIN_HEADER.has(name)) ? (header as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

export interface ClaimOptions {
  issuer: string | string[];
  audience: string | undefined;
  clockTolerance: number;
  requiredClaims: string[];
  currentDate: Date;
}

/**
 * The token's verified payload, or null where the fast path does not apply (the caller runs
 * jose's verify). Throws jose's own errors for a bad signature, a key set without the key, and
 * claims that do not hold, as jose's verify would.
 */
export async function verifyPlainToken(
  jose: Jose,
  config: AuthConfig,
  token: string,
  claims: ClaimOptions,
): Promise<JWTPayload | null> {
  const parts = token.split('.');
  // Base64url that jose would refuse (a length no encoding has) is left to jose to refuse.
  if (parts.length !== 3 || !parts.every((part) => SEGMENT.test(part) && part.length % 4 !== 1)) return null;
  const [encodedHeader, payload, signature] = parts as [string, string, string];
  const header = parseHeader(encodedHeader);
  const alg = header?.alg;
  if (typeof alg !== 'string' || !config.algorithms.includes(alg) || !Object.hasOwn(ALGORITHMS, alg)) return null;
  if (header!.kid !== undefined && typeof header!.kid !== 'string') return null;
  const algorithm = ALGORITHMS[alg]!;
  // As jose asks a key set: with the protected header and the token's parts.
  const key =
    typeof config.key === 'function'
      ? await (config.key as (header: unknown, token: unknown) => Promise<unknown>)(header, {
          payload,
          signature,
          protected: encodedHeader,
        })
      : config.key;
  const object = keyObjectFor(key, algorithm);
  if (object === null || !algorithm.fits(object)) return null;
  // With a callback, crypto.verify runs on libuv's thread pool: the signature check (most of a
  // token's cost) leaves the event loop free for other requests.
  const verified = await new Promise<boolean>((resolve, reject) => {
    try {
      verify(
        algorithm.hash,
        Buffer.from(`${encodedHeader}.${payload}`, 'ascii'),
        algorithm.options ? { key: object, ...algorithm.options } : object,
        Buffer.from(signature, 'base64url'),
        (error, result) => (error ? reject(error) : resolve(result)),
      );
    } catch (error) {
      reject(error);
    }
  }).catch((cause: unknown) => {
    throw new jose.errors.JWSSignatureVerificationFailed(undefined, { cause });
  });
  if (!verified) throw new jose.errors.JWSSignatureVerificationFailed();
  return jose.UnsecuredJWT.decode(`${UNSECURED_HEADER}.${payload}.`, claims).payload;
}
