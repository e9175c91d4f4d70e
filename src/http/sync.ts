// The /api/sync WebSocket: one connection per client carrying its live queries (kept by the
// engine's SubscriptionHub) and its queued mutations. A client's mutation result is sent after
// the updates it caused on that connection, so its promise resolves with the client's queries
// already showing the write (read-your-writes). The upgrade passes the same Host and Origin checks
// as every request; a client that stops reading is cut off once it has too much waiting, so a
// slow reader cannot make the server's memory grow without bound.
import { STATUS_CODES } from 'node:http';
import { ERROR_CODES } from '../protocol/error-codes.js';
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import type { WebSocket } from 'ws';
import type { ErrorBody } from '../protocol/errors.js';
import { MAX_SYNC_MESSAGE_BYTES, SYNC_CLOSE } from '../protocol/sync.js';
import type { ClientMessage, QueryUpdate, ServerMessage } from '../protocol/sync.js';
import type { Invoker } from '../server/ctx.js';
import { lastSeq } from '../runtime/call/client-sequence.js';
import { principalOf } from '../runtime/call/principal.js';
import type { CallResponse } from '../runtime/call/types.js';
import { EngineError } from '../runtime/errors.js';
import { storageFaultOf } from '../storage/faults.js';
import { SubscriptionHub, updateJson } from '../runtime/subscriptions/hub.js';
import type { Subscriber } from '../runtime/subscriptions/hub.js';
import { hostRefusal, isHostAllowed, isOriginAllowed, originRefusal } from './security.js';
import type { HttpContext } from './types.js';

export interface SyncOptions {
  /** Bytes a connection may have waiting to be sent before it is closed as a slow consumer. */
  maxBufferedBytes?: number;
  /** Each socket is pinged this often; one that did not answer the previous ping is closed (0: never). */
  pingIntervalMs?: number;
  /** Live queries one socket may hold; more are answered with `too_many_subscriptions`. */
  maxSubscriptions?: number;
}

const DEFAULT_PING_INTERVAL_MS = 30_000;
const DEFAULT_MAX_SUBSCRIPTIONS = 1_000;

const DEFAULT_MAX_BUFFERED_BYTES = 8 * 1024 * 1024;

function errorBodyOf(error: unknown): ErrorBody {
  if (error instanceof EngineError) return error.toJSON();
  // The database out of reach while answering (a welcome's sequence lookup): the client tries again.
  const fault = storageFaultOf(error);
  if (fault) return fault.toJSON();
  return { code: 'internal_error', message: 'the server failed to handle this message (the details are in its log)' };
}

class Session implements Subscriber {
  clientId: string | null = null;
  /** Told its sequence (a dev server answers hello only once the app has built). */
  welcomed = false;
  /** The token of its hello, kept until there is an engine to verify it. */
  pendingToken: string | null | undefined = undefined;
  pendingAuthRef: number | undefined = undefined;
  invoker: Invoker = { type: 'anonymous' };
  /** Messages are handled one after another, so a client's mutations apply in the order sent. */
  private chain: Promise<void> = Promise.resolve();
  private dropped = false;

  constructor(
    readonly socket: WebSocket,
    private readonly maxBufferedBytes: number,
    private readonly onDrop: (session: Session) => void,
    private readonly log: (line: string) => void,
  ) {}

  send(message: ServerMessage): void {
    this.sendText(JSON.stringify(message));
  }

  private sendText(text: string): void {
    if (this.dropped || this.socket.readyState !== this.socket.OPEN) return;
    if (this.socket.bufferedAmount + text.length > this.maxBufferedBytes) return this.dropSlowConsumer();
    this.socket.send(text);
  }

  /** One message per flush; each result's JSON was made once by the hub for all its subscribers. */
  deliver(updates: QueryUpdate[]): void {
    this.sendText(
      updates.length === 1
        ? updateJson(updates[0]!)
        : `{"type":"updates","updates":[${updates.map(updateJson).join(',')}]}`,
    );
  }

  /**
   * The client is not reading: stop sending it anything and close it. The close frame waits behind
   * at most the cap's worth of data, so a client that resumes reads 4008 (and reconnects for fresh
   * results); one that never does is cut off by ws's close timeout. Either way nothing more piles up.
   */
  private dropSlowConsumer(): void {
    if (this.dropped) return;
    this.dropped = true;
    this.onDrop(this);
    this.socket.close(SYNC_CLOSE.slowConsumer, 'slow consumer: too many updates waiting to be read');
  }

  enqueue(work: () => Promise<void>): void {
    this.chain = this.chain.then(work).catch((error: unknown) => {
      if (!(error instanceof EngineError) && !storageFaultOf(error))
        this.log(`sync: a message failed: ${(error as Error)?.stack ?? String(error)}`);
      this.send({ type: 'error', error: errorBodyOf(error) });
    });
  }
}

export interface SyncServer {
  /** Re-runs every subscription (after a dev reload: new code may answer differently). */
  refreshAll(): Promise<void>;
  /** Closes every connection ("going away" by default: clients reconnect, perhaps elsewhere). */
  close(code?: number): void;
  readonly connections: number;
  readonly hub: SubscriptionHub;
}

export function attachSync(server: Server, context: HttpContext, options: SyncOptions = {}): SyncServer {
  const sockets = new WebSocketServer({ noServer: true, maxPayload: MAX_SYNC_MESSAGE_BYTES });
  const sessions = new Set<Session>();
  const maxBuffered = options.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED_BYTES;
  const maxSubscriptions = options.maxSubscriptions ?? DEFAULT_MAX_SUBSCRIPTIONS;
  const pingIntervalMs = options.pingIntervalMs ?? DEFAULT_PING_INTERVAL_MS;
  const log = context.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const notReady = (): CallResponse => ({
    status: ERROR_CODES.app_not_ready.status,
    body: { code: 'app_not_ready', message: context.notReadyReason ?? 'the app is not built yet' },
    headers: {},
  });
  const hub = new SubscriptionHub(() => context.engine, notReady, log);
  context.subscriptions = () => hub.subscriptionsByPath();
  const forget = (session: Session) => {
    sessions.delete(session);
    hub.drop(session);
  };

  /** Sets the session's caller from a token; a refused token leaves it anonymous and says why. */
  async function authenticate(session: Session, token: string | null | undefined, authRef?: number): Promise<void> {
    session.invoker = { type: 'anonymous' };
    if (!token || !context.engine) return;
    const ref = typeof authRef === 'number' ? { authRef } : {};
    try {
      session.invoker = await context.engine.authenticate(`Bearer ${token}`);
      session.send({ type: 'authAccepted', ...ref });
    } catch (error) {
      session.send({ type: 'authError', error: errorBodyOf(error), ...ref });
    }
  }

  /** Where the client's mutation sequence stands; sent once there is an engine to ask. */
  async function welcome(session: Session): Promise<void> {
    if (!context.engine || !session.clientId) return;
    session.welcomed = true;
    session.send({
      type: 'welcome',
      lastSeq: await lastSeq(context.engine.connections.autoCommit.sql, session.clientId, principalOf(session.invoker)),
    });
  }

  async function handle(session: Session, message: ClientMessage): Promise<void> {
    switch (message?.type) {
      case 'hello':
        session.clientId = String(message.clientId);
        session.pendingToken = message.token;
        session.pendingAuthRef = message.authRef;
        await authenticate(session, message.token, message.authRef);
        await welcome(session);
        return;
      case 'auth':
        await authenticate(session, message.token, message.authRef);
        // A new caller has a sequence of its own: tell the client where it stands.
        await welcome(session);
        hub.invalidate(session);
        return;
      case 'subscribe': {
        const id = String(message.id);
        if (hub.subscriptionCount(session) >= maxSubscriptions && !hub.holds(session, id)) {
          const error: ErrorBody = {
            code: 'too_many_subscriptions',
            message: `this connection already holds ${maxSubscriptions} live queries: unsubscribe from some first (the server's VALET_MAX_SUBSCRIPTIONS_PER_SOCKET)`,
          };
          return session.send({ type: 'update', id, error });
        }
        return hub.subscribe(session, id, String(message.path), message.args ?? {});
      }
      case 'unsubscribe':
        return hub.unsubscribe(session, String(message.id));
      case 'mutation': {
        if (!session.clientId)
          return session.send({
            type: 'mutationResult',
            seq: message.seq,
            status: 400,
            error: { code: 'invalid_request', message: 'say hello with a clientId first' },
          });
        const response = context.engine
          ? await context.engine.call({
              kind: 'mutation',
              path: message.path,
              args: message.args,
              invoker: session.invoker,
              external: true,
              client: { clientId: session.clientId, principal: principalOf(session.invoker), seq: message.seq },
              source: 'sync',
            })
          : notReady();
        // Updates this write caused go out first: when the promise resolves, queries show it.
        await hub.settled();
        const result =
          response.status === 200
            ? { value: (response.body as { value: unknown }).value }
            : { error: response.body as ErrorBody };
        session.send({ type: 'mutationResult', seq: message.seq, status: response.status, ...result });
        return;
      }
      default:
        session.send({
          type: 'error',
          error: {
            code: 'invalid_request',
            message: `unknown message type ${JSON.stringify((message as { type?: unknown })?.type)}`,
          },
        });
    }
  }

  // A peer that vanished without a close (a laptop lid, a dropped NAT entry) holds its socket and
  // subscriptions until TCP gives up, hours later: a ping it cannot answer ends it in two intervals.
  const answered = new WeakSet<WebSocket>();
  const pinger =
    pingIntervalMs > 0
      ? setInterval(() => {
          for (const client of sockets.clients) {
            if (!answered.has(client)) {
              client.terminate();
              continue;
            }
            answered.delete(client);
            client.ping();
          }
        }, pingIntervalMs)
      : null;
  pinger?.unref();

  sockets.on('connection', (socket: WebSocket) => {
    const session = new Session(socket, maxBuffered, forget, log);
    sessions.add(session);
    answered.add(socket);
    socket.on('pong', () => answered.add(socket));
    socket.on('message', (data) => {
      let message: ClientMessage;
      try {
        message = JSON.parse(String(data));
      } catch {
        return session.send({ type: 'error', error: { code: 'invalid_request', message: 'messages must be JSON' } });
      }
      session.enqueue(() => handle(session, message));
    });
    socket.on('close', () => forget(session));
    // A broken frame or a reset connection ends this session only, never the server.
    socket.on('error', () => socket.terminate());
  });

  const refuse = (socket: Duplex, body: ErrorBody) => {
    const text = JSON.stringify(body);
    const status = ERROR_CODES[body.code].status;
    socket.end(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(text)}\r\nconnection: close\r\n\r\n${text}`,
    );
  };

  const onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    if ((request.url ?? '').split('?')[0] !== '/api/sync')
      return refuse(socket, { code: 'not_found', message: 'WebSocket connections go to /api/sync' });
    const { host, origin } = request.headers;
    if (!isHostAllowed(context.policy, host))
      return refuse(socket, { code: 'host_not_allowed', message: hostRefusal(host) });
    if (!isOriginAllowed(context.policy, origin, host))
      return refuse(socket, {
        code: 'origin_not_allowed',
        message: originRefusal(origin ?? '', context.policy.mode),
      });
    sockets.handleUpgrade(request, socket, head, (ws) => sockets.emit('connection', ws, request));
  };
  server.on('upgrade', onUpgrade);

  return {
    async refreshAll() {
      // Clients that said hello before the first good build are answered now.
      for (const session of sessions) {
        if (session.welcomed || !session.clientId || !context.engine) continue;
        await authenticate(session, session.pendingToken, session.pendingAuthRef);
        await welcome(session);
      }
      await hub.refreshAll();
    },
    close(code: number = SYNC_CLOSE.goingAway) {
      server.off('upgrade', onUpgrade);
      if (pinger) clearInterval(pinger);
      hub.close();
      for (const client of sockets.clients) {
        client.close(code, 'the server is shutting down');
        setTimeout(() => client.terminate(), 1000).unref();
      }
      sockets.close();
    },
    get connections() {
      return sessions.size;
    },
    hub,
  };
}
