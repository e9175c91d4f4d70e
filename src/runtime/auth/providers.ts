// valet/auth.config.ts, checked when the app loads (valet dev, valet start, valet check): each
// provider's shape, names the offending path, so a typo is an error at its file rather than every
// signed-in call failing later.
import { UserError } from '../../errors/user-error.js';
import type { AuthProvider } from '../../server/auth-config.js';

export const AUTH_CONFIG_FILE = 'valet/auth.config.ts';

const ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];

/** One trusted issuer, ready for the verifier. */
export interface ProviderSpec {
  issuer: string;
  /** The `aud` a token must carry, or null for any. */
  audience: string | null;
  algorithms: string[];
  /** Where its keys come from: a discovery document, a JWKS URL, or the JWKS itself (a data: URI). */
  keys: { discovery: string } | { jwksUrl: string } | { jwks: { keys: object[] } };
  /** What the ready line and messages call it. */
  label: string;
}

const fail = (message: string) =>
  new UserError(`${AUTH_CONFIG_FILE}: ${message}`, { location: { file: AUTH_CONFIG_FILE } });

/**
 * A provider setting that is missing, most likely an environment variable unset where this runs
 * (`valet check` in CI without the app's secrets): `valet check` says so as a warning.
 */
export class AuthConfigUnsetError extends UserError {
  constructor(message: string) {
    super(`${AUTH_CONFIG_FILE}: ${message}`, { location: { file: AUTH_CONFIG_FILE } });
    this.name = 'AuthConfigUnsetError';
  }
}

const isLoopback = (host: string) => host === 'localhost' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host);

/** An https URL (http only on loopback, for a provider run beside the app in development). */
function webUrl(value: unknown, path: string): URL {
  if (value === undefined || value === '')
    throw new AuthConfigUnsetError(`${path} is not set (is an environment variable it reads unset?)`);
  if (typeof value !== 'string' || value.trim() === '')
    throw fail(`${path} must be a URL (got ${JSON.stringify(value)})`);
  let url: URL;
  try {
    url = new URL(value.trim());
  } catch {
    throw fail(`${path} is not a URL: ${JSON.stringify(value)}`);
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopback(url.hostname)))
    throw fail(`${path} must be an https:// URL (http:// only on localhost), got ${url.protocol}//${url.host}`);
  if (url.username || url.password) throw fail(`${path} must not carry a user name or password`);
  return url;
}

function text(value: unknown, path: string): string {
  if (value === undefined || value === '')
    throw new AuthConfigUnsetError(`${path} is not set (is an environment variable it reads unset?)`);
  if (typeof value !== 'string' || value.trim() === '')
    throw fail(`${path} must be a non-empty string (got ${JSON.stringify(value)})`);
  return value.trim();
}

/** A JWKS given inline as a data: URI (Convex allows it), read now. */
function inlineJwks(uri: string, path: string): { keys: object[] } {
  const comma = uri.indexOf(',');
  const meta = uri.slice(5, comma);
  let body: unknown;
  try {
    const data = uri.slice(comma + 1);
    body = JSON.parse(
      meta.endsWith(';base64') ? Buffer.from(data, 'base64').toString('utf8') : decodeURIComponent(data),
    );
  } catch {
    throw fail(`${path} is a data: URI that does not hold JSON`);
  }
  const keys = (body as { keys?: unknown })?.keys;
  if (comma === -1 || !Array.isArray(keys) || keys.length === 0 || !keys.every((k) => k && typeof k === 'object'))
    throw fail(`${path} is a data: URI without a JWKS ({ "keys": [ ... ] })`);
  return { keys };
}

/** The issuer as tokens carry it, with the trailing slash a discovery URL would not double. */
const withoutTrailingSlash = (url: string) => url.replace(/\/+$/, '');

function parseProvider(value: unknown, path: string): ProviderSpec {
  if (!value || typeof value !== 'object') throw fail(`${path} must be an object`);
  const provider = value as Record<string, unknown>;
  if (provider.type === 'customJwt') {
    const issuer = text(provider.issuer, `${path}.issuer`);
    const algorithm = provider.algorithm;
    if (typeof algorithm !== 'string' || !ALGORITHMS.includes(algorithm))
      throw fail(`${path}.algorithm must be one of ${ALGORITHMS.join(', ')} (got ${JSON.stringify(algorithm)})`);
    const jwks = text(provider.jwks, `${path}.jwks`);
    const keys = jwks.startsWith('data:')
      ? { jwks: inlineJwks(jwks, `${path}.jwks`) }
      : { jwksUrl: webUrl(jwks, `${path}.jwks`).href };
    const audience =
      provider.applicationID === undefined ? null : text(provider.applicationID, `${path}.applicationID`);
    return { issuer, audience, algorithms: [algorithm], keys, label: `${issuer} (custom JWT)` };
  }
  if (provider.type !== undefined)
    throw fail(
      `${path}.type must be "customJwt" or absent (an OpenID Connect provider), got ${JSON.stringify(provider.type)}`,
    );
  if (provider.domain === undefined && provider.issuer !== undefined)
    throw fail(
      `${path} names an issuer but no domain: an OpenID Connect provider is { domain, applicationID }; a JWKS without discovery is { type: "customJwt", issuer, jwks, algorithm }`,
    );
  const domain = webUrl(provider.domain, `${path}.domain`);
  const issuer = withoutTrailingSlash(domain.href);
  return {
    issuer,
    audience: text(provider.applicationID, `${path}.applicationID`),
    // Discovery names the provider's keys; these are the asymmetric algorithms OIDC providers sign with.
    algorithms: ALGORITHMS,
    keys: { discovery: `${issuer}/.well-known/openid-configuration` },
    label: issuer,
  };
}

/** The providers of valet/auth.config.ts's default export (null when the app has no such file). */
export function parseAuthConfig(exported: unknown): ProviderSpec[] | null {
  if (exported === undefined) return null;
  const providers = (exported as { providers?: unknown } | null)?.providers;
  if (!Array.isArray(providers))
    throw fail(
      'must `export default { providers: [ ... ] }` (each { domain, applicationID } or { type: "customJwt", issuer, jwks, algorithm })',
    );
  const specs = providers.map((provider, i) => parseProvider(provider, `providers[${i}]`));
  const seen = new Map<string, number>();
  specs.forEach((spec, i) => {
    const key = `${spec.issuer}\n${spec.audience}`;
    if (seen.has(key))
      throw fail(`providers[${i}] repeats providers[${seen.get(key)}] (the same issuer and applicationID)`);
    seen.set(key, i);
  });
  return specs;
}

export type { AuthProvider };
