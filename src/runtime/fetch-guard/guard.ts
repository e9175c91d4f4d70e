// The fetch that handlers see. Outside any invocation it is Node's own. In queries, mutations and
// transactions it throws. In actions and HTTP routes it refuses private and internal destinations
// before any connection: literal addresses up front, names at connect time for every address they
// resolve to (and the socket then connects to exactly those checked addresses), every redirect hop.
import type { CallEvent, CallRecord } from '../calls/record.js';
import { addEvent } from '../calls/record.js';
import { systemClock } from '../clock.js';
import { allowedAt, effectivePort } from './allow-list.js';
import type { FetchAllowEntry } from './allow-list.js';
import { lookup as dnsLookup } from 'node:dns/promises';
import type { LookupAddress } from 'node:dns';
import type { Agent } from 'undici';
import { blockedAddressRule, blockedNameRule, describeRule } from './ip-rules.js';
import type { BlockRule } from './ip-rules.js';
import { currentScope } from '../scope.js';
import { EngineError } from '../errors.js';

export type Resolver = (hostname: string) => Promise<string[]>;

export interface FetchPolicy {
  allowLoopback: boolean;
  /** Private destinations allowed anyway (VALET_FETCH_ALLOW). */
  allow?: readonly FetchAllowEntry[];
  resolve: Resolver;
  /**
   * Answers each hop instead of the network (valet/testing): it sees only requests that passed
   * every check, names resolved through `resolve` and checked like real connections.
   */
  respond?: (request: Request) => Promise<Response>;
}

/**
 * A URL as errors name it: scheme and host only. Paths and query strings carry keys and tokens
 * (`?api_key=`, `/bot<token>/`), and these messages reach callers, logs and the invocation log.
 */
export function describeDestination(url: URL | string): string {
  if (typeof url === 'string') return url;
  return `${url.protocol}//${url.host}`;
}

/** The refusal an action can catch: `error.code === 'fetch_blocked'`, `error.rule` names why, `error.host` where. */
export class FetchBlockedError extends EngineError {
  declare readonly code: 'fetch_blocked';
  readonly host: string;
  constructor(
    readonly rule: BlockRule,
    destination: URL | string,
    detail: string,
  ) {
    const where = describeDestination(destination);
    super('fetch_blocked', `fetch to ${where} refused (${rule}): ${describeRule(rule)}${detail}`);
    this.name = 'FetchBlockedError';
    this.host = typeof destination === 'string' ? destination : destination.hostname;
  }
}

export class FetchNotAllowedError extends EngineError {
  declare readonly code: 'fetch_not_allowed';
  constructor(message: string) {
    super('fetch_not_allowed', message);
    this.name = 'FetchNotAllowedError';
  }
}

export const systemResolver: Resolver = async (hostname) =>
  (await dnsLookup(hostname, { all: true, verbatim: true })).map((a) => a.address);

const MAX_REDIRECTS = 20;

/** Refuses a URL whose scheme, name or literal address the policy blocks (names are checked again at connect time). */
export function checkUrl(url: URL, policy: FetchPolicy): void {
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new FetchBlockedError('scheme', `${url.protocol}`, '');
  const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (policy.allow?.length && allowedAt(policy.allow, effectivePort(url)).has(host)) return;
  const nameRule = blockedNameRule(host, policy.allowLoopback);
  if (nameRule) throw new FetchBlockedError(nameRule, url, '');
  if (/^[\d.]+$/.test(host) || host.includes(':')) {
    const rule = blockedAddressRule(host, policy.allowLoopback);
    if (rule) throw new FetchBlockedError(rule, url, '');
  }
}

/** The rule an address breaks on a connection to `hostname` on `port`, unless the allow-list lets it through. */
function refusedAddress(policy: FetchPolicy, hostname: string, address: string, port: number): BlockRule | null {
  const rule = blockedAddressRule(address, policy.allowLoopback);
  if (!rule || !policy.allow?.length) return rule;
  const allowed = allowedAt(policy.allow, port);
  return allowed.has(hostname.toLowerCase()) || allowed.has(address.toLowerCase()) ? null : rule;
}

/** One agent per policy, and per port when an allow-list makes the port matter. */
const agents = new WeakMap<FetchPolicy, Map<number, Agent>>();

/** undici, loaded on the first fetch: a server whose functions never call out does not pay for it. */
let undiciLoaded: Promise<typeof import('undici')> | null = null;
export const loadUndici = () => (undiciLoaded ??= import('undici'));

/** An undici agent whose sockets resolve names through the policy and refuse any blocked address. */
export async function agentFor(policy: FetchPolicy, connectPort = 0): Promise<Agent> {
  const port = policy.allow?.length ? connectPort : 0;
  let agent = agents.get(policy)?.get(port);
  if (agent) return agent;
  const { Agent } = await loadUndici();
  agent = agents.get(policy)?.get(port);
  if (agent) return agent;
  const lookup = (
    hostname: string,
    options: { all?: boolean },
    callback: (error: Error | null, address: string | LookupAddress[], family?: number) => void,
  ) => {
    policy.resolve(hostname).then(
      (addresses) => {
        if (addresses.length === 0)
          return callback(Object.assign(new Error(`${hostname} did not resolve`), { code: 'ENOTFOUND' }), '');
        for (const address of addresses) {
          const rule = refusedAddress(policy, hostname, address, port);
          if (rule) return callback(new FetchBlockedError(rule, hostname, ` (${hostname} resolves to ${address})`), '');
        }
        const entries = addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
        if (options?.all) callback(null, entries);
        else callback(null, entries[0]!.address, entries[0]!.family);
      },
      (error: Error) => callback(error, ''),
    );
  };
  agent = new Agent({ connect: { lookup: lookup as never } });
  let byPort = agents.get(policy);
  if (!byPort) agents.set(policy, (byPort = new Map()));
  byPort.set(port, agent);
  return agent;
}

export function unwrapBlocked(error: unknown): unknown {
  for (
    let current = error as { cause?: unknown } | undefined;
    current;
    current = current.cause as { cause?: unknown } | undefined
  ) {
    if (current instanceof FetchBlockedError) return current;
  }
  return error;
}

/** Without a real connection (a test's `respond`), a name's addresses are checked here instead of at connect time. */
async function checkResolvedName(url: URL, policy: FetchPolicy): Promise<void> {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (/^[\d.]+$/.test(host) || host.includes(':')) return;
  for (const address of await policy.resolve(host)) {
    const rule = refusedAddress(policy, host, address, effectivePort(url));
    if (rule) throw new FetchBlockedError(rule, url, ` (${host} resolves to ${address})`);
  }
}

/** fetch for actions: checks the URL and each redirect hop, connects only to checked addresses. */
export async function guardedFetch(
  input: string | URL | Request,
  init: RequestInit = {},
  policy: FetchPolicy,
): Promise<Response> {
  const request = input instanceof Request ? input : null;
  let url = new URL(request ? request.url : String(input));
  let method = (init.method ?? request?.method ?? 'GET').toUpperCase();
  let body = init.body ?? request?.body ?? null;
  const redirectMode = init.redirect ?? request?.redirect ?? 'follow';
  const headers = new Headers(init.headers ?? request?.headers);
  for (let hop = 0; ; hop++) {
    checkUrl(url, policy);
    let response: Response;
    if (policy.respond) {
      await checkResolvedName(url, policy);
      const streamed = body instanceof ReadableStream ? { duplex: 'half' } : {};
      response = await policy.respond(
        new Request(url, {
          ...(init as object),
          ...streamed,
          method,
          body: body as never,
          headers,
          redirect: 'manual',
        } as RequestInit),
      );
    } else {
      try {
        const streamed = body instanceof ReadableStream ? { duplex: 'half' } : {};
        const [{ fetch: undiciFetch }, dispatcher] = await Promise.all([
          loadUndici(),
          agentFor(policy, effectivePort(url)),
        ]);
        response = (await undiciFetch(url, {
          ...(init as object),
          ...streamed,
          method,
          body: body as never,
          headers,
          redirect: 'manual',
          dispatcher,
        } as never)) as unknown as Response;
      } catch (error) {
        throw unwrapBlocked(error);
      }
    }
    const location = response.headers.get('location');
    if (redirectMode === 'manual' || response.status < 300 || response.status > 399 || !location) return response;
    if (redirectMode === 'error')
      throw new TypeError(
        `fetch to ${describeDestination(url)}: redirected (to ${describeDestination(new URL(location, url))}) and redirect is "error"`,
      );
    if (hop >= MAX_REDIRECTS)
      throw new TypeError(`fetch to ${describeDestination(url)}: more than ${MAX_REDIRECTS} redirects`);
    const next = new URL(location, url);
    if (response.status === 303 || ((response.status === 301 || response.status === 302) && method === 'POST')) {
      method = method === 'HEAD' ? 'HEAD' : 'GET';
      body = null;
      headers.delete('content-type');
      headers.delete('content-length');
    } else if (
      body !== null &&
      typeof body !== 'string' &&
      !(body instanceof URLSearchParams) &&
      !(body instanceof ArrayBuffer) &&
      !ArrayBuffer.isView(body)
    ) {
      throw new TypeError(
        `fetch to ${describeDestination(url)}: cannot repeat a streamed body on a ${response.status} redirect`,
      );
    }
    // Credentials do not travel to another origin.
    if (next.origin !== url.origin) {
      headers.delete('authorization');
      headers.delete('cookie');
    }
    await response.body?.cancel();
    url = next;
  }
}

let installed = false;

/** Replaces globalThis.fetch once per process; what it does depends on the calling invocation. */
export function installFetchGuard(): void {
  if (installed) return;
  installed = true;
  const original = globalThis.fetch.bind(globalThis);
  globalThis.fetch = function valetFetch(input: string | URL | Request, init?: RequestInit): Promise<Response> {
    const scope = currentScope();
    if (!scope) return original(input, init);
    if (scope.kind === 'query' || scope.kind === 'mutation') {
      return Promise.reject(
        new FetchNotAllowedError(
          `fetch is not available in ${scope.kind} ${scope.path}: ${scope.kind === 'query' ? 'queries' : 'mutations'} must be deterministic. Call it from an action (a mutation can schedule one).`,
        ),
      );
    }
    if (scope.inTransaction) {
      return Promise.reject(
        new FetchNotAllowedError(
          `fetch inside ctx.db.transaction in ${scope.path}: call fetch first, then open the transaction.`,
        ),
      );
    }
    const call = scope.call;
    if (!call) return guardedFetch(input, init, scope.fetchPolicy);
    return recordedFetch(call, () => guardedFetch(input, init, scope.fetchPolicy), input, init);
  } as typeof fetch;
}

/** `GET https://host/path`: what a call's record keeps of a fetch (never the query string: it may hold a key). */
function fetchDetail(input: string | URL | Request, init?: RequestInit): string {
  const method = (init?.method ?? (input instanceof Request ? input.method : 'GET')).toUpperCase();
  const text = input instanceof Request ? input.url : String(input);
  try {
    const url = new URL(text);
    return `${method} ${url.origin}${url.pathname}`;
  } catch {
    return `${method} (invalid URL)`;
  }
}

async function recordedFetch(
  call: CallRecord,
  send: () => Promise<Response>,
  input: string | URL | Request,
  init?: RequestInit,
): Promise<Response> {
  const at = systemClock.now();
  const started = performance.now();
  const event: CallEvent = { type: 'fetch', at, detail: fetchDetail(input, init), status: 0 };
  addEvent(call, event);
  try {
    const response = await send();
    event.status = response.status;
    return response;
  } finally {
    event.durationMs = Math.round((performance.now() - started) * 1000) / 1000;
  }
}
