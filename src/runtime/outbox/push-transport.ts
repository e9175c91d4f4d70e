// Where the outbox worker sends push messages: the dev capture (a line per message; the row is the
// stored copy), or the browsers' push services (web-push-request.ts signs the VAPID JWT and
// encrypts the payload: RFC 8292, RFC 8291) over the fetch guard's connections, since an
// endpoint comes from a browser and could name any address. The push service's answer decides
// what happens next; an answer that never comes after the request was sent is "maybe delivered".
import { systemClock } from '../clock.js';
import { buildPushRequest } from './web-push-request.js';
import type { PushRequest } from './web-push-request.js';
import { agentFor, checkUrl, FetchBlockedError, loadUndici, unwrapBlocked } from '../fetch-guard/guard.js';
import type { FetchPolicy } from '../fetch-guard/guard.js';
import { effectivePort } from '../fetch-guard/allow-list.js';

export interface OutgoingPush {
  id: string;
  subscription: { endpoint: string; keys: { p256dh: string; auth: string } };
  /** The JSON the service worker receives: the notification, its outbox id and delivery key. */
  payload: string;
  ttl: number;
  urgency: string;
  topic: string | null;
  deliveryKey: string | null;
}

/** The JSON a service worker receives: the notification with its outbox id and delivery key (one spelling for the size check and the send). */
export function pushPayloadText(notification: Record<string, unknown>, id: string, deliveryKey: string | null): string {
  return JSON.stringify({ ...notification, id, deliveryKey });
}

export type PushOutcome =
  /** 201 (or any 2xx): accepted by the push service. */
  | { kind: 'delivered'; detail: string }
  /** 404/410: the subscription no longer exists. */
  | { kind: 'gone'; detail: string }
  /** 413 and other 4xx, or a refused endpoint: sending again cannot help. */
  | { kind: 'rejected'; detail: string }
  /** 429: try again after Retry-After, or after the usual backoff. `retryAfter`: the service's Retry-After header, read by the worker against its own clock. */
  | { kind: 'throttled'; retryAfter: string | null; detail: string }
  /** 5xx, or no connection: retried with backoff. */
  | { kind: 'retry'; detail: string }
  /** Sent, then no answer (or the connection broke): it may have arrived; not resent. */
  | { kind: 'maybe'; detail: string };

export interface PushTransport {
  readonly name: string;
  send(message: OutgoingPush): Promise<PushOutcome>;
  close(): Promise<void>;
}

export interface VapidKeys {
  publicKey: string;
  privateKey: string;
  /** mailto: or https: — how a push service reaches the sender. */
  subject: string;
}

export function capturePushTransport(announce: (message: OutgoingPush) => void): PushTransport {
  return {
    name: 'capture',
    async send(message) {
      announce(message);
      return { kind: 'delivered', detail: 'captured (not sent)' };
    },
    async close() {},
  };
}

const firstHeader = (value: string | string[] | undefined) => (Array.isArray(value) ? value[0] : value) ?? null;

/** Retry-After: seconds, or an HTTP date (measured from `now`). */
export function retryAfterMs(text: string | null, now: number): number | null {
  if (!text) return null;
  if (/^\d+$/.test(text.trim())) return Number(text.trim()) * 1000;
  const at = Date.parse(text);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}

const CONNECT_FAILURES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_CONNECT_TIMEOUT',
]);

export interface WebPushOptions {
  vapid: VapidKeys;
  /** Which endpoints may be reached (loopback only in development and tests). */
  policy: FetchPolicy;
  /** How long the push service may take to answer once the request was sent. */
  sendTimeoutMs?: number;
}

export function webPushTransport(options: WebPushOptions): PushTransport {
  const timeout = options.sendTimeoutMs ?? 20_000;
  return {
    name: 'web-push',
    async send(message) {
      let url: URL;
      try {
        url = new URL(message.subscription.endpoint);
        checkUrl(url, options.policy);
      } catch (error) {
        return { kind: 'rejected', detail: (error as Error).message };
      }
      const [{ request, errors: undiciErrors }, dispatcher] = await Promise.all([
        loadUndici(),
        agentFor(options.policy, effectivePort(url)),
      ]);
      let details: PushRequest;
      try {
        // The VAPID token's expiry is read by the push service against real time.
        details = await buildPushRequest({ ...message, vapid: options.vapid }, Math.floor(systemClock.now() / 1000));
      } catch (error) {
        // A key that cannot encrypt (stored before keys were checked) stays unusable: no retry helps.
        return {
          kind: 'rejected',
          detail: `the message cannot be encrypted for this subscription: ${(error as Error).message}`,
        };
      }
      let sent = false;
      try {
        const response = await request(details.endpoint, {
          method: 'POST',
          headers: details.headers,
          body: details.body,
          dispatcher,
          headersTimeout: timeout,
          bodyTimeout: timeout,
        });
        sent = true;
        const text = (await response.body.text()).slice(0, 300);
        const status = response.statusCode;
        const detail = `HTTP ${status}${text ? `: ${text}` : ''}`;
        if (status >= 200 && status < 300) return { kind: 'delivered', detail };
        if (status === 404 || status === 410) return { kind: 'gone', detail };
        if (status === 429)
          return { kind: 'throttled', retryAfter: firstHeader(response.headers['retry-after']), detail };
        if (status >= 500) return { kind: 'retry', detail };
        return { kind: 'rejected', detail };
      } catch (raw) {
        const error = unwrapBlocked(raw) as Error & { code?: string; cause?: { code?: string } };
        if (error instanceof FetchBlockedError) return { kind: 'rejected', detail: error.message };
        const code = error.code ?? error.cause?.code ?? '';
        const detail = `${error.message}${code ? ` (${code})` : ''}`;
        if (CONNECT_FAILURES.has(code)) return { kind: 'retry', detail };
        if (error instanceof undiciErrors.HeadersTimeoutError || error instanceof undiciErrors.BodyTimeoutError)
          return { kind: 'maybe', detail: `no answer within ${timeout} ms after the request was sent` };
        // The connection broke once the request may have been written: it may have arrived.
        return sent || code === 'UND_ERR_SOCKET' ? { kind: 'maybe', detail } : { kind: 'retry', detail };
      }
    },
    async close() {},
  };
}
