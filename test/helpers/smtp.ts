// A real SMTP server (the smtp-server package) on loopback, recording what it receives, and able
// to reject or drop connections on command.
import { SMTPServer } from 'smtp-server';
import type { AddressInfo } from 'node:net';

export interface ReceivedMail {
  to: string[];
  raw: string;
  messageId: string | null;
  deliveryKey: string | null;
}

export interface TestSmtpServer {
  url: string;
  received: ReceivedMail[];
  /** What to do with the next messages: accept, reject with a code, or drop the connection. */
  mode: { kind: 'accept' } | { kind: 'reject'; code: number } | { kind: 'drop' };
  /** Delay before accepting each message (to keep deliveries in flight). */
  delayMs: number;
  /** Messages to these recipients get no answer at all (a silent server, for that message). */
  silentFor: Set<string>;
  close(): Promise<void>;
}

export async function startSmtpServer(): Promise<TestSmtpServer> {
  const state: TestSmtpServer = {
    url: '',
    received: [],
    mode: { kind: 'accept' },
    delayMs: 0,
    silentFor: new Set(),
    close: async () => undefined,
  };
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        if (session.envelope.rcptTo.some((r) => state.silentFor.has(r.address))) return;
        const mode = state.mode;
        if (mode.kind === 'drop') {
          (session as unknown as { socket?: { destroy(): void } }).socket?.destroy?.();
          return callback(new Error('dropped'));
        }
        if (mode.kind === 'reject')
          return callback(Object.assign(new Error(`rejected ${mode.code}`), { responseCode: mode.code }));
        const raw = Buffer.concat(chunks).toString('utf8');
        const header = (name: string) => new RegExp(`^${name}: *(.+)$`, 'mi').exec(raw)?.[1]?.trim() ?? null;
        const done = () => {
          state.received.push({
            to: session.envelope.rcptTo.map((r) => r.address),
            raw,
            messageId: header('Message-ID'),
            deliveryKey: header('X-Valet-Delivery-Key'),
          });
          callback();
        };
        if (state.delayMs > 0) setTimeout(done, state.delayMs);
        else done();
      });
    },
  });
  // A client that dies mid-session (the SIGKILL test) resets its connection: expected, not a failure.
  server.on('error', () => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.server.address() as AddressInfo;
  state.url = `smtp://127.0.0.1:${port}`;
  state.close = () => new Promise((resolve) => server.close(() => resolve()));
  return state;
}
