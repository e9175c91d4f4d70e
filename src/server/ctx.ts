// What each function kind receives as `ctx`. The engine provides the implementations.
import type { ActionDatabase, DatabaseReader, DatabaseWriter } from './database.js';
import type { FunctionReference } from './references.js';
import type { GenericDataModel } from './schema.js';
import type { GenericId } from './values.js';

export type Invoker =
  | { type: 'user'; userId: string; claims: Record<string, unknown> }
  | { type: 'anonymous' }
  | {
      type: 'system';
      source: 'cron' | 'scheduler' | 'admin';
      /** The cron job's name, for cron-dispatched calls. */
      job?: string;
      scheduledAt?: number;
      dispatchedAt?: number;
      /** Set on the one run that stands for runs missed while the server was down. */
      catchUp?: boolean;
      missedRuns?: number;
    };

export type EmailMessage = {
  to: string | string[];
  subject: string;
  /** Makes the enqueue idempotent: a key seen before adds no second email. */
  deliveryKey?: string;
} & ({ html: string; text?: string } | { text: string; html?: string });

export interface EmailOutbox {
  /** Writes the email to the outbox in the surrounding transaction; returns the outbox id. */
  enqueue(message: EmailMessage): Promise<string>;
}

/** A browser's PushSubscription as `subscription.toJSON()` gives it. */
export interface PushSubscriptionJson {
  endpoint: string;
  expirationTime?: number | null;
  keys: { p256dh: string; auth: string };
}

/** What the browser shows (the service worker receives it as JSON, with `id` and `deliveryKey`). */
export interface PushNotification {
  title: string;
  body?: string;
  icon?: string;
  /** Where a click on the notification should go (your service worker opens it). */
  url?: string;
  data?: unknown;
}

export type PushMessage = (
  | { userId: string; subscription?: never }
  | { subscription: PushSubscriptionJson | string; userId?: never }
) & {
  notification: PushNotification;
  /** Seconds the push service keeps it for an offline device (default 86400). */
  ttl?: number;
  urgency?: 'very-low' | 'low' | 'normal' | 'high';
  /** A newer push with the same topic replaces an undelivered one (1-32 of A-Z a-z 0-9 - _). */
  topic?: string;
  /** Makes the enqueue idempotent, per subscription. */
  deliveryKey?: string;
};

export interface PushOutbox {
  /** Stores (or updates) a browser's subscription for the caller, or `userId`; idempotent per endpoint. Returns its id. */
  subscribe(subscription: PushSubscriptionJson, options?: { userId?: string }): Promise<string>;
  /** Forgets a subscription; true if there was one. */
  unsubscribe(endpoint: string): Promise<boolean>;
  /** One outbox row per target subscription (a user's valid ones), in the surrounding transaction; returns their ids. */
  enqueue(message: PushMessage): Promise<string[]>;
}

type ScheduledTarget = FunctionReference<'mutation' | 'action', any, any, any>;
type ArgsOf<Ref> = Ref extends FunctionReference<any, any, infer Args, any> ? Args : never;
/** Args as a rest parameter, optional when the function needs none (see OptionalArgs). */
type RestArgs<Ref> = {} extends ArgsOf<Ref> ? [args?: ArgsOf<Ref>] : [args: ArgsOf<Ref>];

export interface Scheduler {
  /** From a mutation: scheduled only if the mutation commits. */
  runAfter<Ref extends ScheduledTarget>(
    delayMs: number,
    ref: Ref,
    ...args: RestArgs<Ref>
  ): Promise<GenericId<'_scheduled_functions'>>;
  runAt<Ref extends ScheduledTarget>(
    at: Date | number,
    ref: Ref,
    ...args: RestArgs<Ref>
  ): Promise<GenericId<'_scheduled_functions'>>;
  cancel(id: string): Promise<void>;
}

export interface QueryCtx<DM extends GenericDataModel> {
  db: DatabaseReader<DM>;
  invoker: Invoker;
}

export interface MutationCtx<DM extends GenericDataModel> {
  db: DatabaseWriter<DM>;
  invoker: Invoker;
  email: EmailOutbox;
  push: PushOutbox;
  scheduler: Scheduler;
}

type ReturnsOf<Ref> = Ref extends FunctionReference<any, any, any, infer Returns> ? Returns : never;

export interface ActionCtx<DM extends GenericDataModel> {
  db: ActionDatabase<DM>;
  invoker: Invoker;
  email: EmailOutbox;
  push: PushOutbox;
  scheduler: Scheduler;
  /** Runs a query as the same caller (its own snapshot). */
  runQuery<Ref extends FunctionReference<'query', any, any, any>>(
    ref: Ref,
    ...args: RestArgs<Ref>
  ): Promise<ReturnsOf<Ref>>;
  /** Runs a mutation as the same caller, in its own transaction: how an HTTP route hands off. */
  runMutation<Ref extends FunctionReference<'mutation', any, any, any>>(
    ref: Ref,
    ...args: RestArgs<Ref>
  ): Promise<ReturnsOf<Ref>>;
  /**
   * Runs another action as the same caller, with its own invocation record and its own timeout
   * (this action's deadline keeps running meanwhile). At most 8 deep; not inside ctx.db.transaction.
   */
  runAction<Ref extends FunctionReference<'action', any, any, any>>(
    ref: Ref,
    ...args: RestArgs<Ref>
  ): Promise<ReturnsOf<Ref>>;
}

/** HTTP route handlers get what actions get. */
export type HttpActionCtx<DM extends GenericDataModel> = ActionCtx<DM>;
