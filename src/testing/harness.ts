// valetTest(): an app's functions on the real engine, in the test's process, on a fresh database,
// with time, email, fetch and identities under the test's control. Calls answer exactly as over
// HTTP (access rules, validation, idempotency, the same error codes), because they are the same
// engine calls the HTTP server makes.
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import type { CryptoKey } from 'jose';
import { decodeValue } from '../protocol/values.js';
import { findAppDir } from '../project/app-dir.js';
import { devAuthConfig } from '../runtime/auth/config.js';
import type { CallResponse } from '../runtime/call/types.js';
import { createEngine } from '../runtime/engine.js';
import type { Engine } from '../runtime/engine.js';
import { listOutbox, listPushSubscriptions } from '../runtime/outbox/store.js';
import type { OutgoingEmail } from '../runtime/outbox/transports.js';
import { PermanentDeliveryError } from '../runtime/outbox/transports.js';
import type { LoadedModules } from '../runtime/registry.js';
import { claimsOfIdentity } from '../runtime/auth/identity.js';
import type { Invoker, UserIdentity } from '../server/ctx.js';
import type { FunctionKind } from '../server/functions.js';
import type { ArgsOfRef, FunctionReference, ReturnsOfRef } from '../server/references.js';
import { ValetError } from '../server/errors.js';
import { buildApp, modulesFromGlob } from './app-modules.js';
import { freshDatabase } from './databases.js';
import { storageApi } from '../runtime/files/api.js';
import type { StorageActionWriter } from '../server/ctx.js';
import { FetchRoutes } from './fetch-routes.js';
import type { FetchCall, FetchHandler } from './fetch-routes.js';
import { TestClock } from './test-clock.js';

export interface ValetTestOptions {
  /** The app (its valet/ folder is built); found from the working directory when not given. */
  appDir?: string;
  /** Modules as import.meta.glob('../valet/**\/*.ts', { eager: true }) gives them, instead of building. */
  modules?: Record<string, unknown>;
  /** The schema module (or its default export), when `modules` leaves it out. */
  schema?: unknown;
  /** Where the test's clock starts (default: now). */
  now?: number | Date;
}

/** What a failed call rejects with: the HTTP API's code and status, and a ValetError's data. */
export class ValetCallError extends ValetError {
  constructor(
    message: string,
    readonly code: string,
    readonly status: number,
    data?: unknown,
  ) {
    super(message, data);
  }
}

/** A user invoker for t.as(): `t.as(user('ada', { role: 'admin' }))`. */
export function user(userId: string, claims: Record<string, unknown> = {}): Invoker {
  return { type: 'user', userId, claims: { sub: userId, iss: ISSUER, ...claims } };
}

let identities = 0;

/**
 * A user invoker from Convex's UserIdentity fields, for t.withIdentity(): `subject` and `issuer`
 * (or a `tokenIdentifier` of `issuer|subject`) name the user, made up when absent; the other
 * fields become the claims a provider would send (`pictureUrl` → `picture`, …).
 */
export function userWithIdentity(identity: Partial<UserIdentity>): Invoker {
  const [fromIssuer, fromSubject] = identity.tokenIdentifier?.split('|') ?? [];
  const subject = identity.subject ?? fromSubject ?? `test-user-${++identities}`;
  const issuer = identity.issuer ?? fromIssuer ?? ISSUER;
  const { tokenIdentifier: _t, subject: _s, issuer: _i, ...fields } = identity;
  return { type: 'user', userId: subject, claims: { ...claimsOfIdentity(fields), sub: subject, iss: issuer } };
}

export const anonymous: Invoker = { type: 'anonymous' };

type Ref<Kind extends FunctionKind> = FunctionReference<Kind> | string;
type ArgsOf<R> = R extends FunctionReference<any> ? ArgsOfRef<R> : Record<string, unknown>;
type ResultOf<R> = R extends FunctionReference<any> ? ReturnsOfRef<R> : unknown;

export interface TestEmail extends OutgoingEmail {
  status: string;
  attempts: number;
  lastError: string | null;
  source: string | null;
}

export interface TestPush {
  id: string;
  subscriptionId: string;
  /** The subscription's user and push endpoint. */
  userId: string | null;
  endpoint: string;
  notification: { title: string; body?: string; icon?: string; url?: string; data?: unknown };
  ttl: number;
  urgency: string;
  topic: string | null;
  deliveryKey: string | null;
  status: string;
  attempts: number;
  source: string | null;
}

/** What t.signIn() gives: a code was emailed, or the signed-in user. */
export type TestSignIn =
  | { started: true }
  | { started: false; user: Caller; userId: string; token: string; refreshToken: string };

export interface Caller {
  query<R extends Ref<'query'>>(ref: R, args?: ArgsOf<R>): Promise<ResultOf<R>>;
  mutation<R extends Ref<'mutation'>>(ref: R, args?: ArgsOf<R>): Promise<ResultOf<R>>;
  action<R extends Ref<'action'>>(
    ref: R,
    args?: ArgsOf<R>,
    options?: { idempotencyKey?: string },
  ): Promise<ResultOf<R>>;
  /** A request to the app's routes (valet/http.ts); `path` is relative to /http. A user caller sends a bearer token. */
  http(
    method: string,
    path: string,
    init?: { headers?: Record<string, string>; body?: BodyInit | object },
  ): Promise<Response>;
}

interface TestKeys {
  privateKey: CryptoKey;
  publicJwk: object;
}
let keys: Promise<TestKeys> | null = null;

/** One ES256 key per process, so t.as(user).http(...) can send a token the engine verifies. */
function testKeys(): Promise<TestKeys> {
  keys ??= (async () => {
    const pair = await generateKeyPair('ES256', { extractable: true });
    return {
      privateKey: pair.privateKey,
      publicJwk: { ...(await exportJWK(pair.publicKey)), kid: 'valet-test', alg: 'ES256' },
    };
  })();
  return keys;
}

const ISSUER = 'valet-test';
const AUDIENCE = 'valet';
/** Moments one clock.advance may stop at (an every-second cron over a day is 86 400). */
const MAX_ADVANCE_STEPS = 200_000;
const MAX_SCHEDULED_ROUNDS = 1000;

export class ValetTest implements Caller {
  /** Requests handlers made with fetch; `on(pattern, handler)` answers them. */
  readonly fetch: FetchRoutes & {
    on(pattern: string, handler: FetchHandler): FetchRoutes;
    readonly calls: FetchCall[];
  };
  readonly clock: { now(): number; advance(ms: number): Promise<void> };
  /**
   * ctx.storage as actions have it, on the test's database: put a file in place (`store`), read
   * one a function stored (`get`), its URL, delete it.
   */
  readonly storage: StorageActionWriter;
  /** Every email enqueued, oldest first, with its contents and delivery state; `failNext(n)` injects failures. */
  readonly outbox: (() => TestEmail[]) & {
    failNext(count?: number, options?: { permanent?: boolean; message?: string }): void;
  };
  private failures: { permanent: boolean; message: string }[] = [];
  private emails: TestEmail[] = [];
  private pushMessages: TestPush[] = [];

  /** Push messages enqueued so far (oldest first), delivered by a capture in tests. */
  pushes(): TestPush[] {
    return [...this.pushMessages];
  }

  private constructor(
    readonly engine: Engine,
    private readonly testClock: TestClock,
    routes: FetchRoutes,
    private readonly keys: TestKeys,
    private readonly removeDatabase: () => Promise<void>,
  ) {
    this.fetch = routes;
    this.storage = storageApi({
      files: engine.files,
      kind: 'action',
      read: (op) => op(engine.connections.autoCommit),
      write: (op) => engine.connections.inWriteTransaction(op),
      now: () => testClock.now(),
    }) as unknown as StorageActionWriter;
    this.clock = {
      now: () => testClock.now(),
      advance: (ms: number) => this.advanceClock(ms),
    };
    const outbox = () => [...this.emails];
    this.outbox = Object.assign(outbox, {
      failNext: (count = 1, options: { permanent?: boolean; message?: string } = {}) => {
        for (let i = 0; i < count; i++)
          this.failures.push({
            permanent: options.permanent ?? false,
            message: options.message ?? 'delivery failed (injected by the test)',
          });
      },
    });
  }

  static async create(options: ValetTestOptions = {}): Promise<ValetTest> {
    let modules: LoadedModules;
    let mapStack: ((stack: string) => string) | undefined;
    if (options.modules) modules = modulesFromGlob(options.modules, options.schema);
    else {
      const built = await buildApp(options.appDir ?? findAppDir());
      modules = built.modules;
      mapStack = (stack) => built.maps.rewriteStack(stack);
    }
    const clock = new TestClock(options.now instanceof Date ? options.now.getTime() : options.now);
    const routes = new FetchRoutes();
    const database = freshDatabase();
    const testKeyPair = await testKeys();
    let harness: ValetTest | null = null;
    const engine = await createEngine({
      modules,
      database: database.database,
      postgres: database.postgres,
      clock,
      env: process.env.VALET_DEV === '1' ? { ...process.env, VALET_DEV: '0' } : process.env,
      auth: devAuthConfig(testKeyPair.publicJwk, ISSUER, AUDIENCE, 'the test key'),
      resolve: (hostname) => routes.resolve(hostname),
      respondToFetch: (request) => routes.respond(request),
      log: () => undefined,
      mapStack,
      describeError: mapStack
        ? (error) => mapStack!(error instanceof Error ? (error.stack ?? error.message) : String(error))
        : undefined,
      emailTransport: {
        name: 'test',
        send: async () => {
          const failure = harness?.failures.shift();
          if (failure)
            throw failure.permanent ? new PermanentDeliveryError(failure.message) : new Error(failure.message);
        },
        close: async () => undefined,
      },
      // Retries in tests follow the clock: no randomness in when they come back.
      outbox: { random: () => 0.5 },
      // Alone on its database: no heartbeat to keep.
      instances: false,
    });
    harness = new ValetTest(engine, clock, routes, testKeyPair, database.remove);
    // Crons count from the clock's start: ticks come as the test advances it.
    await engine.crons.round();
    return harness;
  }

  private async call(
    kind: FunctionKind,
    ref: Ref<FunctionKind>,
    args: unknown,
    invoker: Invoker,
    idempotencyKey?: string,
  ): Promise<any> {
    const path = typeof ref === 'string' ? ref : ref.path;
    const response: CallResponse = await this.engine.call({
      kind,
      path,
      args: args ?? {},
      invoker,
      external: invoker.type !== 'system',
      idempotencyKey: idempotencyKey ?? null,
      exposeErrors: true,
      source: 'test',
    });
    await this.settle({ crons: false, scheduled: false });
    if (response.status === 200) return decodeValue((response.body as { value: unknown }).value);
    const body = response.body as { code: string; message: string; data?: unknown };
    throw new ValetCallError(body.message, body.code, response.status, body.data);
  }

  private callerFor(invoker: Invoker): Caller {
    return {
      query: (ref, args) => this.call('query', ref, args, invoker),
      mutation: (ref, args) => this.call('mutation', ref, args, invoker),
      action: (ref, args, options) => this.call('action', ref, args, invoker, options?.idempotencyKey),
      http: (method, path, init) => this.request(invoker, method, path, init),
    };
  }

  query<R extends Ref<'query'>>(ref: R, args?: ArgsOf<R>): Promise<ResultOf<R>> {
    return this.call('query', ref, args, anonymous);
  }

  mutation<R extends Ref<'mutation'>>(ref: R, args?: ArgsOf<R>): Promise<ResultOf<R>> {
    return this.call('mutation', ref, args, anonymous);
  }

  action<R extends Ref<'action'>>(
    ref: R,
    args?: ArgsOf<R>,
    options: { idempotencyKey?: string } = {},
  ): Promise<ResultOf<R>> {
    return this.call('action', ref, args, anonymous, options.idempotencyKey);
  }

  http(
    method: string,
    path: string,
    init?: { headers?: Record<string, string>; body?: BodyInit | object },
  ): Promise<Response> {
    return this.request(anonymous, method, path, init);
  }

  /** Calls as someone: `t.as(user('ada'))`, or any invoker. */
  as(invoker: Invoker): Caller {
    return this.callerFor(invoker);
  }

  /** Calls as a signed-in user with this identity, as convex-test does: `t.withIdentity({ name: 'Ada' })`. */
  withIdentity(identity: Partial<UserIdentity>): Caller {
    return this.callerFor(userWithIdentity(identity));
  }

  /**
   * Signs in through valet/auth's real flow (valet/auth.ts's providers, the database, the outbox):
   * `{ started: true }` when a code was emailed (read it from `t.outbox()`, then call again with
   * it), or the signed-in user — a caller sending the session's real access token, their `users`
   * id, and the tokens.
   */
  async signIn(provider: 'password' | 'email' | (string & {}), params: Record<string, unknown>): Promise<TestSignIn> {
    const answer = await this.engine.valetAuth.service.signIn(
      { provider, params },
      { address: 'valet-test', userAgent: 'valet/testing' },
    );
    await this.settle({ crons: false, scheduled: false });
    if ('started' in answer) return { started: true };
    if ('redirect' in answer)
      throw new Error('t.signIn(): providers that redirect the browser are signed in over HTTP');
    const authorization = `Bearer ${answer.token}`;
    const invoker = await this.engine.authenticate(authorization);
    if (invoker.type !== 'user') throw new Error('t.signIn(): the new token was not accepted');
    return {
      started: false,
      userId: invoker.userId,
      token: answer.token,
      refreshToken: answer.refreshToken,
      user: {
        ...this.callerFor(invoker),
        http: (method, path, init) =>
          this.request(anonymous, method, path, { ...init, headers: { ...init?.headers, authorization } }),
      },
    };
  }

  /** Calls as the system (what cron, the scheduler and admin calls are): `system` functions too. */
  asSystem(): Caller {
    return this.callerFor({ type: 'system', source: 'admin' });
  }

  /** Runs code with a mutation's ctx (db, email, scheduler), in one transaction: for setup and assertions. */
  async run<T>(fn: (ctx: any) => T | Promise<T>): Promise<T> {
    const value = await this.engine.runInMutation('t.run', { type: 'system', source: 'admin' }, fn);
    await this.settle({ crons: false, scheduled: false });
    return decodeValue(value) as T;
  }

  /**
   * Moves the clock `ms` forward, stopping at every moment something comes due inside the window
   * (a scheduled call, a cron tick, a retry), in order, so work that schedules more work inside the
   * window runs too: advance(10_000) over a chain of 2 s steps runs all five.
   */
  private async advanceClock(ms: number): Promise<void> {
    const target = this.testClock.now() + Math.max(0, ms);
    for (let step = 0; ; step++) {
      if (step > MAX_ADVANCE_STEPS)
        throw new Error(
          `clock.advance(${ms}): more than ${MAX_ADVANCE_STEPS} moments came due — is the window too long?`,
        );
      await this.settle({ crons: true, scheduled: true });
      const now = this.testClock.now();
      const scheduled = await this.engine.scheduled.nextDueAt();
      // round() also says how long until the next cron tick (it has just run the due ones).
      const cron = now + (await this.engine.crons.round());
      const next = Math.min(scheduled ?? Number.POSITIVE_INFINITY, cron);
      if (next > target || next <= now) break;
      this.testClock.tick(next - now);
    }
    this.testClock.tick(Math.max(0, target - this.testClock.now()));
    await this.settle({ crons: true, scheduled: true });
  }

  /** Runs everything ctx.scheduler scheduled, moving the clock to each, until nothing is left. */
  async finishScheduled(): Promise<void> {
    for (let round = 0; round < MAX_SCHEDULED_ROUNDS; round++) {
      await this.settle({ crons: false, scheduled: true });
      const next = await this.engine.scheduled.nextDueAt();
      if (next === null) return;
      this.testClock.tick(Math.max(0, next - this.testClock.now()));
    }
    throw new Error(
      `finishScheduled: work was still being scheduled after ${MAX_SCHEDULED_ROUNDS} rounds — does a function schedule itself forever?`,
    );
  }

  /** A bearer token this harness's engine accepts, for requests that carry one. */
  token(invoker: Invoker & { type: 'user' }): Promise<string> {
    return new SignJWT({ ...invoker.claims })
      .setProtectedHeader({ alg: 'ES256', kid: 'valet-test' })
      .setSubject(invoker.userId)
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setIssuedAt(Math.floor(Date.now() / 1000))
      .setExpirationTime('1h')
      .sign(this.keys.privateKey);
  }

  private async request(
    invoker: Invoker,
    method: string,
    path: string,
    init: { headers?: Record<string, string>; body?: BodyInit | object } = {},
  ): Promise<Response> {
    const headers = new Headers(init.headers);
    if (invoker.type === 'user' && !headers.has('authorization'))
      headers.set('authorization', `Bearer ${await this.token(invoker)}`);
    let body = init.body;
    if (
      body !== undefined &&
      typeof body === 'object' &&
      !(body instanceof ArrayBuffer) &&
      !ArrayBuffer.isView(body) &&
      !(body instanceof Blob) &&
      !(body instanceof URLSearchParams) &&
      !(body instanceof FormData) &&
      !(body instanceof ReadableStream)
    ) {
      body = JSON.stringify(body);
      if (!headers.has('content-type')) headers.set('content-type', 'application/json');
    }
    const relative = path.startsWith('/') ? path : `/${path}`;
    const request = new Request(`http://127.0.0.1/http${relative}`, {
      method,
      headers,
      body: body as BodyInit | undefined,
    });
    const response = await this.engine.handleHttp(request, relative.split('?')[0]!);
    await this.settle({ crons: false, scheduled: false });
    return response;
  }

  /**
   * Re-reads the outbox. Every harness call ends by settling background work, and settling ends
   * here, so `t.outbox()` (synchronous, on either backend) always shows the state after the last call.
   */
  private async readEmails(): Promise<void> {
    const messages = (
      await listOutbox(this.engine.connections.autoCommit.sql, { limit: 100_000, bodies: true })
    ).reverse();
    const pushes = messages.filter((message) => message.channel === 'push');
    const subscriptions = new Map(
      pushes.length === 0
        ? []
        : (await listPushSubscriptions(this.engine.connections.autoCommit.sql, { limit: 100_000 })).map((s) => [
            s.id,
            s,
          ]),
    );
    this.pushMessages = pushes.map((message) => ({
      id: message.id,
      subscriptionId: message.subscriptionId!,
      userId: subscriptions.get(message.subscriptionId!)?.userId ?? null,
      endpoint: subscriptions.get(message.subscriptionId!)?.endpoint ?? '',
      notification: message.push!.notification as TestPush['notification'],
      ttl: message.push!.ttl,
      urgency: message.push!.urgency,
      topic: message.push!.topic,
      deliveryKey: message.deliveryKey,
      status: message.status,
      attempts: message.attempts,
      source: message.source,
    }));
    this.emails = messages
      .filter((message) => message.channel === 'email')
      .map((email) => ({
        id: email.id,
        to: email.to,
        subject: email.subject,
        html: email.html,
        text: email.text,
        deliveryKey: email.deliveryKey,
        status: email.status,
        attempts: email.attempts,
        lastError: email.lastError,
        source: email.source,
      }));
  }

  /** Background work due at the current time: email delivery always; scheduled calls and cron ticks when time moved. */
  private async settle(what: { crons: boolean; scheduled: boolean }): Promise<void> {
    for (let round = 0; round < MAX_SCHEDULED_ROUNDS; round++) {
      let busy = false;
      if (what.crons) {
        await this.engine.crons.round();
        await this.engine.crons.settle();
      }
      if (what.scheduled) {
        const next = await this.engine.scheduled.nextDueAt();
        if (next !== null && next <= this.testClock.now()) {
          await this.engine.scheduled.round();
          busy = true;
        }
      }
      const delivered = await this.engine.outbox.drain();
      if (Object.values(delivered).some((count) => count > 0)) busy = true;
      if (!busy) break;
      what = { ...what, crons: false };
    }
    await this.readEmails();
  }

  /** Closes the engine and removes the database. */
  async close(): Promise<void> {
    await this.engine.close();
    await this.removeDatabase();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/** A harness over the app's functions: `const t = await valetTest()`. */
export function valetTest(options: ValetTestOptions = {}): Promise<ValetTest> {
  return ValetTest.create(options);
}
