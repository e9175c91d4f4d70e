// ctx.push: browsers' push subscriptions, and push messages as outbox rows written through the
// caller's write executor — from a mutation (or an action's transaction) they exist only if it
// commits, exactly like ctx.email. Delivery is the outbox worker's (push-transport.ts).
import { currentCause, noteCallEvent } from '../calls/current.js';
import { createECDH } from 'node:crypto';
import type { Invoker, PushMessage, PushSubscriptionJson } from '../../server/ctx.js';
import { findNonJson } from '../../storage/documents.js';
import type { DocumentStore } from '../../storage/documents.js';
import { newId } from '../../storage/ids.js';
import type { WriteExecutor } from '../database-api.js';
import { EngineError } from '../errors.js';
import { pushPayloadText } from './push-transport.js';

/** RFC 8291 leaves 3993 bytes of plaintext in one 4096-byte record; our JSON must fit. */
export const MAX_PUSH_PAYLOAD_BYTES = 3993;
const MAX_TTL_SECONDS = 28 * 24 * 3600;
const URGENCIES = new Set(['very-low', 'low', 'normal', 'high']);

function invalid(message: string): EngineError {
  return new EngineError('invalid_push', `ctx.push: ${message}`);
}

const ID_PLACEHOLDER = newId();

/** Whether 65 bytes are an uncompressed point on P-256: what the message's encryption needs. */
function isP256Point(key: Buffer): boolean {
  try {
    p256Probe().computeSecret(key);
    return true;
  } catch {
    return false;
  }
}

/** A key pair of our own: the shared secret is thrown away, only whether one exists matters. */
let probe: ReturnType<typeof createECDH> | null = null;
function p256Probe(): ReturnType<typeof createECDH> {
  if (!probe) {
    probe = createECDH('prime256v1');
    probe.generateKeys();
  }
  return probe;
}

function decodedLength(value: unknown): number {
  if (typeof value !== 'string' || !/^[A-Za-z0-9_-]+={0,2}$/.test(value)) return -1;
  return Buffer.from(value, 'base64url').length;
}

export interface PushPolicy {
  /** Endpoints on http:// (a local push service in development and tests); https:// only otherwise. */
  allowInsecureEndpoints: boolean;
}

/** A browser's PushSubscription, checked: an https endpoint, a P-256 public key and a 16-byte secret. */
export function validateSubscription(
  subscription: PushSubscriptionJson,
  policy: PushPolicy,
  where = 'subscription',
): PushSubscriptionJson {
  if (subscription === null || typeof subscription !== 'object')
    throw invalid(`${where}: pass the browser's subscription.toJSON() ({ endpoint, keys: { p256dh, auth } })`);
  let url: URL;
  try {
    url = new URL(subscription.endpoint);
  } catch {
    throw invalid(`${where}.endpoint: ${JSON.stringify(subscription.endpoint)} is not a URL`);
  }
  if (url.protocol !== 'https:' && !(policy.allowInsecureEndpoints && url.protocol === 'http:'))
    throw invalid(`${where}.endpoint: push services are https:// (got ${url.protocol})`);
  if (subscription.endpoint.length > 2048) throw invalid(`${where}.endpoint: longer than 2048 characters`);
  const key = subscription.keys?.p256dh;
  if (
    decodedLength(key) !== 65 ||
    Buffer.from(key, 'base64url')[0] !== 4 ||
    !isP256Point(Buffer.from(key, 'base64url'))
  ) {
    throw invalid(`${where}.keys.p256dh: expected a P-256 public key (65 bytes, base64url, a point on the curve)`);
  }
  if (decodedLength(subscription.keys?.auth) !== 16)
    throw invalid(`${where}.keys.auth: expected a 16-byte secret (base64url)`);
  return { endpoint: subscription.endpoint, keys: { p256dh: subscription.keys.p256dh, auth: subscription.keys.auth } };
}

interface ValidMessage {
  target: { userId: string } | { subscription: PushSubscriptionJson } | { endpoint: string };
  payload: Record<string, unknown>;
  title: string;
  ttl: number;
  urgency: string;
  topic: string | null;
  deliveryKey: string | null;
}

export function validatePushMessage(message: PushMessage, policy: PushPolicy): ValidMessage {
  if (message === null || typeof message !== 'object') throw invalid('pass { userId | subscription, notification }');
  const hasUser = message.userId !== undefined;
  const hasSubscription = message.subscription !== undefined;
  if (hasUser === hasSubscription)
    throw invalid('give exactly one of userId (every subscription of that user) or subscription');
  let target: ValidMessage['target'];
  if (hasUser) {
    if (typeof message.userId !== 'string' || message.userId === '') throw invalid('userId: a non-empty string');
    target = { userId: message.userId };
  } else if (typeof message.subscription === 'string') target = { endpoint: message.subscription };
  else target = { subscription: validateSubscription(message.subscription as PushSubscriptionJson, policy) };
  const notification = message.notification;
  if (notification === null || typeof notification !== 'object')
    throw invalid('notification: { title, body?, icon?, url?, data? }');
  if (typeof notification.title !== 'string' || notification.title.trim() === '')
    throw invalid('notification.title: a non-empty string');
  for (const field of ['body', 'icon', 'url'] as const) {
    if (notification[field] !== undefined && typeof notification[field] !== 'string')
      throw invalid(`notification.${field}: a string`);
  }
  const problem = findNonJson(notification.data, 'notification.data', { text: true });
  if (problem) throw invalid(problem.message);
  const ttl = message.ttl ?? 86_400;
  if (!Number.isInteger(ttl) || ttl < 0 || ttl > MAX_TTL_SECONDS)
    throw invalid(`ttl: whole seconds from 0 to ${MAX_TTL_SECONDS}`);
  const urgency = message.urgency ?? 'normal';
  if (!URGENCIES.has(urgency)) throw invalid(`urgency: one of ${[...URGENCIES].join(', ')}`);
  const topic = message.topic ?? null;
  if (topic !== null && (typeof topic !== 'string' || !/^[A-Za-z0-9_-]{1,32}$/.test(topic)))
    throw invalid('topic: 1 to 32 of A-Z a-z 0-9 - _');
  const deliveryKey = message.deliveryKey ?? null;
  if (deliveryKey !== null && (typeof deliveryKey !== 'string' || deliveryKey.length === 0 || deliveryKey.length > 200))
    throw invalid('deliveryKey: a string of 1 to 200 characters');
  const payload = {
    title: notification.title,
    body: notification.body,
    icon: notification.icon,
    url: notification.url,
    data: notification.data,
  };
  // The bytes the worker will encrypt, exactly: the notification with an id (always 26 characters) and the delivery key.
  const size = Buffer.byteLength(
    pushPayloadText(JSON.parse(JSON.stringify(payload)) as Record<string, unknown>, ID_PLACEHOLDER, deliveryKey),
  );
  if (size > MAX_PUSH_PAYLOAD_BYTES)
    throw invalid(
      `the notification is ${size} bytes as JSON; a push carries at most ${MAX_PUSH_PAYLOAD_BYTES} (send an id in data and fetch the rest)`,
    );
  return { target, payload, title: notification.title, ttl, urgency, topic, deliveryKey };
}

/** Inserts or updates by endpoint; returns the subscription's id. */
async function storeSubscription(
  store: DocumentStore,
  subscription: PushSubscriptionJson,
  userId: string | null,
  now: number,
): Promise<string> {
  const row = await store.sql.get<{ id: string }>(
    `INSERT INTO _valet_push_subscriptions (id, endpoint, p256dh, auth, user_id, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (endpoint) DO UPDATE SET p256dh = excluded.p256dh, auth = excluded.auth, user_id = COALESCE(excluded.user_id, _valet_push_subscriptions.user_id),
       updated_at = excluded.updated_at, invalid_at = NULL, invalid_reason = NULL
     RETURNING id`,
    [newId(), subscription.endpoint, subscription.keys.p256dh, subscription.keys.auth, userId, now, now],
  );
  return row!.id;
}

async function targetSubscriptions(
  store: DocumentStore,
  target: ValidMessage['target'],
  now: number,
): Promise<string[]> {
  if ('userId' in target) {
    const rows = await store.sql.all<{ id: string }>(
      'SELECT id FROM _valet_push_subscriptions WHERE user_id = ? AND invalid_at IS NULL ORDER BY created_at, id',
      [target.userId],
    );
    return rows.map((row) => row.id);
  }
  if ('endpoint' in target) {
    const row = await store.sql.get<{ id: string }>('SELECT id FROM _valet_push_subscriptions WHERE endpoint = ?', [
      target.endpoint,
    ]);
    if (!row)
      throw invalid(
        `subscription: no stored subscription has the endpoint ${target.endpoint} (store it with ctx.push.subscribe, or pass the whole subscription)`,
      );
    return [row.id];
  }
  return [await storeSubscription(store, target.subscription, null, now)];
}

async function insertPushRows(
  store: DocumentStore,
  message: ValidMessage,
  now: number,
  source: string,
): Promise<string[]> {
  const ids: string[] = [];
  for (const subscriptionId of await targetSubscriptions(store, message.target, now)) {
    const id = newId();
    const deliveryKey = message.deliveryKey === null ? null : `${message.deliveryKey}:${subscriptionId}`;
    const payload = JSON.stringify({
      notification: message.payload,
      ttl: message.ttl,
      urgency: message.urgency,
      topic: message.topic,
    });
    const { changes } = await store.sql.run(
      `INSERT INTO _valet_outbox (id, channel, delivery_key, recipients, subject, payload, subscription_id, status, attempts, next_attempt_at, created_at, source, caused_by)
       VALUES (?, 'push', ?, '[]', ?, ?, ?, 'queued', 0, ?, ?, ?, ?) ON CONFLICT (delivery_key) DO NOTHING`,
      [id, deliveryKey, message.title, payload, subscriptionId, now, now, source, currentCause()],
    );
    noteCallEvent({ type: 'push', at: now, detail: message.title, id: changes === 1 ? id : undefined });
    if (changes === 1) ids.push(id);
    else
      ids.push(
        (await store.sql.get<{ id: string }>('SELECT id FROM _valet_outbox WHERE delivery_key = ?', [deliveryKey]))!.id,
      );
  }
  return ids;
}

export function pushApi(
  write: WriteExecutor,
  invoker: Invoker,
  now: () => number,
  source: string,
  policy: PushPolicy,
  afterEnqueue: () => void = () => undefined,
) {
  const attempt = <T>(run: () => Promise<T>): Promise<T> => {
    try {
      return run();
    } catch (error) {
      return Promise.reject(error);
    }
  };
  return {
    subscribe: (subscription: PushSubscriptionJson, options: { userId?: string } = {}) =>
      attempt(() => {
        const valid = validateSubscription(subscription, policy);
        const userId = options?.userId ?? (invoker.type === 'user' ? invoker.userId : null);
        if (userId === null)
          throw invalid('subscribe: the caller is not signed in; pass { userId } to say whose subscription it is');
        if (typeof userId !== 'string' || userId === '') throw invalid('subscribe: userId must be a non-empty string');
        return write((store) => storeSubscription(store, valid, userId, now()));
      }),
    unsubscribe: (endpoint: string) =>
      attempt(() => {
        if (typeof endpoint !== 'string' || endpoint === '')
          throw invalid('unsubscribe: pass the subscription endpoint');
        return write(
          async (store) =>
            (await store.sql.run('DELETE FROM _valet_push_subscriptions WHERE endpoint = ?', [endpoint])).changes > 0,
        );
      }),
    enqueue: (message: PushMessage) =>
      attempt(() => {
        const valid = validatePushMessage(message, policy);
        return write((store) => insertPushRows(store, valid, now(), source)).then((ids) => {
          if (ids.length > 0) afterEnqueue();
          return ids;
        });
      }),
  };
}
