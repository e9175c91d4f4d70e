// Reactive queries and queued mutations over one WebSocket per client (/api/sync).
// A subscription remembers what its query read; a committed write re-runs only the subscriptions
// whose reads it touches, and an unchanged result is not re-sent. A client's mutation result is
// sent after the updates it caused on that connection, so its promise resolves with the client's
// queries already showing the write (read-your-writes). The upgrade passes the same Host and
// Origin checks as every request; a client that stops reading is cut off once it has too much
// waiting, so a slow reader cannot make the server's memory grow without bound.
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import type { WebSocket } from 'ws';
import type { ErrorBody } from '../protocol/errors.js';
import { MAX_SYNC_MESSAGE_BYTES, SYNC_CLOSE } from '../protocol/sync.js';
import type { ClientMessage, QueryUpdate, ServerMessage } from '../protocol/sync.js';
import type { Invoker } from '../server/ctx.js';
import type { DocumentChange } from '../storage/documents.js';
import type { Read } from '../storage/read-set.js';
import { changeTouches } from '../storage/read-set.js';
import { lastSeq } from '../runtime/call/client-sequence.js';
import { principalOf } from '../runtime/call/principal.js';
import type { CallRequest, CallResponse } from '../runtime/call/types.js';
import type { Engine } from '../runtime/engine.js';
import { EngineError } from '../runtime/errors.js';
import { hostRefusal, isHostAllowed, isOriginAllowed, originRefusal } from './security.js';
import type { HttpContext } from './types.js';

interface Subscription {
  id: string;
  path: string;
  args: unknown;
  reads: Read[];
  lastSent: string | null;
  dirty: boolean;
}

export interface SyncOptions {
  /** Bytes a connection may have waiting to be sent before it is closed as a slow consumer. */
  maxBufferedBytes?: number;
}

const DEFAULT_MAX_BUFFERED_BYTES = 8 * 1024 * 1024;

function errorBodyOf(error: unknown): ErrorBody {
  if (error instanceof EngineError) return error.toJSON();
  return { code: 'internal_error', message: (error as Error)?.message ?? String(error) };
}

class Session {
  clientId: string | null = null;
  invoker: Invoker = { type: 'anonymous' };
  readonly subscriptions = new Map<string, Subscription>();
  /** Messages are handled one after another, so a client's mutations apply in the order sent. */
  private chain: Promise<void> = Promise.resolve();

  constructor(
    readonly socket: WebSocket,
    private readonly maxBufferedBytes: number,
  ) {}

  send(message: ServerMessage): void {
    if (this.socket.readyState !== this.socket.OPEN) return;
    const text = JSON.stringify(message);
    if (this.socket.bufferedAmount + text.length > this.maxBufferedBytes) return this.dropSlowConsumer();
    this.socket.send(text);
  }

  /** The client is not reading: close it (it reconnects and gets fresh results) and free its buffer. */
  private dropSlowConsumer(): void {
    this.socket.close(SYNC_CLOSE.slowConsumer, 'slow consumer: too many updates waiting to be read');
    // A client that does not read will not read the close frame either.
    setTimeout(() => this.socket.terminate(), 1000).unref();
  }

  enqueue(work: () => Promise<void>): void {
    this.chain = this.chain.then(work).catch((error: unknown) => this.send({ type: 'error', error: errorBodyOf(error) }));
  }
}

export interface SyncServer {
  /** Re-runs every subscription (after a dev reload: new code may answer differently). */
  refreshAll(): Promise<void>;
  /** Closes every connection with "going away" (clients reconnect, perhaps elsewhere). */
  close(code?: number): void;
  readonly connections: number;
}

export function attachSync(server: Server, context: HttpContext, options: SyncOptions = {}): SyncServer {
  const sockets = new WebSocketServer({ noServer: true, maxPayload: MAX_SYNC_MESSAGE_BYTES });
  const sessions = new Set<Session>();
  const maxBuffered = options.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED_BYTES;
  let flushing: Promise<void> | null = null;
  let detach: (() => void) | null = null;
  let attachedTo: Engine | null = null;
  const log = context.log ?? ((line: string) => process.stderr.write(`${line}\n`));

  /** The engine, listening to its commits; null until the first good build of a dev server. */
  const currentEngine = (): Engine | null => {
    if (context.engine && attachedTo !== context.engine) {
      detach?.();
      attachedTo = context.engine;
      detach = context.engine.connections.onCommit(onCommit);
    }
    return context.engine;
  };
  const notReady = (): CallResponse => ({ status: 503, body: { code: 'app_not_ready', message: context.notReadyReason ?? 'the app is not built yet' }, headers: {} });

  const requestFor = (session: Session, subscription: Subscription): CallRequest => ({
    kind: 'query',
    path: subscription.path,
    args: subscription.args,
    invoker: session.invoker,
    external: true,
    trackReads: true,
  });

  /** Records a subscription's new result; returns the update to send, or null when it is unchanged. */
  function updateFor(session: Session, subscription: Subscription, response: CallResponse): QueryUpdate | null {
    subscription.reads = response.reads ?? [];
    const payload = response.status === 200 ? { value: (response.body as { value: unknown }).value } : { error: response.body as ErrorBody };
    const text = JSON.stringify(payload);
    if (text === subscription.lastSent || !session.subscriptions.has(subscription.id)) return null;
    subscription.lastSent = text;
    return { type: 'update', id: subscription.id, ...payload };
  }

  async function run(session: Session, subscription: Subscription): Promise<QueryUpdate | null> {
    subscription.dirty = false;
    const engine = currentEngine();
    return updateFor(session, subscription, engine ? await engine.call(requestFor(session, subscription)) : notReady());
  }

  /** Re-runs every dirty subscription in one snapshot; each connection gets its updates in one message. */
  async function flush(): Promise<void> {
    const engine = currentEngine();
    if (!engine) return;
    const dirty = [...sessions].flatMap((session) => [...session.subscriptions.values()].filter((s) => s.dirty).map((subscription) => ({ session, subscription })));
    if (dirty.length === 0) return;
    for (const { subscription } of dirty) subscription.dirty = false;
    const responses = await engine.callQueries(dirty.map(({ session, subscription }) => requestFor(session, subscription)));
    const bySession = new Map<Session, QueryUpdate[]>();
    dirty.forEach(({ session, subscription }, i) => {
      const update = updateFor(session, subscription, responses[i]!);
      if (update) bySession.set(session, [...(bySession.get(session) ?? []), update]);
    });
    for (const [session, updates] of bySession) session.send(updates.length === 1 ? updates[0]! : { type: 'updates', updates });
  }

  function scheduleFlush(): void {
    flushing ??= Promise.resolve()
      .then(flush)
      .catch((error: unknown) => log(`sync: re-running live queries failed: ${(error as Error)?.stack ?? String(error)}`))
      .finally(() => {
        flushing = null;
      });
  }

  function onCommit(changes: DocumentChange[]): void {
    let any = false;
    for (const session of sessions) {
      for (const subscription of session.subscriptions.values()) {
        if (!subscription.dirty && changes.some((change) => changeTouches(subscription.reads, change))) {
          subscription.dirty = true;
          any = true;
        }
      }
    }
    if (any) scheduleFlush();
  }

  /** Sets the session's caller from a token; a refused token leaves it anonymous and says why. */
  async function authenticate(session: Session, token: string | null | undefined): Promise<void> {
    const engine = currentEngine();
    session.invoker = { type: 'anonymous' };
    if (!token || !engine) return;
    try {
      session.invoker = await engine.authenticate(`Bearer ${token}`);
    } catch (error) {
      session.send({ type: 'authError', error: errorBodyOf(error) });
    }
  }

  function welcome(session: Session): void {
    const engine = currentEngine();
    if (!engine || !session.clientId) return;
    session.send({ type: 'welcome', lastSeq: lastSeq(engine.connections.autoCommitReader, session.clientId, principalOf(session.invoker)) });
  }

  async function handle(session: Session, message: ClientMessage): Promise<void> {
    switch (message?.type) {
      case 'hello':
        session.clientId = String(message.clientId);
        await authenticate(session, message.token);
        welcome(session);
        return;
      case 'auth':
        await authenticate(session, message.token);
        // A new caller has a sequence of its own: tell the client where it stands.
        welcome(session);
        for (const subscription of session.subscriptions.values()) subscription.dirty = true;
        scheduleFlush();
        return;
      case 'subscribe': {
        const subscription: Subscription = { id: String(message.id), path: String(message.path), args: message.args ?? {}, reads: [], lastSent: null, dirty: true };
        session.subscriptions.set(subscription.id, subscription);
        const update = await run(session, subscription);
        if (update) session.send(update);
        return;
      }
      case 'unsubscribe':
        session.subscriptions.delete(String(message.id));
        return;
      case 'mutation': {
        const engine = currentEngine();
        if (!session.clientId) return session.send({ type: 'mutationResult', seq: message.seq, status: 400, error: { code: 'invalid_request', message: 'say hello with a clientId first' } });
        const response = engine
          ? await engine.call({
              kind: 'mutation',
              path: message.path,
              args: message.args,
              invoker: session.invoker,
              external: true,
              client: { clientId: session.clientId, principal: principalOf(session.invoker), seq: message.seq },
            })
          : notReady();
        // Updates this write caused go out first: when the promise resolves, queries show it.
        await flushing;
        const result = response.status === 200 ? { value: (response.body as { value: unknown }).value } : { error: response.body as ErrorBody };
        session.send({ type: 'mutationResult', seq: message.seq, status: response.status, ...result });
        return;
      }
      default:
        session.send({ type: 'error', error: { code: 'invalid_request', message: `unknown message type ${JSON.stringify((message as { type?: unknown })?.type)}` } });
    }
  }

  sockets.on('connection', (socket: WebSocket) => {
    const session = new Session(socket, maxBuffered);
    sessions.add(session);
    socket.on('message', (data) => {
      let message: ClientMessage;
      try {
        message = JSON.parse(String(data));
      } catch {
        return session.send({ type: 'error', error: { code: 'invalid_request', message: 'messages must be JSON' } });
      }
      session.enqueue(() => handle(session, message));
    });
    socket.on('close', () => sessions.delete(session));
    // A broken frame or a reset connection ends this session only, never the server.
    socket.on('error', () => socket.terminate());
  });

  const refuse = (socket: Duplex, status: number, body: ErrorBody) => {
    const text = JSON.stringify(body);
    socket.end(`HTTP/1.1 ${status} ${status === 403 ? 'Forbidden' : 'Not Found'}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(text)}\r\nconnection: close\r\n\r\n${text}`);
  };

  const onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    if ((request.url ?? '').split('?')[0] !== '/api/sync') return refuse(socket, 404, { code: 'not_found', message: 'WebSocket connections go to /api/sync' });
    const { host, origin } = request.headers;
    if (!isHostAllowed(context.policy, host)) return refuse(socket, 403, { code: 'host_not_allowed', message: hostRefusal(host) });
    if (!isOriginAllowed(context.policy, origin, host)) return refuse(socket, 403, { code: 'origin_not_allowed', message: originRefusal(origin ?? '', context.policy.mode) });
    sockets.handleUpgrade(request, socket, head, (ws) => sockets.emit('connection', ws, request));
  };
  server.on('upgrade', onUpgrade);

  return {
    async refreshAll() {
      if (!currentEngine()) return;
      for (const session of sessions) for (const subscription of session.subscriptions.values()) subscription.dirty = true;
      scheduleFlush();
      await flushing;
    },
    close(code: number = SYNC_CLOSE.goingAway) {
      server.off('upgrade', onUpgrade);
      detach?.();
      for (const client of sockets.clients) {
        client.close(code, 'the server is shutting down');
        setTimeout(() => client.terminate(), 1000).unref();
      }
      sockets.close();
    },
    get connections() {
      return sessions.size;
    },
  };
}
