// Reactive queries and queued mutations over one WebSocket per client (/api/sync).
// A subscription remembers what its query read; a committed write re-runs only the subscriptions
// whose reads it touches, and an unchanged result is not re-sent. A client's mutation result is
// sent after the updates it caused on that connection, so its promise resolves with the client's
// queries already showing the write (read-your-writes).
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import type { WebSocket } from 'ws';
import type { Invoker } from '../server/ctx.js';
import type { DocumentChange } from '../storage/documents.js';
import type { Read } from '../storage/read-set.js';
import { changeTouches } from '../storage/read-set.js';
import type { Engine } from '../runtime/engine.js';
import type { CallResponse } from '../runtime/invoke.js';
import { lastSeq } from '../runtime/client-sequence.js';
import type { HttpContext } from './http.js';

type ClientMessage =
  | { type: 'hello'; clientId: string; token?: string | null }
  | { type: 'auth'; token: string | null }
  | { type: 'subscribe'; id: string; path: string; args: unknown }
  | { type: 'unsubscribe'; id: string }
  | { type: 'mutation'; seq: number; path: string; args: unknown };

interface Subscription {
  id: string;
  path: string;
  args: unknown;
  reads: Read[];
  lastSent: string | null;
  dirty: boolean;
}

class Session {
  clientId: string | null = null;
  invoker: Invoker = { type: 'anonymous' };
  readonly subscriptions = new Map<string, Subscription>();
  /** Messages are handled one after another, so a client's mutations apply in the order sent. */
  private chain: Promise<void> = Promise.resolve();

  constructor(readonly socket: WebSocket) {}

  send(message: object): void {
    if (this.socket.readyState === this.socket.OPEN) this.socket.send(JSON.stringify(message));
  }

  enqueue(work: () => Promise<void>): void {
    this.chain = this.chain.then(work).catch((error: Error) => this.send({ type: 'error', message: error.message }));
  }
}

export interface SyncServer {
  /** Re-runs every subscription (after a dev reload: new code may answer differently). */
  refreshAll(): Promise<void>;
  close(): void;
}

export function attachSync(server: Server, context: HttpContext): SyncServer {
  const sockets = new WebSocketServer({ noServer: true, maxPayload: 4 * 1024 * 1024 });
  const sessions = new Set<Session>();
  let flushing: Promise<void> | null = null;
  let detach: (() => void) | null = null;
  let attachedTo: Engine | null = null;

  const engine = (): Engine => {
    if (!context.engine) throw new Error(context.notReadyReason ?? 'the app is not built yet');
    // The engine appears after the first good build in dev: listen to its commits from then on.
    if (attachedTo !== context.engine) {
      detach?.();
      attachedTo = context.engine;
      detach = context.engine.connections.onCommit(onCommit);
    }
    return context.engine;
  };

  const requestFor = (session: Session, subscription: Subscription) =>
    ({ kind: 'query', path: subscription.path, args: subscription.args, invoker: session.invoker, external: true, trackReads: true }) as const;

  /** Records a subscription's new result; returns the update to send, or null when it is unchanged. */
  function updateFor(session: Session, subscription: Subscription, response: CallResponse): object | null {
    subscription.reads = response.reads ?? [];
    const payload = response.status === 200 ? { value: (response.body as { value: unknown }).value } : { error: response.body };
    const text = JSON.stringify(payload);
    if (text === subscription.lastSent || !session.subscriptions.has(subscription.id)) return null;
    subscription.lastSent = text;
    return { type: 'update', id: subscription.id, ...payload };
  }

  async function run(session: Session, subscription: Subscription): Promise<object | null> {
    subscription.dirty = false;
    return updateFor(session, subscription, await engine().call(requestFor(session, subscription)));
  }

  /** Re-runs every dirty subscription in one snapshot; each connection gets its updates in one message. */
  async function flush(): Promise<void> {
    const dirty = [...sessions].flatMap((session) => [...session.subscriptions.values()].filter((s) => s.dirty).map((subscription) => ({ session, subscription })));
    if (dirty.length === 0) return;
    for (const { subscription } of dirty) subscription.dirty = false;
    const responses = await engine().callQueries(dirty.map(({ session, subscription }) => requestFor(session, subscription)));
    const bySession = new Map<Session, object[]>();
    dirty.forEach(({ session, subscription }, i) => {
      const update = updateFor(session, subscription, responses[i]!);
      if (update) bySession.set(session, [...(bySession.get(session) ?? []), update]);
    });
    for (const [session, updates] of bySession) session.send(updates.length === 1 ? updates[0]! : { type: 'updates', updates });
  }

  function scheduleFlush(): void {
    flushing ??= Promise.resolve()
      .then(flush)
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

  async function authenticate(session: Session, token: string | null | undefined): Promise<void> {
    session.invoker = await engine().authenticate(token ? `Bearer ${token}` : null);
  }

  async function handle(session: Session, message: ClientMessage): Promise<void> {
    switch (message.type) {
      case 'hello': {
        session.clientId = String(message.clientId);
        try {
          await authenticate(session, message.token);
        } catch (error) {
          session.send({ type: 'authError', error: (error as { toJSON?: () => object }).toJSON?.() ?? { message: String(error) } });
        }
        session.send({ type: 'welcome', lastSeq: lastSeq(engine().connections.autoCommitReader, session.clientId) });
        return;
      }
      case 'auth':
        try {
          await authenticate(session, message.token);
        } catch (error) {
          session.send({ type: 'authError', error: (error as { toJSON?: () => object }).toJSON?.() ?? { message: String(error) } });
        }
        for (const subscription of session.subscriptions.values()) subscription.dirty = true;
        scheduleFlush();
        return;
      case 'subscribe': {
        const subscription: Subscription = { id: String(message.id), path: message.path, args: message.args ?? {}, reads: [], lastSent: null, dirty: true };
        session.subscriptions.set(subscription.id, subscription);
        const update = await run(session, subscription);
        if (update) session.send(update);
        return;
      }
      case 'unsubscribe':
        session.subscriptions.delete(String(message.id));
        return;
      case 'mutation': {
        if (!session.clientId) return session.send({ type: 'mutationResult', seq: message.seq, status: 400, error: { code: 'invalid_request', message: 'say hello with a clientId first' } });
        const response = await engine().call({
          kind: 'mutation',
          path: message.path,
          args: message.args,
          invoker: session.invoker,
          external: true,
          client: { clientId: session.clientId, seq: message.seq },
        });
        // Updates this write caused go out first: when the promise resolves, queries show it.
        await flushing;
        const result = response.status === 200 ? { value: (response.body as { value: unknown }).value } : { error: response.body };
        session.send({ type: 'mutationResult', seq: message.seq, status: response.status, ...result });
        return;
      }
      default:
        session.send({ type: 'error', message: `unknown message type ${JSON.stringify((message as { type?: unknown }).type)}` });
    }
  }

  sockets.on('connection', (socket: WebSocket) => {
    const session = new Session(socket);
    sessions.add(session);
    socket.on('message', (data) => {
      let message: ClientMessage;
      try {
        message = JSON.parse(String(data));
      } catch {
        return session.send({ type: 'error', message: 'messages must be JSON' });
      }
      session.enqueue(() => handle(session, message));
    });
    socket.on('close', () => sessions.delete(session));
    // A broken frame or a reset connection ends this session only, never the server.
    socket.on('error', () => socket.terminate());
  });

  const onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    if ((request.url ?? '').split('?')[0] !== '/api/sync') return void socket.destroy();
    sockets.handleUpgrade(request, socket, head, (ws) => sockets.emit('connection', ws, request));
  };
  server.on('upgrade', onUpgrade);

  return {
    async refreshAll() {
      if (!context.engine) return;
      for (const session of sessions) for (const subscription of session.subscriptions.values()) subscription.dirty = true;
      scheduleFlush();
      await flushing;
    },
    close() {
      server.off('upgrade', onUpgrade);
      detach?.();
      for (const client of sockets.clients) client.terminate();
      sockets.close();
    },
  };
}
