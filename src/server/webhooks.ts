// Signed webhooks: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`, the scheme Stripe
// uses. Verification is constant-time (Web Crypto's HMAC verify) and refuses stale timestamps.
// Web Crypto only, so this module stays isomorphic like the rest of valet/server.

const encoder = new TextEncoder();

async function hmacKey(secret: string, usage: 'sign' | 'verify'): Promise<CryptoKey> {
  return crypto.subtle.importKey('raw', encoder.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, [usage]);
}

function toHex(bytes: ArrayBuffer): string {
  return [...new Uint8Array(bytes)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

function fromHex(hex: string): Uint8Array<ArrayBuffer> | null {
  if (!/^(?:[0-9a-f]{2})+$/i.test(hex)) return null;
  return new Uint8Array(hex.match(/../g)!.map((pair) => parseInt(pair, 16)));
}

export interface WebhookSigning {
  payload: string;
  secret: string;
  /** When it was signed, in Unix seconds (default now). */
  timestampSeconds?: number;
}

/**
 * The signature header for `payload` (for senders, and for tests of a receiving route): takes one
 * object, like verifyWebhookSignature. The positional form `(payload, secret, timestampSeconds?)`
 * of earlier versions still works.
 */
export async function signWebhookPayload(signing: WebhookSigning): Promise<string>;
/** @deprecated pass `{ payload, secret, timestampSeconds }`, the shape verifyWebhookSignature takes. */
export async function signWebhookPayload(payload: string, secret: string, timestampSeconds?: number): Promise<string>;
export async function signWebhookPayload(
  first: WebhookSigning | string,
  secret?: string,
  timestampSeconds?: number,
): Promise<string> {
  const signing = typeof first === 'string' ? { payload: first, secret: secret!, timestampSeconds } : first;
  const at = signing.timestampSeconds ?? Math.floor(Date.now() / 1000);
  const signature = await crypto.subtle.sign(
    'HMAC',
    await hmacKey(signing.secret, 'sign'),
    encoder.encode(`${at}.${signing.payload}`),
  );
  return `t=${at},v1=${toHex(signature)}`;
}

export interface WebhookCheck {
  /** The request body exactly as received (`await request.text()`), before any parsing. */
  payload: string;
  /** The signature header (`request.headers.get('valet-signature')`, or whatever name the sender uses). */
  header: string | null;
  secret: string;
  /** How old a signature may be (default 300 s), against replays. */
  toleranceSeconds?: number;
  /** Now, in milliseconds (default Date.now()). */
  now?: number;
}

export type WebhookVerdict =
  | { ok: true; timestamp: number }
  | { ok: false; reason: 'missing_signature' | 'malformed_signature' | 'stale_timestamp' | 'bad_signature' };

export async function verifyWebhookSignature(check: WebhookCheck): Promise<WebhookVerdict> {
  if (!check.header) return { ok: false, reason: 'missing_signature' };
  const parts = new Map(check.header.split(',').map((part) => part.trim().split('=') as [string, string]));
  const timestamp = Number(parts.get('t'));
  const signatures = check.header
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part.startsWith('v1='))
    .map((part) => fromHex(part.slice(3)));
  if (!Number.isInteger(timestamp) || signatures.length === 0 || signatures.some((s) => s === null))
    return { ok: false, reason: 'malformed_signature' };
  const now = Math.floor((check.now ?? Date.now()) / 1000);
  if (Math.abs(now - timestamp) > (check.toleranceSeconds ?? 300)) return { ok: false, reason: 'stale_timestamp' };
  const key = await hmacKey(check.secret, 'verify');
  const signed = encoder.encode(`${timestamp}.${check.payload}`);
  for (const signature of signatures) {
    if (await crypto.subtle.verify('HMAC', key, signature!, signed)) return { ok: true, timestamp };
  }
  return { ok: false, reason: 'bad_signature' };
}
