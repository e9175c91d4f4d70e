// What each function kind receives as `ctx`. The engine provides the implementations.
import type { ActionDatabase, DatabaseReader, DatabaseWriter } from './database.js';
import type { FunctionReference } from './references.js';
import type { GenericDataModel } from './schema.js';
import type { GenericId } from './values.js';

export type Invoker =
  | {
      type: 'user';
      userId: string;
      claims: Record<string, unknown>;
      /** Signed in through the app's own valet/auth: `userId` is a document of its users table. */
      valetAuth?: true;
    }
  | { type: 'anonymous' }
  | {
      type: 'system';
      /** `mcp`: an agent's call through `valet mcp`. */
      source: 'cron' | 'scheduler' | 'admin' | 'mcp';
      /** The cron job's name, for cron-dispatched calls. */
      job?: string;
      scheduledAt?: number;
      dispatchedAt?: number;
      /** Set on the one run that stands for runs missed while the server was down. */
      catchUp?: boolean;
      missedRuns?: number;
    };

/**
 * Who signed in, as Convex gives it: from the verified token's claims, standard OpenID Connect
 * claim names mapped to Convex's (`picture` → `pictureUrl`, `email_verified` → `emailVerified`, …);
 * any other claim is there under its own name. `tokenIdentifier` is `issuer|subject`: unique
 * across providers, so it is what to store against a user.
 */
export interface UserIdentity {
  readonly tokenIdentifier: string;
  readonly subject: string;
  readonly issuer: string;
  readonly name?: string;
  readonly givenName?: string;
  readonly familyName?: string;
  readonly nickname?: string;
  readonly preferredUsername?: string;
  readonly profileUrl?: string;
  readonly pictureUrl?: string;
  readonly email?: string;
  readonly emailVerified?: boolean;
  readonly gender?: string;
  readonly birthday?: string;
  readonly timezone?: string;
  readonly language?: string;
  readonly phoneNumber?: string;
  readonly phoneNumberVerified?: boolean;
  readonly address?: string;
  readonly updatedAt?: string;
  readonly [claim: string]: unknown;
}

/** ctx.auth: the caller's identity (null when no one signed in, and in cron and scheduled runs). */
export interface Auth {
  getUserIdentity(): Promise<UserIdentity | null>;
}

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

/** A stored file's id (a row of the `_storage` system table). */
export type StorageId = GenericId<'_storage'>;

/** ctx.storage in queries: URLs of stored files. */
export interface StorageReader {
  /** A URL that serves the file (signed; it stops working when the file is deleted), or null when there is none. */
  getUrl(storageId: StorageId | string): Promise<string | null>;
  /** Convex's older metadata call; `ctx.db.system.get(storageId)` gives the same as a document. */
  getMetadata(
    storageId: StorageId | string,
  ): Promise<{ storageId: StorageId; sha256: string; size: number; contentType: string | null } | null>;
}

/** ctx.storage in mutations: upload URLs, and deletes that commit with the mutation. */
export interface StorageWriter extends StorageReader {
  /** A URL a client POSTs one file to within the hour; it answers `{ "storageId": "…" }`. */
  generateUploadUrl(): Promise<string>;
  /** Deletes the file when the mutation commits (a rolled-back mutation deletes nothing). */
  delete(storageId: StorageId | string): Promise<void>;
}

/** ctx.storage in actions and HTTP routes: also the bytes themselves. */
export interface StorageActionWriter extends StorageWriter {
  /** The file's bytes, or null when there is no such file. */
  get(storageId: StorageId | string): Promise<Blob | null>;
  /** Stores bytes as a new file (at most VALET_MAX_UPLOAD_BYTES) and returns its id. */
  store(blob: Blob, options?: { contentType?: string }): Promise<StorageId>;
}

export interface QueryCtx<DM extends GenericDataModel> {
  db: DatabaseReader<DM>;
  invoker: Invoker;
  auth: Auth;
  storage: StorageReader;
}

export interface MutationCtx<DM extends GenericDataModel> {
  db: DatabaseWriter<DM>;
  invoker: Invoker;
  auth: Auth;
  email: EmailOutbox;
  push: PushOutbox;
  scheduler: Scheduler;
  storage: StorageWriter;
}

type ReturnsOf<Ref> = Ref extends FunctionReference<any, any, any, infer Returns> ? Returns : never;

export interface ActionCtx<DM extends GenericDataModel> {
  db: ActionDatabase<DM>;
  invoker: Invoker;
  auth: Auth;
  email: EmailOutbox;
  push: PushOutbox;
  scheduler: Scheduler;
  storage: StorageActionWriter;
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
