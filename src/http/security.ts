// Who may talk to a Valet server. Another web page the developer visits must not drive it:
// - Host: only names the server was meant to be reached by (DNS rebinding points an attacker's
//   name at 127.0.0.1; the Host header still carries the attacker's name). Defaults: localhost,
//   127.0.0.1 and [::1] on any port, the host it was told to bind, and, when bound to every
//   interface, any IP literal (a literal cannot be rebound). More by configuration.
// - Origin (CORS and the WebSocket): `valet dev` lets localhost pages on any port in (a Vite page
//   on 5173), `valet start` only configured origins; the server's own origin always. A browser
//   request from any other origin gets 403 before anything runs, so even a "simple" text/plain
//   POST cannot cause a write. Vite's fix for CVE-2025-24010 is the model.
import { isIP } from 'node:net';

export type ServerMode = 'dev' | 'start';

export interface AccessPolicy {
  mode: ServerMode;
  /** Exact host names, `.example.com` for a domain and its subdomains, or `*` for any host. */
  allowedHosts: string[];
  /** Exact origins (`https://app.example.com`) or `*`. */
  corsOrigins: string[];
  /** The address the server listens on (its own name is always allowed). */
  bindHost: string;
}

const LOCAL_NAMES = new Set(['localhost', '127.0.0.1', '::1']);
const WILDCARD_BINDS = new Set(['0.0.0.0', '::', '']);

/** Splits a Host header into its name (lower case, no brackets, no trailing dot). */
export function hostnameOf(hostHeader: string): string | null {
  const host = hostHeader.trim().toLowerCase();
  if (host === '') return null;
  let name: string;
  if (host.startsWith('[')) {
    const end = host.indexOf(']');
    if (end === -1) return null;
    const rest = host.slice(end + 1);
    if (rest !== '' && !/^:\d{1,5}$/.test(rest)) return null;
    name = host.slice(1, end);
  } else {
    const colon = host.indexOf(':');
    if (colon !== -1 && !/^:\d{1,5}$/.test(host.slice(colon))) return null;
    name = colon === -1 ? host : host.slice(0, colon);
  }
  return name.endsWith('.') ? name.slice(0, -1) : name;
}

function matchesHostRule(name: string, rule: string): boolean {
  const normalized = rule
    .trim()
    .toLowerCase()
    .replace(/^\[|\]$/g, '');
  if (normalized === '*') return true;
  if (normalized.startsWith('.')) return name === normalized.slice(1) || name.endsWith(normalized);
  return name === normalized;
}

export function isHostAllowed(policy: AccessPolicy, hostHeader: string | undefined): boolean {
  if (typeof hostHeader !== 'string') return false;
  const name = hostnameOf(hostHeader);
  if (name === null) return false;
  if (LOCAL_NAMES.has(name)) return true;
  const bind = policy.bindHost.replace(/^\[|\]$/g, '').toLowerCase();
  if (name === bind) return true;
  if (WILDCARD_BINDS.has(bind) && isIP(name) !== 0) return true;
  return policy.allowedHosts.some((rule) => matchesHostRule(name, rule));
}

export function hostRefusal(hostHeader: string | undefined): string {
  return `this server does not answer to the host ${JSON.stringify(hostHeader ?? '')}: add it with --allowed-host or VALET_ALLOWED_HOSTS (comma-separated) if it is yours`;
}

function isLocalOrigin(url: URL): boolean {
  return (
    (url.protocol === 'http:' || url.protocol === 'https:') && LOCAL_NAMES.has(url.hostname.replace(/^\[|\]$/g, ''))
  );
}

/** The origin of the server itself as the request addressed it (for same-origin pages such as the dashboard). */
function isSameOrigin(origin: URL, hostHeader: string | undefined): boolean {
  return typeof hostHeader === 'string' && origin.host === hostHeader.trim().toLowerCase();
}

/**
 * Whether a browser on `origin` may call this server. No Origin header (curl, servers, Node
 * clients) is not a browser page and is allowed; `null` (sandboxed frames, file://) is not.
 */
export function isOriginAllowed(
  policy: AccessPolicy,
  origin: string | undefined,
  hostHeader: string | undefined,
): boolean {
  if (origin === undefined) return true;
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return false;
  }
  if (url.origin === 'null') return false;
  if (isSameOrigin(url, hostHeader)) return true;
  if (policy.corsOrigins.includes('*') || policy.corsOrigins.includes(url.origin)) return true;
  return policy.mode === 'dev' && isLocalOrigin(url);
}

/** Only the server's own pages: for /admin/* and the dashboard, which never answer another origin. */
export function isOwnOrigin(origin: string | undefined, hostHeader: string | undefined): boolean {
  if (origin === undefined) return true;
  try {
    return isSameOrigin(new URL(origin), hostHeader);
  } catch {
    return false;
  }
}

export function originRefusal(origin: string, mode: ServerMode): string {
  const defaults = mode === 'dev' ? 'valet dev allows pages on localhost; ' : '';
  return `requests from the web page at ${origin} are not allowed: ${defaults}add the origin with VALET_CORS_ORIGINS (comma-separated) if it is yours`;
}

/** Reads the policy's configurable parts from the environment and flags. */
export function accessPolicyFrom(
  mode: ServerMode,
  bindHost: string,
  env: NodeJS.ProcessEnv,
  flags: { allowedHosts?: string[]; corsOrigins?: string[] } = {},
): AccessPolicy {
  const list = (value: string | undefined) =>
    (value ?? '')
      .split(',')
      .map((item) => item.trim())
      .filter(Boolean);
  return {
    mode,
    bindHost,
    allowedHosts: [...list(env.VALET_ALLOWED_HOSTS), ...(flags.allowedHosts ?? [])],
    corsOrigins: [...list(env.VALET_CORS_ORIGINS), ...(flags.corsOrigins ?? [])].map((origin) =>
      origin === '*' ? origin : origin.replace(/\/+$/, ''),
    ),
  };
}
