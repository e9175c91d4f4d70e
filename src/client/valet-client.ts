// ValetClient: one WebSocket for live queries and queued mutations, HTTP for one-shot queries and
// for actions (never queued). Pending mutations are persisted with sequential ids and resent after
// every reconnect; the server applies each exactly once and in order. The queue survives every
// answer: a transient one (503/507, a dropped socket, no answer in time) keeps the mutation and
// resends it with backoff under the same number; `out_of_order` re-aligns with the server at once;
// a refusal rejects that mutation (and tells onMutationError) and the queue moves on.
import { type ErrorCode, PASSING_CODES } from '../protocol/error-codes.js';
import type { ErrorBody } from '../protocol/errors.js';
import type { ClientMessage, QueryUpdate, ServerMessage } from '../protocol/sync.js';
import { decodeValue, encodeValue } from '../protocol/values.js';
import type {
  ArgsOfRef,
  FunctionReference,
  OptionalArgs,
  OptionalArgsAnd,
  ReturnsOfRef,
} from '../server/references.js';
import { ClientAuth } from './auth.js';
import type { AuthState, FetchToken } from './auth.js';
import { PaginatedQuery } from './paginated.js';
import type { PaginatedState } from './paginated.js';
import { ValetClientError } from './errors.js';
import { LocalStore, queryKey } from './local-store.js';
import type { OptimisticUpdate } from './local-store.js';
import { defaultStorage } from './storage.js';
import type { MutationStorage, PendingMutation, QueueState } from './storage.js';

type Token = string | null | undefined;

export interface ValetClientOptions {
  /** The bearer token to send (called on every connect and HTTP call); `setAuth` is the fuller way. */
  auth?: () => Token | Promise<Token>;
  /** Where pending mutations are kept: IndexedDB in browsers, memory otherwise (FileMutationStorage in Node). */
  storage?: MutationStorage;
  /** A WebSocket implementation; browsers have one, Node 20 uses the `ws` package (loaded on demand). */
  WebSocket?: typeof WebSocket;
  /** Retries for safeToRetry actions on network failures and 5xx (default 4 attempts, 200 ms doubling). */
  actionRetries?: { attempts?: number; baseDelayMs?: number };
  /** Delay before reconnecting after the connection drops (doubles up to 5 s). */
  reconnectDelayMs?: number;
  /** How long a sent mutation may go unanswered before the queue is sent again (default 30 s). */
  mutationTimeoutMs?: number;
  /** First delay before resending after a transient answer (doubles up to 5 s; default 250 ms). */
  mutationRetryDelayMs?: number;
  /** Told of every queued mutation the server refused (its promise rejects too). */
  onMutationError?: (error: ValetClientError, mutation: { path: string; args: unknown }) => void;
}

/** Answers that decided nothing: the mutation stays queued and is sent again. */
function isTransient(status: number): boolean {
  return status === 503 || status === 507;
}

type Listener = (value: unknown, error?: ValetClientError) => void;

/** The item type of a paginated query's pages. */
export type PaginatedItem<Ref extends FunctionReference<'query'>> =
  ReturnsOfRef<Ref> extends { page: (infer Item)[] } ? Item : unknown;

interface LiveQuery {
  id: string;
  path: string;
  args: unknown;
  listeners: Set<Listener>;
  error?: ValetClientError;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function randomId(): string {
  return globalThis.crypto?.randomUUID?.() ?? `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
}

export class ValetClient {
  readonly url: string;
  private readonly options: ValetClientOptions;
  private readonly storage: MutationStorage;
  private queue: QueueState | null = null;
  private readonly loaded: Promise<void>;
  private socket: WebSocket | null = null;
  private connected = false;
  private closed = false;
  private reconnectDelay: number;
  private readonly live = new Map<string, LiveQuery>();
  private readonly waiting = new Map<
    number,
    { resolve: (value: unknown) => void; reject: (error: ValetClientError) => void }
  >();
  private readonly local: LocalStore;
  private readonly pendingListeners = new Set<(pending: number) => void>();
  private readonly connectionListeners = new Set<(connected: boolean) => void>();
  private readonly errorListeners = new Set<(error: ValetClientError) => void>();
  /** Whether the current socket has been welcomed (subscriptions are sent once per socket). */
  private welcomed = false;
  /** A re-alignment (hello → welcome → the queue resent) is on its way. */
  private realigning = false;
  /** A resend after a transient answer is waiting out its backoff. */
  private resendTimer: ReturnType<typeof setTimeout> | null = null;
  private resendDelay: number;
  /** Fires when a sent mutation went unanswered too long. */
  private answerTimer: ReturnType<typeof setTimeout> | null = null;
  private readonly mutationErrorListeners = new Set<
    (error: ValetClientError, mutation: { path: string; args: unknown }) => void
  >();
  /** Set by setAuth: fetches, refreshes and re-sends the token. */
  private auth: ClientAuth | null = null;
  /** Tokens sent on the socket by the authRef their answer will carry. */
  private readonly sentTokens = new Map<number, string>();
  private nextAuthRef = 1;
  private readonly authListeners = new Set<(state: AuthState) => void>();

  constructor(url: string, options: ValetClientOptions = {}) {
    this.url = url.replace(/\/$/, '');
    this.options = options;
    this.storage = options.storage ?? defaultStorage();
    this.reconnectDelay = options.reconnectDelayMs ?? 250;
    this.resendDelay = options.mutationRetryDelayMs ?? 250;
    if (options.onMutationError) this.mutationErrorListeners.add(options.onMutationError);
    this.local = new LocalStore((key, value) => {
      const query = this.live.get(key);
      if (query) for (const listener of query.listeners) listener(value, query.error);
    });
    this.loaded = this.storage.load().then((state) => {
      this.queue = state ?? { clientId: randomId(), nextSeq: 1, pending: [] };
      this.notifyPending();
    });
    void this.loaded.then(() => this.connect());
  }

  /** The id this client's queue is applied under on the server. */
  async clientId(): Promise<string> {
    await this.loaded;
    return this.queue!.clientId;
  }

  get pendingMutations(): number {
    return this.queue?.pending.length ?? 0;
  }

  get isConnected(): boolean {
    return this.connected;
  }

  onPendingChange(listener: (pending: number) => void): () => void {
    this.pendingListeners.add(listener);
    return () => this.pendingListeners.delete(listener);
  }

  onConnectionChange(listener: (connected: boolean) => void): () => void {
    this.connectionListeners.add(listener);
    return () => this.connectionListeners.delete(listener);
  }

  /**
   * Problems the server reports outside any one call: a refused token (the connection goes on as
   * anonymous: \`code\` says why) or a message it could not handle. Without a listener they are
   * logged with console.warn, never dropped.
   */
  onError(listener: (error: ValetClientError) => void): () => void {
    this.errorListeners.add(listener);
    return () => this.errorListeners.delete(listener);
  }

  /**
   * Queued mutations the server refused (a 4xx, or the function's own error): each also rejects
   * its promise, but after a reload nobody holds that promise, so this is where an app hears it.
   * Without a listener (and without a waiting promise) they are logged with console.warn.
   */
  onMutationError(listener: (error: ValetClientError, mutation: { path: string; args: unknown }) => void): () => void {
    this.mutationErrorListeners.add(listener);
    return () => this.mutationErrorListeners.delete(listener);
  }

  private reportError(body: ErrorBody | undefined): void {
    const error = ValetClientError.from(body);
    if (this.errorListeners.size === 0) console.warn(`valet: ${error.code}: ${error.message}`);
    for (const listener of this.errorListeners) listener(error);
  }

  private notifyPending(): void {
    for (const listener of this.pendingListeners) listener(this.pendingMutations);
  }

  private async token(): Promise<Token> {
    if (this.auth) return this.auth.current();
    return (await this.options.auth?.()) ?? null;
  }

  /**
   * Signs the client in with tokens from `fetchToken` (Convex's setAuth): sent on every request and
   * on the live connection (live queries re-run as the new caller), refreshed a minute before they
   * expire, and fetched again with `forceRefreshToken: true` once when the server refuses one.
   * `onChange` hears whether the server accepted it; so do useValetAuth and <Authenticated>.
   */
  setAuth(fetchToken: FetchToken, onChange?: (isAuthenticated: boolean) => void): void {
    this.auth?.stop();
    const auth = new ClientAuth(
      fetchToken,
      (token) => {
        if (this.auth === auth) this.send({ type: 'auth', token, authRef: this.authRefFor(token) });
      },
      (state) => {
        if (this.auth !== auth) return;
        if (!state.isLoading) onChange?.(state.isAuthenticated);
        for (const listener of this.authListeners) listener(state);
      },
    );
    this.auth = auth;
    for (const listener of this.authListeners) listener(auth.state);
  }

  /** A number the server echoes with its answer to this token. */
  private authRefFor(token: Token): number | undefined {
    if (!token) return undefined;
    const ref = this.nextAuthRef++;
    this.sentTokens.set(ref, token);
    // Answers come back in order; a bounded map forgets the unanswered (a closed socket's).
    if (this.sentTokens.size > 20) this.sentTokens.delete(this.sentTokens.keys().next().value!);
    return ref;
  }

  /** The token an answer is about (the current one, from a server that does not echo authRef). */
  private answeredToken(authRef: number | undefined): string | null | undefined {
    if (authRef === undefined) return undefined;
    const token = this.sentTokens.get(authRef) ?? null;
    this.sentTokens.delete(authRef);
    return token;
  }

  /** Signs the client out: no token from now on, and live queries re-run as anonymous. */
  clearAuth(): void {
    this.auth?.stop();
    this.auth = null;
    this.send({ type: 'auth', token: null });
    for (const listener of this.authListeners) listener(this.authState);
  }

  /** Whether a token is on its way and whether the server accepted it (signed out without setAuth). */
  get authState(): AuthState {
    return this.auth?.state ?? { isLoading: false, isAuthenticated: false };
  }

  onAuthChange(listener: (state: AuthState) => void): () => void {
    this.authListeners.add(listener);
    return () => this.authListeners.delete(listener);
  }

  private async post(
    kind: 'query' | 'action',
    path: string,
    args: unknown,
    headers: Record<string, string> = {},
  ): Promise<Response> {
    const send = (token: Token) =>
      fetch(`${this.url}/api/${kind}`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(token ? { authorization: `Bearer ${token}` } : {}),
          ...headers,
        },
        body: JSON.stringify({ path, args: encodeValue(args ?? {}) }),
      });
    const token = await this.token();
    const response = await send(token);
    // A refused token (expired early, revoked, keys rotated): one fresh token, one more try.
    if (response.status !== 401 || !this.auth || !token) return response;
    const body = (await response
      .clone()
      .json()
      .catch(() => null)) as { code?: string } | null;
    if (!body?.code?.startsWith('token_')) return response;
    const fresh = await this.auth.afterUnauthorized(token);
    return fresh ? send(fresh) : response;
  }

  /** A one-shot query over HTTP. */
  async query<Ref extends FunctionReference<'query'>>(
    ref: Ref,
    ...rest: OptionalArgs<Ref>
  ): Promise<ReturnsOfRef<Ref>> {
    const response = await this.post('query', ref.path, rest[0] ?? {});
    const body = (await response.json()) as { value?: unknown };
    if (!response.ok) throw ValetClientError.from(body, response.status);
    return decodeValue(body.value) as ReturnsOfRef<Ref>;
  }

  /**
   * Runs an action over HTTP with an idempotency key (a fresh one per call unless given). A
   * safeToRetry action is retried under the same key on network failures and 5xx; any other
   * action fails at once, since it may or may not have run.
   */
  async invokeAction<Ref extends FunctionReference<'action'>>(
    ref: Ref,
    ...rest: OptionalArgsAnd<Ref, { idempotencyKey?: string }>
  ): Promise<ReturnsOfRef<Ref>> {
    const args = rest[0] ?? {};
    const options = rest[1] ?? {};
    const key = options.idempotencyKey ?? randomId();
    const attempts = ref.safeToRetry ? (this.options.actionRetries?.attempts ?? 4) : 1;
    let delay = this.options.actionRetries?.baseDelayMs ?? 200;
    for (let attempt = 1; ; attempt++) {
      let response: Response;
      try {
        response = await this.post('action', ref.path, args, { 'idempotency-key': key });
      } catch (error) {
        if (attempt >= attempts) {
          throw new ValetClientError(
            'connection_lost',
            `the connection failed while ${ref.path} was running${ref.safeToRetry ? '' : '; it may or may not have run, and it is not safeToRetry, so it was not retried'} (${(error as Error).message})`,
          );
        }
        await sleep(delay);
        delay *= 2;
        continue;
      }
      const body = (await response.json()) as { value?: unknown };
      if (response.ok) return decodeValue(body.value) as ReturnsOfRef<Ref>;
      const retryable = response.status >= 500 || response.status === 409;
      if (!retryable || attempt >= attempts) throw ValetClientError.from(body, response.status);
      await sleep(delay);
      delay *= 2;
    }
  }

  /**
   * Queues a mutation (persisted) and sends it when connected. Resolves with its result once the
   * client's live queries already reflect it; rejects with the server's error (the queue moves on).
   */
  mutation<Ref extends FunctionReference<'mutation'>>(
    ref: Ref,
    ...rest: OptionalArgsAnd<Ref, { optimisticUpdate?: OptimisticUpdate }>
  ): Promise<ReturnsOfRef<Ref>> {
    const args = rest[0];
    const options = rest[1] ?? {};
    const enqueue = (): Promise<ReturnsOfRef<Ref>> => {
      const queue = this.queue!;
      const pending: PendingMutation = { seq: queue.nextSeq++, path: ref.path, args: encodeValue(args ?? {}) };
      queue.pending.push(pending);
      // The optimistic update shows at once; the mutation is sent once it is safely persisted.
      if (options.optimisticUpdate) this.local.addOptimistic(pending.seq, options.optimisticUpdate);
      this.notifyPending();
      const result = new Promise<ReturnsOfRef<Ref>>((resolve, reject) =>
        this.waiting.set(pending.seq, { resolve: resolve as (v: unknown) => void, reject }),
      );
      void this.storage.save(queue).then(() => {
        if (this.connected && queue.pending.includes(pending)) this.sendMutation(pending);
      });
      return result;
    };
    return this.queue ? enqueue() : this.loaded.then(enqueue);
  }

  /** Live results of a query; `onUpdate` runs with each new value. Returns the unsubscribe. */
  subscribe<Ref extends FunctionReference<'query'>>(
    ref: Ref,
    args: ArgsOfRef<Ref>,
    onUpdate: (value: ReturnsOfRef<Ref>, error?: ValetClientError) => void,
  ): () => void {
    const wireArgs = encodeValue(args ?? {});
    const key = queryKey(ref.path, wireArgs);
    let query = this.live.get(key);
    if (!query) {
      query = { id: key, path: ref.path, args: wireArgs, listeners: new Set() };
      this.live.set(key, query);
      this.send({ type: 'subscribe', id: key, path: query.path, args: query.args });
    } else if (this.local.has(key)) {
      onUpdate(this.local.get(key) as ReturnsOfRef<Ref>, query.error);
    }
    const listener = onUpdate as Listener;
    query.listeners.add(listener);
    return () => {
      query!.listeners.delete(listener);
      if (query!.listeners.size === 0) {
        this.live.delete(key);
        this.local.forget(key);
        this.send({ type: 'unsubscribe', id: key });
      }
    };
  }

  /**
   * A live paginated list of a query whose args take `paginationOpts` (and whose handler returns
   * `ctx.db.query(...).paginate(args.paginationOpts)`): `onChange` gets `{ results, status }`
   * whenever any loaded row changes; `loadMore(n)` loads n more. Every loaded row stays live.
   */
  subscribePaginated<Ref extends FunctionReference<'query'>>(
    ref: Ref,
    args: Omit<ArgsOfRef<Ref>, 'paginationOpts'>,
    options: { initialNumItems: number },
    onChange: (state: PaginatedState<PaginatedItem<Ref>>) => void,
  ): { loadMore(numItems: number): boolean; readonly state: PaginatedState<PaginatedItem<Ref>>; unsubscribe(): void } {
    const query = new PaginatedQuery<PaginatedItem<Ref>>(
      (pageArgs, onUpdate) => this.subscribe(ref, pageArgs as never, onUpdate as never),
      args as Record<string, unknown>,
      options.initialNumItems,
      onChange,
    );
    return {
      loadMore: (numItems) => query.loadMore(numItems),
      get state() {
        return query.state;
      },
      unsubscribe: () => query.stop(),
    };
  }

  /** The current value of a live query (undefined until the first result). */
  currentValue(path: string, args: unknown): unknown {
    return this.local.get(queryKey(path, encodeValue(args)));
  }

  private send(message: ClientMessage): void {
    if (this.socket && this.socket.readyState === 1) this.socket.send(JSON.stringify(message));
  }

  private sendMutation(pending: PendingMutation): void {
    if (!this.socket || this.socket.readyState !== 1) return;
    this.send({ type: 'mutation', seq: pending.seq, path: pending.path, args: pending.args });
    this.armAnswerTimer();
  }

  /** While mutations are out, an answer must come within the timeout, or the queue goes again. */
  private armAnswerTimer(): void {
    if (this.answerTimer) clearTimeout(this.answerTimer);
    this.answerTimer = null;
    if (this.closed || this.queue!.pending.length === 0) return;
    this.answerTimer = setTimeout(() => {
      this.answerTimer = null;
      if (this.queue!.pending.length > 0) this.realign();
    }, this.options.mutationTimeoutMs ?? 30_000);
  }

  /**
   * Asks the server where this client's sequence stands (hello again on the open socket); its
   * welcome re-aligns the queue and resends it. One at a time; without a socket, the reconnect does it.
   */
  private realign(): void {
    if (this.realigning || !this.socket || this.socket.readyState !== 1) return;
    this.realigning = true;
    void this.token().then((token) =>
      this.send({ type: 'hello', clientId: this.queue!.clientId, token, authRef: this.authRefFor(token) }),
    );
  }

  /** After a transient answer: resend later, each time waiting longer (up to 5 s). */
  private scheduleResend(): void {
    if (this.resendTimer || this.closed) return;
    this.resendTimer = setTimeout(() => {
      this.resendTimer = null;
      this.realign();
    }, this.resendDelay);
    this.resendDelay = Math.min(this.resendDelay * 2, 5000);
  }

  private async webSocketClass(): Promise<typeof WebSocket> {
    if (this.options.WebSocket) return this.options.WebSocket;
    if (typeof globalThis.WebSocket === 'function') return globalThis.WebSocket;
    const specifier = 'ws';
    return ((await import(/* @vite-ignore */ specifier)) as { WebSocket: typeof WebSocket }).WebSocket;
  }

  private async connect(): Promise<void> {
    if (this.closed) return;
    const Socket = await this.webSocketClass();
    const socket = new Socket(`${this.url.replace(/^http/, 'ws')}/api/sync`);
    this.socket = socket;
    socket.onopen = async () => {
      this.welcomed = false;
      const token = await this.token();
      socket.send(
        JSON.stringify({
          type: 'hello',
          clientId: this.queue!.clientId,
          token,
          authRef: this.authRefFor(token),
        } satisfies ClientMessage),
      );
      // Live queries need no sequence: they go at once (a server still building answers them when it can).
      for (const query of this.live.values())
        socket.send(
          JSON.stringify({
            type: 'subscribe',
            id: query.id,
            path: query.path,
            args: query.args,
          } satisfies ClientMessage),
        );
    };
    socket.onmessage = (event) => this.receive(JSON.parse(String(event.data)) as ServerMessage);
    socket.onclose = () => {
      const wasConnected = this.connected;
      this.connected = false;
      // The reconnect's welcome resends the queue.
      this.realigning = false;
      if (this.socket === socket) this.socket = null;
      if (wasConnected) for (const listener of this.connectionListeners) listener(false);
      if (this.closed) return;
      setTimeout(() => void this.connect(), this.reconnectDelay);
      this.reconnectDelay = Math.min(this.reconnectDelay * 2, 5000);
    };
    socket.onerror = () => undefined;
  }

  private receive(message: ServerMessage): void {
    switch (message.type) {
      case 'welcome': {
        this.realigning = false;
        this.alignQueue(message.lastSeq);
        if (!this.welcomed) {
          this.welcomed = true;
          this.connected = true;
          this.reconnectDelay = this.options.reconnectDelayMs ?? 250;
          for (const listener of this.connectionListeners) listener(true);
        }
        // The queue after the queries: resends the server already applied come back as duplicates.
        for (const pending of this.queue!.pending) this.sendMutation(pending);
        return;
      }
      case 'update':
        return this.applyUpdates([message]);
      case 'updates':
        return this.applyUpdates(message.updates);
      case 'mutationResult':
        void this.settle(message);
        return;
      case 'authAccepted':
        this.auth?.accepted(this.answeredToken(message.authRef));
        return;
      case 'authError':
        // With setAuth, a refused token is fetched again once before it counts as an error.
        if (this.auth) {
          void this.auth.refused(this.answeredToken(message.authRef)).then((retrying) => {
            if (!retrying) this.reportError(message.error);
          });
          return;
        }
        this.reportError(message.error);
        return;
      case 'error':
        // The server could not answer our hello for want of its database: say hello again later.
        if (PASSING_CODES.has(message.error?.code as ErrorCode) && (!this.welcomed || this.realigning)) {
          this.realigning = false;
          return this.scheduleResend();
        }
        this.reportError(message.error);
        return;
      default:
        return;
    }
  }

  /**
   * The server's sequence for this client and caller may be behind the queue's numbers: a new
   * caller (signed in as someone else) or a fresh database knows none of them. Mutations the
   * server never saw are numbered on from where it stands, so they are not refused as a gap.
   */
  private alignQueue(lastSeq: number): void {
    const queue = this.queue!;
    const first = queue.pending[0]?.seq ?? queue.nextSeq;
    if (first <= lastSeq + 1) {
      if (queue.pending.length === 0 && queue.nextSeq <= lastSeq) queue.nextSeq = lastSeq + 1;
      return;
    }
    const renumbered = new Map<number, number>();
    queue.pending.forEach((pending, i) => {
      renumbered.set(pending.seq, lastSeq + 1 + i);
      pending.seq = lastSeq + 1 + i;
    });
    queue.nextSeq = lastSeq + 1 + queue.pending.length;
    const waiting = [...this.waiting];
    this.waiting.clear();
    for (const [seq, waiter] of waiting) this.waiting.set(renumbered.get(seq) ?? seq, waiter);
    this.local.renumber(renumbered);
    void this.storage.save(queue);
  }

  private applyUpdates(updates: QueryUpdate[]): void {
    const values: [string, unknown][] = [];
    const failed: LiveQuery[] = [];
    for (const update of updates) {
      const query = this.live.get(update.id);
      if (!query) continue;
      query.error = update.error === undefined ? undefined : ValetClientError.from(update.error);
      values.push([update.id, update.error === undefined ? decodeValue(update.value) : undefined]);
      // The local store tells listeners when the value changes; an error on top of no value yet must be told here.
      if (query.error && this.local.has(update.id) && this.local.get(update.id) === undefined) failed.push(query);
    }
    this.local.setServerValues(values);
    for (const query of failed) for (const listener of query.listeners) listener(undefined, query.error);
  }

  private async settle(message: Extract<ServerMessage, { type: 'mutationResult' }>): Promise<void> {
    const queue = this.queue!;
    const index = queue.pending.findIndex((p) => p.seq === message.seq);
    if (index === -1) return;
    this.armAnswerTimer();
    // An earlier one did not land (its answer was transient, or lost): line up with the server now,
    // unless a resend is already on its way.
    if (message.status === 409 && message.error?.code === 'out_of_order') {
      if (!this.resendTimer) this.realign();
      return;
    }
    if (isTransient(message.status)) return this.scheduleResend();
    this.resendDelay = this.options.mutationRetryDelayMs ?? 250;
    const [pending] = queue.pending.splice(index, 1);
    await this.storage.save(queue);
    this.local.dropOptimistic(message.seq);
    this.notifyPending();
    const waiter = this.waiting.get(message.seq);
    this.waiting.delete(message.seq);
    if (message.status === 200) return waiter?.resolve(decodeValue(message.value));
    const error = ValetClientError.from(message.error, message.status);
    waiter?.reject(error);
    for (const listener of this.mutationErrorListeners)
      listener(error, { path: pending!.path, args: decodeValue(pending!.args) });
    if (!waiter && this.mutationErrorListeners.size === 0)
      console.warn(`valet: queued mutation ${pending!.path} was refused: ${error.code}: ${error.message}`);
  }

  /** Sends the current token again (after sign-in or refresh); live queries re-run as the new caller. */
  async reauthenticate(): Promise<void> {
    this.send({ type: 'auth', token: (await this.token()) ?? null });
  }

  close(): void {
    this.closed = true;
    this.auth?.stop();
    if (this.resendTimer) clearTimeout(this.resendTimer);
    if (this.answerTimer) clearTimeout(this.answerTimer);
    this.socket?.close();
  }
}
