// A Web Push request as push services take it: the payload encrypted for the subscription
// (RFC 8291, the aes128gcm content coding of RFC 8188, one record) and a VAPID Authorization
// header (RFC 8292: an ES256 JWT for the endpoint's origin). node:crypto and jose only: the web-push
// package does the same with seventeen packages of dependencies.
import { createCipheriv, createECDH, hkdfSync, randomBytes } from 'node:crypto';

export interface PushRequestInput {
  subscription: { endpoint: string; keys: { p256dh: string; auth: string } };
  payload: string;
  ttl: number;
  urgency: string;
  topic: string | null;
  vapid: { publicKey: string; privateKey: string; subject: string };
}

export interface PushRequest {
  endpoint: string;
  headers: Record<string, string>;
  body: Buffer;
}

/** The record size written in the header: one record holds the whole (≤ 4 KiB) payload. */
const RECORD_SIZE = 4096;
/** VAPID tokens live 12 h (the RFC allows up to 24). */
const TOKEN_SECONDS = 12 * 3600;

function decodeKey(value: string, bytes: number, name: string): Buffer {
  const key = Buffer.from(value, 'base64url');
  if (key.length !== bytes) throw new Error(`the subscription's ${name} key is ${key.length} bytes, not ${bytes}`);
  return key;
}

/** RFC 8291 §3.4 and RFC 8188 §2: salt, record size, the sender's public key, then the ciphertext. */
export function encryptPayload(payload: string, p256dh: string, auth: string): Buffer {
  const uaPublic = decodeKey(p256dh, 65, 'p256dh');
  const authSecret = decodeKey(auth, 16, 'auth');
  const sender = createECDH('prime256v1');
  const asPublic = sender.generateKeys();
  const secret = sender.computeSecret(uaPublic);
  const keyInfo = Buffer.concat([Buffer.from('WebPush: info\0'), uaPublic, asPublic]);
  const ikm = Buffer.from(hkdfSync('sha256', secret, authSecret, keyInfo, 32));
  const salt = randomBytes(16);
  const cek = Buffer.from(hkdfSync('sha256', ikm, salt, Buffer.from('Content-Encoding: aes128gcm\0'), 16));
  const nonce = Buffer.from(hkdfSync('sha256', ikm, salt, Buffer.from('Content-Encoding: nonce\0'), 12));
  const cipher = createCipheriv('aes-128-gcm', cek, nonce);
  // The last (and only) record ends with the delimiter 0x02.
  const sealed = Buffer.concat([
    cipher.update(Buffer.from(payload, 'utf8')),
    cipher.update(Buffer.of(2)),
    cipher.final(),
  ]);
  const header = Buffer.alloc(21);
  salt.copy(header, 0);
  header.writeUInt32BE(RECORD_SIZE, 16);
  header[20] = asPublic.length;
  return Buffer.concat([header, asPublic, sealed, cipher.getAuthTag()]);
}

/** RFC 8292: `vapid t=<ES256 JWT for the endpoint's origin>, k=<the public key>`. */
export async function vapidAuthorization(
  endpoint: URL,
  vapid: PushRequestInput['vapid'],
  nowSeconds: number,
): Promise<string> {
  const point = decodeKey(vapid.publicKey, 65, 'VAPID public');
  // Loaded on the first push sent: jose is sixty modules a server that sends none need not load.
  const { importJWK, SignJWT } = await import('jose');
  const key = await importJWK(
    {
      kty: 'EC',
      crv: 'P-256',
      x: point.subarray(1, 33).toString('base64url'),
      y: point.subarray(33).toString('base64url'),
      d: vapid.privateKey,
    },
    'ES256',
  );
  const token = await new SignJWT({ sub: vapid.subject })
    .setProtectedHeader({ alg: 'ES256', typ: 'JWT' })
    .setAudience(endpoint.origin)
    .setExpirationTime(nowSeconds + TOKEN_SECONDS)
    .sign(key);
  return `vapid t=${token}, k=${vapid.publicKey}`;
}

/** Throws when the subscription's keys cannot be encrypted for (sending again cannot help). */
export async function buildPushRequest(input: PushRequestInput, nowSeconds: number): Promise<PushRequest> {
  const endpoint = new URL(input.subscription.endpoint);
  const body = encryptPayload(input.payload, input.subscription.keys.p256dh, input.subscription.keys.auth);
  const headers: Record<string, string> = {
    'content-encoding': 'aes128gcm',
    'content-type': 'application/octet-stream',
    'content-length': String(body.length),
    ttl: String(input.ttl),
    urgency: input.urgency,
    authorization: await vapidAuthorization(endpoint, input.vapid, nowSeconds),
  };
  if (input.topic) headers.topic = input.topic;
  return { endpoint: endpoint.href, headers, body };
}
