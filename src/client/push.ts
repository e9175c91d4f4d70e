// Registering a browser for push: permission, the service worker, a subscription made with the
// server's public VAPID key (GET /api/push/public-key), and the app's own mutation to store it
// (which calls ctx.push.subscribe). Every outcome is a value, not an exception, so a page can show
// the right thing: most browsers outside a secure context, or without a service worker, cannot push.
import type { ArgsOfRef, FunctionReference } from '../server/references.js';
import type { ValetClient } from './valet-client.js';

export interface RegisterPushOptions {
  /** The service worker that shows the notifications (default `/sw.js`, served by your page's host). */
  serviceWorker?: string;
  /** Ask for permission if it was not given yet (default true). False: only register when already allowed. */
  askPermission?: boolean;
  /** Arguments for the mutation besides `subscription`. */
  args?: Record<string, unknown>;
}

export type PushRegistration =
  | { status: 'subscribed'; subscription: PushSubscriptionJSON }
  /** No Notification, service worker or PushManager here (or not a secure context). */
  | { status: 'unsupported'; reason: string }
  /** The user said no; the browser will not ask again. */
  | { status: 'denied' }
  /** Not answered yet (or `askPermission: false` and not allowed before). */
  | { status: 'default' }
  | { status: 'failed'; error: string };

/** A mutation that takes `{ subscription }` (plus any `args`) and calls ctx.push.subscribe. */
type RegisterRef = FunctionReference<'mutation', 'public' | 'authenticated', { subscription: any }>;

function applicationServerKey(publicKey: string): Uint8Array {
  const base64 = publicKey.replace(/-/g, '+').replace(/_/g, '/');
  const binary = atob(base64 + '='.repeat((4 - (base64.length % 4)) % 4));
  return Uint8Array.from(binary, (char) => char.charCodeAt(0));
}

function sameKey(current: ArrayBuffer | null, wanted: Uint8Array): boolean {
  if (!current) return false;
  const bytes = new Uint8Array(current);
  return bytes.length === wanted.length && bytes.every((byte, i) => byte === wanted[i]);
}

/** Why this browser cannot push, or null when it can. */
export function pushUnsupportedReason(): string | null {
  if (typeof window === 'undefined' || typeof navigator === 'undefined') return 'not a browser';
  if (!window.isSecureContext) return 'push needs a secure context (https:// or localhost)';
  if (!('serviceWorker' in navigator)) return 'this browser has no service workers';
  if (!('PushManager' in window)) return 'this browser has no Push API';
  if (!('Notification' in window)) return 'this browser has no Notification API';
  return null;
}

/**
 * Subscribes this browser to push for the signed-in user: asks for permission (unless told not
 * to), registers the service worker, subscribes with the server's VAPID key — replacing a
 * subscription made with another key — and calls `mutation` with `{ subscription }`.
 */
export async function registerPush<Ref extends RegisterRef>(
  client: ValetClient,
  mutation: Ref,
  options: RegisterPushOptions = {},
): Promise<PushRegistration> {
  const reason = pushUnsupportedReason();
  if (reason) return { status: 'unsupported', reason };
  let permission = Notification.permission;
  if (permission === 'default' && options.askPermission !== false) permission = await Notification.requestPermission();
  if (permission !== 'granted') return { status: permission };
  try {
    const response = await fetch(`${client.url}/api/push/public-key`);
    if (!response.ok)
      throw new Error(`the server has no push key (GET /api/push/public-key answered ${response.status})`);
    const key = applicationServerKey(((await response.json()) as { publicKey: string }).publicKey);
    await navigator.serviceWorker.register(options.serviceWorker ?? '/sw.js');
    const registration = await navigator.serviceWorker.ready;
    let subscription = await registration.pushManager.getSubscription();
    if (subscription && !sameKey(subscription.options.applicationServerKey, key)) {
      await subscription.unsubscribe();
      subscription = null;
    }
    subscription ??= await registration.pushManager.subscribe({
      userVisibleOnly: true,
      applicationServerKey: key as BufferSource,
    });
    const json = subscription.toJSON();
    await client.mutation(mutation, { ...options.args, subscription: json } as ArgsOfRef<Ref>);
    return { status: 'subscribed', subscription: json };
  } catch (error) {
    return { status: 'failed', error: (error as Error).message ?? String(error) };
  }
}
