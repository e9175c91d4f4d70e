// Live queries, independent of how their results travel: each subscription remembers what its
// query read; a committed write marks the subscriptions it touches, and one flush re-runs them all
// in one read snapshot (identical reads answered once, and subscriptions to the same query, args
// and caller run once between them) and hands each subscriber its changed results in one batch.
// An unchanged result is not delivered again; each distinct result is serialised once.
import { findWireValueProblem } from '../../protocol/call.js';
import type { ErrorBody } from '../../protocol/errors.js';
import type { QueryUpdate } from '../../protocol/sync.js';
import type { Invoker } from '../../server/ctx.js';
import type { DocumentChange } from '../../storage/documents.js';
import type { Read } from '../../storage/read-set.js';
import { changeTouches } from '../../storage/read-set.js';
import type { CallRequest, CallResponse } from '../call/types.js';
import type { Engine } from '../engine.js';

/** One client connection's side of its live queries. */
export interface Subscriber {
  readonly invoker: Invoker;
  deliver(updates: QueryUpdate[]): void;
}

interface Subscription {
  subscriber: Subscriber;
  id: string;
  path: string;
  args: unknown;
  /** Its query and args, as part of the key that tells identical subscriptions apart. */
  queryKey: string;
  reads: Read[];
  lastSent: string | null;
  dirty: boolean;
  /**
   * Its first run has not answered yet: it has no reads to match writes against, so any write
   * committed meanwhile marks it, and it runs again once that first answer is out.
   */
  firstRun: boolean;
  /** Its last run failed for want of the database: it has no reads, so it runs again on a timer. */
  awaitingStorage: boolean;
}

/** Codes of a query that failed because the database was out of reach (it is run again). */
const STORAGE_CODES = new Set(['storage_unavailable', 'storage_full', 'conflict_retries', 'outcome_unknown']);
const RETRY_FIRST_MS = 250;
const RETRY_MAX_MS = 5_000;

/** A response's update payload and its JSON, made once however many subscribers get it. */
const serialised = new WeakMap<CallResponse, { payload: { value: unknown } | { error: ErrorBody }; text: string }>();

/** Who runs a query, as far as its answer can tell: the same caller with the same claims. */
const invokerKeys = new WeakMap<Invoker, string>();
function invokerKey(invoker: Invoker): string {
  let key = invokerKeys.get(invoker);
  if (key === undefined) invokerKeys.set(invoker, (key = JSON.stringify(invoker)));
  return key;
}

/** An update that carries its payload's JSON along (a private field: JSON.stringify never sees it). */
class PreparedUpdate implements QueryUpdate {
  readonly type = 'update' as const;
  value?: unknown;
  error?: ErrorBody;
  readonly #text: string;

  constructor(
    readonly id: string,
    payload: { value: unknown } | { error: ErrorBody },
    text: string,
  ) {
    if ('error' in payload) this.error = payload.error;
    else this.value = payload.value;
    this.#text = text;
  }

  static textOf(update: QueryUpdate): string | undefined {
    return update instanceof PreparedUpdate ? update.#text : undefined;
  }
}

/** The update as JSON, reusing the payload's serialisation when the hub made one. */
export function updateJson(update: QueryUpdate): string {
  const text = PreparedUpdate.textOf(update);
  if (text === undefined) return JSON.stringify(update);
  const rest = text.slice(1);
  return `{"type":"update","id":${JSON.stringify(update.id)}${rest === '}' ? '' : ','}${rest}`;
}

export class SubscriptionHub {
  private readonly bySubscriber = new Map<Subscriber, Map<string, Subscription>>();
  private flushing: Promise<void> | null = null;
  private attachedTo: Engine | null = null;
  private detach: (() => void) | null = null;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private retryDelay = RETRY_FIRST_MS;

  constructor(
    /** The engine serving now; null until a dev server's first good build. */
    private readonly currentEngine: () => Engine | null,
    /** What a subscription answers while there is no engine. */
    private readonly notReady: () => CallResponse,
    private readonly log: (line: string) => void,
  ) {}

  /** The engine, listening to its commits from the first time it is seen. */
  private engine(): Engine | null {
    const engine = this.currentEngine();
    if (engine && engine !== this.attachedTo) {
      this.detach?.();
      this.attachedTo = engine;
      this.detach = engine.connections.onCommit((changes) => this.onChanges(changes));
    }
    return engine;
  }

  private requestFor(subscription: Subscription): CallRequest {
    return {
      kind: 'query',
      path: subscription.path,
      args: subscription.args,
      invoker: subscription.subscriber.invoker,
      external: true,
      trackReads: true,
      source: 'sync',
      parent: null,
      // The first run answers the subscribe message; later ones are re-runs after writes.
      rerun: !subscription.firstRun,
    };
  }

  /** Live subscriptions per query path (metrics). */
  subscriptionsByPath(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const mine of this.bySubscriber.values())
      for (const subscription of mine.values()) counts.set(subscription.path, (counts.get(subscription.path) ?? 0) + 1);
    return counts;
  }

  /** Records a subscription's new result; returns the update to deliver, or null when unchanged. */
  private updateFor(subscription: Subscription, response: CallResponse): QueryUpdate | null {
    subscription.reads = response.reads ?? [];
    subscription.awaitingStorage = response.status !== 200 && STORAGE_CODES.has((response.body as ErrorBody).code);
    if (subscription.awaitingStorage) this.retryLater();
    let result = serialised.get(response);
    if (!result) {
      const payload =
        response.status === 200
          ? { value: (response.body as { value: unknown }).value }
          : { error: response.body as ErrorBody };
      result = { payload, text: JSON.stringify(payload) };
      serialised.set(response, result);
    }
    if (
      result.text === subscription.lastSent ||
      this.bySubscriber.get(subscription.subscriber)?.get(subscription.id) !== subscription
    )
      return null;
    subscription.lastSent = result.text;
    return new PreparedUpdate(subscription.id, result.payload, result.text);
  }

  subscriptionCount(subscriber: Subscriber): number {
    return this.bySubscriber.get(subscriber)?.size ?? 0;
  }

  holds(subscriber: Subscriber, id: string): boolean {
    return this.bySubscriber.get(subscriber)?.has(id) ?? false;
  }

  /** Adds (or replaces) a subscription and delivers its first result. */
  async subscribe(subscriber: Subscriber, id: string, path: string, args: unknown): Promise<void> {
    // Args too deep to key by (JSON.stringify would overflow the stack) share no run: the call refuses them with 400.
    const keyable = findWireValueProblem(args ?? null) === null;
    const queryKey = keyable ? `${path}\u0000${JSON.stringify(args ?? null)}` : `${path}\u0000invalid\u0000${id}`;
    const subscription: Subscription = {
      subscriber,
      id,
      path,
      args,
      queryKey,
      reads: [],
      lastSent: null,
      dirty: false,
      firstRun: true,
      awaitingStorage: false,
    };
    let mine = this.bySubscriber.get(subscriber);
    if (!mine) this.bySubscriber.set(subscriber, (mine = new Map()));
    mine.set(id, subscription);
    const engine = this.engine();
    let update: QueryUpdate | null;
    try {
      update = this.updateFor(
        subscription,
        engine ? await engine.call(this.requestFor(subscription)) : this.notReady(),
      );
    } finally {
      subscription.firstRun = false;
    }
    if (update) subscriber.deliver([update]);
    // A write committed while it ran may not be in what it read: run it again.
    if (subscription.dirty) this.scheduleFlush();
  }

  unsubscribe(subscriber: Subscriber, id: string): void {
    this.bySubscriber.get(subscriber)?.delete(id);
  }

  /** Forgets every subscription of a subscriber (its connection closed). */
  drop(subscriber: Subscriber): void {
    this.bySubscriber.delete(subscriber);
  }

  /** Re-runs a subscriber's queries (its caller changed), or everyone's (new code). */
  invalidate(subscriber?: Subscriber): void {
    const targets = subscriber ? [this.bySubscriber.get(subscriber)] : [...this.bySubscriber.values()];
    for (const mine of targets) for (const subscription of mine?.values() ?? []) subscription.dirty = true;
    this.scheduleFlush();
  }

  async refreshAll(): Promise<void> {
    if (!this.engine()) return;
    this.invalidate();
    await this.flushing;
  }

  /** Resolves once the updates of writes committed so far have been delivered. */
  async settled(): Promise<void> {
    const current = this.flushing;
    await current;
    // Writes committed during that flush are run by the one it scheduled next.
    if (this.flushing && this.flushing !== current) await this.flushing;
  }

  get subscriberCount(): number {
    return this.bySubscriber.size;
  }

  /** Committed document writes (from this process, or announced by another): marks what they touch. */
  onChanges(changes: DocumentChange[]): void {
    let any = false;
    const dialect = this.attachedTo?.connections.autoCommit.dialect;
    if (!dialect) return;
    const compare = dialect.compareFieldValues;
    for (const mine of this.bySubscriber.values()) {
      for (const subscription of mine.values()) {
        if (
          !subscription.dirty &&
          (subscription.firstRun || changes.some((change) => changeTouches(subscription.reads, change, compare)))
        ) {
          subscription.dirty = true;
          any = true;
        }
      }
    }
    if (any) this.scheduleFlush();
  }

  private scheduleFlush(): void {
    this.flushing ??= Promise.resolve()
      .then(() => this.flush())
      .catch((error: unknown) =>
        this.log(`live queries: re-running subscriptions failed: ${(error as Error)?.stack ?? String(error)}`),
      )
      .finally(() => {
        this.flushing = null;
        // Writes that landed while this flush ran marked subscriptions it had already taken: run again.
        if (this.anyDirty()) this.scheduleFlush();
      });
  }

  private anyDirty(): boolean {
    for (const mine of this.bySubscriber.values())
      for (const subscription of mine.values()) if (subscription.dirty && !subscription.firstRun) return true;
    return false;
  }

  /** Re-runs every dirty subscription in one snapshot; each subscriber gets its updates in one batch. */
  private async flush(): Promise<void> {
    const engine = this.engine();
    if (!engine) return;
    // A subscription still waiting for its first answer runs after it (its answers stay in order).
    const dirty = [...this.bySubscriber.values()].flatMap((mine) =>
      [...mine.values()].filter((s) => s.dirty && !s.firstRun),
    );
    if (dirty.length === 0) return;
    for (const subscription of dirty) subscription.dirty = false;
    // One run per distinct query, args and caller: its answer is every such subscriber's.
    const runs = new Map<string, number>();
    const requests: CallRequest[] = [];
    const runOf = dirty.map((subscription) => {
      const key = `${subscription.queryKey}\u0000${invokerKey(subscription.subscriber.invoker)}`;
      let index = runs.get(key);
      if (index === undefined) {
        index = requests.push(this.requestFor(subscription)) - 1;
        runs.set(key, index);
      }
      return index;
    });
    let responses: CallResponse[];
    try {
      responses = await engine.callQueries(requests);
    } catch (error) {
      // No snapshot to be had (the database is out of reach): these run again a little later.
      for (const subscription of dirty) subscription.awaitingStorage = true;
      this.retryLater();
      throw error;
    }
    const batches = new Map<Subscriber, QueryUpdate[]>();
    dirty.forEach((subscription, i) => {
      const update = this.updateFor(subscription, responses[runOf[i]!]!);
      if (!update) return;
      const batch = batches.get(subscription.subscriber);
      if (batch) batch.push(update);
      else batches.set(subscription.subscriber, [update]);
    });
    for (const [subscriber, updates] of batches) subscriber.deliver(updates);
    if (!dirty.some((subscription) => subscription.awaitingStorage)) this.retryDelay = RETRY_FIRST_MS;
  }

  /**
   * Runs the subscriptions that failed for want of the database again after a backoff (they have
   * no reads for a write to touch), doubling while the database stays away.
   */
  private retryLater(): void {
    if (this.retryTimer) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      let any = false;
      for (const mine of this.bySubscriber.values()) {
        for (const subscription of mine.values()) {
          if (!subscription.awaitingStorage) continue;
          subscription.awaitingStorage = false;
          subscription.dirty = true;
          any = true;
        }
      }
      if (any) this.scheduleFlush();
    }, this.retryDelay);
    this.retryTimer.unref?.();
    this.retryDelay = Math.min(this.retryDelay * 2, RETRY_MAX_MS);
  }

  close(): void {
    this.detach?.();
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.bySubscriber.clear();
  }
}
