// A real Web Push service on loopback, for the push tests: subscriptions with real P-256 keys (as
// a browser makes them), a VAPID check of every request (RFC 8292: an ES256 JWT whose `aud` is the
// endpoint's origin, `exp` within 24 h, a `sub`, signed by the key in `k=`), and the aes128gcm body
// decrypted with the subscription's private key (RFC 8291 over RFC 8188) using node:crypto only —
// so a test reads back exactly the notification a browser would show. It answers 201, or on
// request 404, 410, 413, 429 with Retry-After, 500, or nothing at all.
import { createDecipheriv, createECDH, hkdfSync, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { importJWK, jwtVerify } from 'jose';

export interface TestSubscription {
  endpoint: string;
  keys: { p256dh: string; auth: string };
}

export interface ReceivedPush {
  subscription: string;
  /** The decrypted payload, parsed. */
  payload: Record<string, any>;
  ttl: string | null;
  urgency: string | null;
  topic: string | null;
  /** The VAPID JWT's claims. */
  claims: Record<string, unknown>;
}

export type PushAnswer =
  | { status: 201 | 404 | 410 | 413 | 500 }
  | { status: 429; retryAfter: number }
  | { status: 'hang' };

export interface PushReceiver {
  url: string;
  received: ReceivedPush[];
  /** Requests refused for a bad VAPID header or body (each with why). */
  rejected: string[];
  /** Answers for the next requests, in order (then 201). */
  answers: PushAnswer[];
  /** Delay before answering each request. */
  delayMs: number;
  subscribe(): TestSubscription;
  close(): Promise<void>;
}

const b64 = (buffer: Buffer) => buffer.toString('base64url');

/** RFC 8291: the plaintext of an aes128gcm body sent to a subscription with these keys. */
export function decryptPush(body: Buffer, uaPrivate: Buffer, uaPublic: Buffer, authSecret: Buffer): Buffer {
  const salt = body.subarray(0, 16);
  const recordSize = body.readUInt32BE(16);
  const idLength = body[20]!;
  const asPublic = body.subarray(21, 21 + idLength);
  const ciphertext = body.subarray(21 + idLength);
  if (ciphertext.length > recordSize) throw new Error('more than one record');
  const ecdh = createECDH('prime256v1');
  ecdh.setPrivateKey(uaPrivate);
  const secret = ecdh.computeSecret(asPublic);
  const keyInfo = Buffer.concat([Buffer.from('WebPush: info\0'), uaPublic, asPublic]);
  const ikm = Buffer.from(hkdfSync('sha256', secret, authSecret, keyInfo, 32));
  const cek = Buffer.from(hkdfSync('sha256', ikm, salt, Buffer.from('Content-Encoding: aes128gcm\0'), 16));
  const nonce = Buffer.from(hkdfSync('sha256', ikm, salt, Buffer.from('Content-Encoding: nonce\0'), 12));
  const decipher = createDecipheriv('aes-128-gcm', cek, nonce);
  decipher.setAuthTag(ciphertext.subarray(ciphertext.length - 16));
  const padded = Buffer.concat([decipher.update(ciphertext.subarray(0, ciphertext.length - 16)), decipher.final()]);
  // The last record ends with the delimiter 0x02, then zero padding.
  let end = padded.length - 1;
  while (end >= 0 && padded[end] === 0) end--;
  if (padded[end] !== 2) throw new Error('no last-record delimiter');
  return padded.subarray(0, end);
}

/** RFC 8292: `vapid t=<jwt>, k=<public key>`; throws with the reason when anything is off. */
async function verifyVapid(header: string | undefined, origin: string): Promise<Record<string, unknown>> {
  const match = /^vapid t=([^,\s]+),\s*k=([A-Za-z0-9_-]+)$/.exec(header ?? '');
  if (!match) throw new Error(`Authorization is not "vapid t=…, k=…": ${header}`);
  const point = Buffer.from(match[2]!, 'base64url');
  if (point.length !== 65 || point[0] !== 4) throw new Error('k is not an uncompressed P-256 point');
  const key = await importJWK(
    { kty: 'EC', crv: 'P-256', x: b64(point.subarray(1, 33)), y: b64(point.subarray(33)) },
    'ES256',
  );
  const { payload, protectedHeader } = await jwtVerify(match[1]!, key, { algorithms: ['ES256'] });
  if (protectedHeader.alg !== 'ES256') throw new Error(`alg ${protectedHeader.alg}`);
  if (payload.aud !== origin) throw new Error(`aud ${payload.aud} is not the endpoint's origin ${origin}`);
  const now = Math.floor(Date.now() / 1000);
  if (typeof payload.exp !== 'number' || payload.exp <= now || payload.exp > now + 24 * 3600)
    throw new Error(`exp ${payload.exp} is not within 24 h`);
  if (typeof payload.sub !== 'string' || !/^(mailto:|https:)/.test(payload.sub)) throw new Error(`sub ${payload.sub}`);
  return payload as Record<string, unknown>;
}

export async function startPushReceiver(): Promise<PushReceiver> {
  const keys = new Map<string, { privateKey: Buffer; publicKey: Buffer; auth: Buffer }>();
  const hanging = new Set<import('node:http').ServerResponse>();
  const receiver: PushReceiver = {
    url: '',
    received: [],
    rejected: [],
    answers: [],
    delayMs: 0,
    subscribe() {
      const ecdh = createECDH('prime256v1');
      ecdh.generateKeys();
      const id = randomBytes(8).toString('hex');
      const subscriber = { privateKey: ecdh.getPrivateKey(), publicKey: ecdh.getPublicKey(), auth: randomBytes(16) };
      keys.set(id, subscriber);
      return {
        endpoint: `${receiver.url}/push/${id}`,
        keys: { p256dh: b64(subscriber.publicKey), auth: b64(subscriber.auth) },
      };
    },
    close: () =>
      new Promise((resolve) => {
        for (const response of hanging) response.destroy();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', async () => {
      const id = /^\/push\/(\w+)$/.exec(request.url ?? '')?.[1];
      const subscriber = id ? keys.get(id) : undefined;
      if (request.method !== 'POST' || !subscriber) return void response.writeHead(404).end();
      let claims: Record<string, unknown>;
      let payload: Record<string, unknown>;
      try {
        claims = await verifyVapid(request.headers.authorization, receiver.url);
        if (request.headers['content-encoding'] !== 'aes128gcm')
          throw new Error(`Content-Encoding ${request.headers['content-encoding']}`);
        if (!request.headers.ttl) throw new Error('no TTL header');
        payload = JSON.parse(
          decryptPush(Buffer.concat(chunks), subscriber.privateKey, subscriber.publicKey, subscriber.auth).toString(
            'utf8',
          ),
        );
      } catch (error) {
        receiver.rejected.push((error as Error).message);
        return void response.writeHead(400).end((error as Error).message);
      }
      const answer = receiver.answers.shift() ?? { status: 201 };
      if (answer.status === 'hang') {
        hanging.add(response);
        return;
      }
      if (receiver.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, receiver.delayMs));
      if (answer.status === 201) {
        receiver.received.push({
          subscription: id!,
          payload,
          ttl: request.headers.ttl as string,
          urgency: (request.headers.urgency as string) ?? null,
          topic: (request.headers.topic as string) ?? null,
          claims,
        });
      }
      const headers: Record<string, string> = answer.status === 429 ? { 'retry-after': String(answer.retryAfter) } : {};
      response.writeHead(answer.status, headers).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return receiver;
}
