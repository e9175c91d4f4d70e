// How a server sends push: VAPID keys from VALET_VAPID_PUBLIC_KEY / VALET_VAPID_PRIVATE_KEY /
// VALET_VAPID_SUBJECT, else the app's own pair in .valet/ (created on first use); `valet dev`
// captures messages (a line each, the row kept) unless VALET_PUSH_SEND=1, `valet start` sends them.
// A push endpoint comes from a browser, so it goes through the fetch guard: loopback push services
// only in development or with VALET_PUSH_ALLOW_LOOPBACK=1 (tests, a local push service).
import { UserError } from '../errors/user-error.js';
import { loadOrCreateVapidKeys } from '../project/keys.js';
import { systemResolver } from '../runtime/fetch-guard/guard.js';
import { webPushTransport } from '../runtime/outbox/push-transport.js';
import type { PushTransport, VapidKeys } from '../runtime/outbox/push-transport.js';

export interface PushSetup {
  /** The public key browsers subscribe with (served at /api/push/public-key). */
  publicKey: string;
  /** Null: the engine's capture transport. */
  transport: PushTransport | null;
  allowLoopback: boolean;
  /** For the ready line. */
  describe: string;
}

export function vapidKeysFrom(env: NodeJS.ProcessEnv, appDir: string): VapidKeys {
  const subject = env.VALET_VAPID_SUBJECT?.trim() || 'mailto:valet@localhost';
  if (!/^(mailto:|https:)/.test(subject))
    throw new UserError(
      `VALET_VAPID_SUBJECT must be a mailto: or https: URL (push services use it to reach you), got "${subject}"`,
    );
  const publicKey = env.VALET_VAPID_PUBLIC_KEY?.trim();
  const privateKey = env.VALET_VAPID_PRIVATE_KEY?.trim();
  if (publicKey || privateKey) {
    if (!publicKey || !privateKey)
      throw new UserError(
        'set both VALET_VAPID_PUBLIC_KEY and VALET_VAPID_PRIVATE_KEY (or neither, to use the keys in .valet/)',
      );
    if (Buffer.from(publicKey, 'base64url').length !== 65)
      throw new UserError('VALET_VAPID_PUBLIC_KEY: expected an uncompressed P-256 public key, base64url (65 bytes)');
    if (Buffer.from(privateKey, 'base64url').length !== 32)
      throw new UserError('VALET_VAPID_PRIVATE_KEY: expected a P-256 private key, base64url (32 bytes)');
    return { publicKey, privateKey, subject };
  }
  return { ...loadOrCreateVapidKeys(appDir), subject };
}

export function preparePush(
  mode: 'dev' | 'start',
  env: NodeJS.ProcessEnv,
  appDir: string,
  sendTimeoutMs?: number,
): PushSetup {
  const vapid = vapidKeysFrom(env, appDir);
  const allowLoopback = mode === 'dev' || env.VALET_PUSH_ALLOW_LOOPBACK === '1';
  if (mode === 'dev' && env.VALET_PUSH_SEND !== '1')
    return {
      publicKey: vapid.publicKey,
      transport: null,
      allowLoopback,
      describe: 'capture (VALET_PUSH_SEND=1 sends)',
    };
  const transport = webPushTransport({ vapid, policy: { allowLoopback, resolve: systemResolver }, sendTimeoutMs });
  return { publicKey: vapid.publicKey, transport, allowLoopback, describe: 'web-push' };
}
