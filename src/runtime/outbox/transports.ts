// Where the outbox worker sends email: the dev capture (the row itself is the stored copy; one
// terminal line announces it) or SMTP through nodemailer, pooled.
import { connect as netConnect } from 'node:net';
import type { Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { Transporter } from 'nodemailer';

export interface OutgoingEmail {
  id: string;
  to: string[];
  subject: string;
  html: string | null;
  text: string | null;
  deliveryKey: string | null;
}

/** A failure the transport knows is final (SMTP 5xx): dead-lettered without further retries. */
export class PermanentDeliveryError extends Error {
  override readonly name = 'PermanentDeliveryError';
}

export interface EmailTransport {
  readonly name: string;
  send(email: OutgoingEmail): Promise<void>;
  close(): Promise<void>;
}

export function captureTransport(announce: (email: OutgoingEmail) => void): EmailTransport {
  return {
    name: 'capture',
    async send(email) {
      announce(email);
    },
    async close() {},
  };
}

export interface SmtpConfig {
  url: string;
  from: string;
  maxConnections?: number;
}

/** VALET_SMTP_URL (smtp://user:pass@host:587, smtps:// for TLS) and VALET_EMAIL_FROM. */
export function smtpConfigFromEnv(env: NodeJS.ProcessEnv): SmtpConfig | null {
  if (!env.VALET_SMTP_URL) return null;
  return { url: env.VALET_SMTP_URL, from: env.VALET_EMAIL_FROM ?? 'Valet <valet@localhost>' };
}

/** Message-ID derived from the delivery key, so a receiver can spot a duplicate delivery. */
function messageId(email: OutgoingEmail): string {
  const key = (email.deliveryKey ?? email.id).replace(/[^\w.-]/g, '_');
  return `<${key}@valet.outbox>`;
}

export async function smtpTransport(config: SmtpConfig): Promise<EmailTransport> {
  const { createTransport } = await import('nodemailer');
  const url = new URL(config.url);
  const transporter: Transporter = createTransport({
    host: url.hostname,
    port: Number(url.port || (url.protocol === 'smtps:' ? 465 : 587)),
    secure: url.protocol === 'smtps:',
    auth: url.username ? { user: decodeURIComponent(url.username), pass: decodeURIComponent(url.password) } : undefined,
    pool: true,
    maxConnections: config.maxConnections ?? 5,
    maxMessages: Infinity,
    // A local relay in tests and dev has no certificate worth checking; opt-in with ?tls=verify.
    tls: { rejectUnauthorized: url.searchParams.get('tls') === 'verify' },
    connectionTimeout: 10_000,
    socketTimeout: 30_000,
    // nodemailer leaves Nagle's algorithm on: each message's last write then waits for the
    // server's delayed ACK (~40 ms on loopback), capping a pool at ~100 emails/s. No delay: ~7×.
    getSocket: (
      options: { host: string; port: number },
      callback: (error: Error | null, socket?: { connection: Socket; secured?: boolean }) => void,
    ) => {
      const secure = url.protocol === 'smtps:';
      const socket = secure
        ? tlsConnect({
            host: options.host,
            port: options.port,
            servername: options.host,
            rejectUnauthorized: url.searchParams.get('tls') === 'verify',
          })
        : netConnect(options.port, options.host);
      socket.setNoDelay(true);
      socket.once(secure ? 'secureConnect' : 'connect', () => callback(null, { connection: socket, secured: secure }));
      socket.once('error', (error) => callback(error));
    },
  } as never);
  return {
    name: `smtp ${url.hostname}:${url.port || (url.protocol === 'smtps:' ? 465 : 587)}`,
    async send(email) {
      try {
        await transporter.sendMail({
          from: config.from,
          to: email.to,
          subject: email.subject,
          text: email.text ?? undefined,
          html: email.html ?? undefined,
          messageId: messageId(email),
          headers: email.deliveryKey ? { 'X-Valet-Delivery-Key': email.deliveryKey } : {},
        });
      } catch (error) {
        const code = (error as { responseCode?: number }).responseCode;
        if (code !== undefined && code >= 500)
          throw new PermanentDeliveryError(`SMTP ${code}: ${(error as Error).message}`);
        throw error;
      }
    },
    async close() {
      transporter.close();
    },
  };
}
