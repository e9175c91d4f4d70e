// createEngine: the programmatic heart of Valet. Give it the loaded modules of valet/ and a
// database (a SQLite file, or a PostgreSQL URL); call functions in-process with `call`, or serve them with src/http. With
// `background: true` it also runs the work that happens after a request returns: email
// delivery, scheduled functions and crons.
import { dirname } from 'node:path';
import { UserError } from '../errors/user-error.js';
import { parseFetchAllow } from './fetch-guard/allow-list.js';
import type { FetchAllowEntry } from './fetch-guard/allow-list.js';
import { secretRedactor } from './redact.js';
import type { Invoker } from '../server/ctx.js';
import type { DocumentStore } from '../storage/documents.js';
import { applySchemaIndexes } from '../storage/indexes.js';
import type { BuiltSearchIndex } from '../storage/search-builds.js';
import type { SearchIndexProgress } from '../storage/search-indexes.js';
import { applySearchIndexes } from '../storage/search-indexes.js';
import type { PostgresOptions } from '../storage/postgres/open.js';
import type { AuthConfig } from './auth/verify.js';
import { jsonFetcher } from './auth/remote-keys.js';
import { KeySets, TokenVerifier } from './auth/verifier.js';
import { SigningKeys } from './auth/signin/keys.js';
import { RateLimiter } from './auth/signin/limits.js';
import { OidcClients } from './auth/signin/oidc-client.js';
import { SignInService } from './auth/signin/service.js';
import { ACCESS_TOKEN_MS, OWN_AUDIENCE } from './auth/signin/tokens.js';
import { callFunction, callQueries } from './call/call-function.js';
import { inMutation } from './call/run-mutation.js';
import { runOneOffQuery } from './call/one-off-query.js';
import type { OneOffOptions, OneOffResult } from './call/one-off-query.js';
import { handleHttpRoute } from './call/run-route.js';
import type { CallRequest, CallResponse, EngineCore } from './call/types.js';
import type { Clock } from './clock.js';
import { systemClock } from './clock.js';
import { openConnections } from './connections/open.js';
import type { Connections } from './connections/types.js';
import { CronRunner } from './cron/runner.js';
import { EngineError } from './errors.js';
import { guardedFetch, installFetchGuard, systemResolver } from './fetch-guard/guard.js';
import type { FetchPolicy, Resolver } from './fetch-guard/guard.js';
import { DATABASE_TIME_SQL, DatabaseClock } from './claims/database-clock.js';
import { LastingWrites } from './claims/lasting-write.js';
import { DEFAULT_TTL_MS, InstanceRegistry } from './instances.js';
import type { InstanceOptions } from './instances.js';
import { pruneInvocations } from './invocations/store.js';
import { Loop } from './loop.js';
import { CallLog } from './calls/log.js';
import type { CallLogSettings } from './calls/log.js';
import { FunctionMetrics } from './calls/metrics.js';
import { MigrationRunner } from './migrations/runner.js';
import { callSettingsOf } from './calls/settings.js';
import { ConnectionsSink } from './calls/sink.js';
import type { CallSink } from './calls/sink.js';
import { SqliteFileSink, callsFileOf, hasOwnCallsFile } from './calls/sqlite-file-sink.js';
import { startTracing } from './calls/tracing.js';
import type { CallTracer } from './calls/tracing.js';
import { logCallOutcome, routeFunctionConsole } from './function-logs.js';
import type { EmailTransport } from './outbox/transports.js';
import { captureTransport } from './outbox/transports.js';
import { capturePushTransport } from './outbox/push-transport.js';
import type { PushTransport } from './outbox/push-transport.js';
import { OutboxWorker } from './outbox/worker.js';
import type { OutboxWorkerOptions } from './outbox/worker.js';
import type { LoadedModules, MapStack, Registry } from './registry.js';
import { buildRegistry } from './registry.js';
import { ScheduledRunner } from './scheduler/runner.js';
import type { Invoke } from './scheduler/runner.js';
import { createHash } from 'node:crypto';
import { findSchemaViolations, SchemaMismatchError, schemaSignature } from './schema-check.js';
import { FileService, filesConfigOf, maxUploadBytesOf } from './files/service.js';
import type { FilesOptions } from './files/service.js';

export interface EngineOptions {
  modules: LoadedModules;
  /** A SQLite file path (or :memory:), or a postgres:// URL. */
  database: string;
  /** PostgreSQL: a schema of its own, pool size. */
  postgres?: PostgresOptions;
  /** Stored files (ctx.storage): where their bytes go, the upload limit, the URL they are served at. */
  files?: FilesOptions;
  /** Injected time (tests): used as is for everything, on both backends. */
  clock?: Clock;
  /**
   * This machine's clock (default Date.now). Without an injected `clock`, PostgreSQL corrects it to
   * the database's (claims/database-clock.ts); tests give it a skew to play an instance whose clock is off.
   */
  localClock?: Clock;
  /** Where VALET_DEV is read from (loopback fetches, error detail). Defaults to process.env. */
  env?: NodeJS.ProcessEnv;
  /** How bearer tokens are verified; without it, only anonymous and admin calls work. */
  auth?: AuthConfig | null;
  /** DNS for the fetch guard (tests inject their own). */
  resolve?: Resolver;
  /** Answers handlers' fetch calls instead of the network, after the guard's checks (valet/testing). */
  respondToFetch?: (request: Request) => Promise<Response>;
  readerPoolSize?: number;
  functionTimeoutMs?: number;
  /** Invocation records are kept at least this long (minimum 24 h). */
  invocationRetentionMs?: number;
  log?: (line: string) => void;
  /** Turns a handler's error into the text logged (dev maps bundle frames back to valet/ files). */
  describeError?: (error: unknown) => string;
  /** Maps a raw stack to valet/ sources (for definitions reported by file:line). */
  mapStack?: MapStack;
  /** Run email delivery, scheduled functions and crons (servers do; `valet run` and most tests do not). */
  background?: boolean;
  /** Where email goes; the dev capture (a log line per email) by default. */
  emailTransport?: EmailTransport;
  /** Where push messages go; the dev capture (a log line per message) by default. */
  pushTransport?: PushTransport;
  /** ctx.push accepts http:// endpoints (a local push service): on in development, off otherwise. */
  allowInsecurePushEndpoints?: boolean;
  /** Tuning and injected randomness for the delivery worker. */
  outbox?: Partial<Omit<OutboxWorkerOptions, 'connections' | 'transport' | 'clock'>>;
  /**
   * This engine's heartbeat among the instances sharing the database (runtime/instances.ts).
   * `false` keeps none (valet/testing: a database of its own); a background engine always has one.
   */
  instances?: InstanceOptions | false;
  /** Scheduled calls run at once per instance (default 10). */
  scheduler?: { concurrency?: number };
  /**
   * The activity log (every call's record): kept in memory by default in development and tests,
   * in the database by a production server (`background` without VALET_DEV); VALET_CALLS_* override.
   */
  calls?: Partial<CallLogSettings>;
}

const HOUR = 60 * 60 * 1000;
const DAY = 24 * HOUR;

export interface Engine {
  call(request: CallRequest): Promise<CallResponse>;
  /** Queries only: runs them all in one read snapshot, identical reads answered once. */
  callQueries(requests: CallRequest[]): Promise<CallResponse[]>;
  /** Serves a request under /http/ with the routes of valet/http.ts (`path` is relative to /http). */
  handleHttp(request: Request, path: string): Promise<Response>;
  /** Turns an Authorization header into an invoker; throws EngineError(401) for a bad token. */
  authenticate(authorization: string | null | undefined): Promise<Invoker>;
  /**
   * Runs `fn` with a mutation's ctx (db, email, scheduler) in one transaction, outside any function
   * (valet/testing's t.run, admin data edits). Returns what `fn` returns (JSON).
   */
  runInMutation<T>(label: string, invoker: Invoker, fn: (ctx: any) => T | Promise<T>): Promise<T>;
  /**
   * Swaps in newly built modules (dev reload); in-flight calls finish on the old ones. A schema
   * the stored data does not match is refused (SchemaMismatchError) and the old modules stay.
   */
  replaceModules(modules: LoadedModules): Promise<void>;
  /** Canonical paths of the functions served now. */
  functionPaths(): string[];
  /** The engine's time (its injected clock; on PostgreSQL corrected to the database's): what admin writes stamp. */
  now(): number;
  readonly registry: Registry;
  /** valet/auth's sign-in flows, signing keys and issuer (the flows answer auth_not_enabled without valet/auth.ts). */
  readonly valetAuth: { service: SignInService; keys: SigningKeys; issuer: string };
  readonly outbox: OutboxWorker;
  readonly scheduled: ScheduledRunner;
  readonly crons: CronRunner;
  readonly connections: Connections;
  /** This engine among the instances sharing its database (null in valet/testing). */
  readonly instance: InstanceRegistry | null;
  /** Claims of work this instance lost to another while it ran them (each also a log line). */
  readonly lostClaims: number;
  /** Whether the background work it was asked for (email, scheduler, crons) is running. */
  readonly workersRunning: boolean;
  /** Stored files: their bytes, signed URLs, the upload limit (ctx.storage and the file routes). */
  readonly files: FileService;
  /** The search indexes the last load (start or reload) built from stored documents (each also a log line). */
  readonly searchIndexesBuilt: readonly BuiltSearchIndex[];
  readonly dev: boolean;
  /** Whether bearer tokens are verified (false: only anonymous, public functions and admin calls work). */
  readonly authConfigured: boolean;
  /** The activity log: every call's record. */
  readonly calls: CallLog;
  /** Per-function counts and durations of this process, over the last hour. */
  readonly metrics: FunctionMetrics;
  /** Data migrations (defineMigration): run in batches, resumable, one runner at a time. */
  readonly migrations: MigrationRunner;
  /** Maps a raw stack (a definition's, an error's) to valet/ sources. */
  readonly mapStack: MapStack;
  /** A one-off read-only query written as source (valet mcp's query tool). */
  runOneOffQuery(source: string, options?: OneOffOptions): Promise<OneOffResult>;
  close(): Promise<void>;
  /** What a close in progress waits on (null when not closing), for a shutdown that overruns. */
  readonly closing: string | null;
}

/** The schema the stored documents were last validated against (a hash of its signature). */
const VALIDATED_SCHEMA_KEY = 'schema:validated';

/** A one-off lock id: instances sharing a PostgreSQL database apply a schema one at a time. */
const SCHEMA_LOCK = 7261330413;

/** How often bytes no stored file claims are looked for. */
const FILE_SWEEP_EVERY_MS = 10 * 60 * 1000;

/** A search index's build reports at most this often (a large table takes seconds). */
const PROGRESS_EVERY_MS = 2_000;

/** Log lines for a search index being built: progress now and then, so a long build is visibly alive. */
function buildProgress(log: (line: string) => void): (progress: SearchIndexProgress) => void {
  let lastReport = performance.now();
  return ({ index, done, total }) => {
    if (done >= total || performance.now() - lastReport < PROGRESS_EVERY_MS) return;
    lastReport = performance.now();
    log(`building search index ${index}: ${done.toLocaleString('en')} of ${total.toLocaleString('en')} documents`);
  };
}

/**
 * Refuses a schema the stored data does not match; otherwise makes the indexes match it. Returns
 * the search indexes it built (from the documents already stored).
 */
async function applySchema(
  connections: Connections,
  schema: Registry['schema'],
  log: (line: string) => void,
): Promise<BuiltSearchIndex[]> {
  // Every write is checked against the schema in force, so data the schema was last validated
  // against still matches it: the scan of every document runs only when the schema changed.
  const signature = createHash('sha256').update(schemaSignature(schema)).digest('hex');
  const validated = await connections.autoCommit.sql.get<{ value: string }>(
    'SELECT value FROM _valet_meta WHERE key = ?',
    [VALIDATED_SCHEMA_KEY],
  );
  if (validated?.value !== signature) {
    const problems = await findSchemaViolations(connections.autoCommit, schema);
    if (problems.length > 0) throw new SchemaMismatchError(problems);
  }
  const started = performance.now();
  const { built } = await connections.inWriteTransaction(
    async (store) => {
      if (store.dialect.name === 'postgres') await store.sql.get('SELECT pg_advisory_xact_lock(?)', [SCHEMA_LOCK]);
      await applySchemaIndexes(store.sql, schema);
      await store.sql.run(
        'INSERT INTO _valet_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
        [VALIDATED_SCHEMA_KEY, signature],
      );
      return applySearchIndexes(store.sql, schema, { onProgress: buildProgress(log) });
    },
    // Each statement sees what another instance committed while this one waited for the lock.
    { readCommitted: true },
  );
  const ms = Math.round(performance.now() - started);
  for (const { index, documents } of built)
    log(`built search index ${index} over ${documents.toLocaleString('en')} documents (${ms} ms)`);
  return built;
}

/**
 * The database's time in ms (PostgreSQL), on the engine's own connection: the wait for a busy
 * pool must not fall inside the measured round trip (it would skew the offset by half of it).
 */
async function readDatabaseTime(connections: Connections): Promise<number> {
  return connections.inWriteTransaction(
    async (store) => (await store.sql.get<{ now: number }>(DATABASE_TIME_SQL))!.now,
    { system: true, readCommitted: true },
  );
}

/** VALET_FETCH_ALLOW, checked before anything opens: a typo stops the server with its reason. */
function fetchAllowOf(env: NodeJS.ProcessEnv): FetchAllowEntry[] {
  try {
    return parseFetchAllow(env.VALET_FETCH_ALLOW);
  } catch (error) {
    throw new UserError((error as Error).message);
  }
}

/** Where a database-backed call log keeps its records: a SQLite file's log has a file of its own. */
function callSinkOf(database: string, connections: Connections, clock: Clock, log: (line: string) => void): CallSink {
  if (connections.backend === 'sqlite' && hasOwnCallsFile(database))
    return new SqliteFileSink(callsFileOf(database), { log, now: () => clock.now() });
  return new ConnectionsSink(connections);
}

/** VALET_CALLS_*, checked before anything opens. */
function callSettings(env: NodeJS.ProcessEnv, defaultStore: CallLogSettings['store']): CallLogSettings {
  try {
    return callSettingsOf(env, defaultStore);
  } catch (error) {
    throw new UserError((error as Error).message);
  }
}

/** VALET_MAX_UPLOAD_BYTES, checked before anything opens. */
function uploadLimitOf(env: NodeJS.ProcessEnv): number {
  try {
    return maxUploadBytesOf(env);
  } catch (error) {
    throw new UserError((error as Error).message);
  }
}

export async function createEngine(options: EngineOptions): Promise<Engine> {
  const env = options.env ?? process.env;
  // Replaced by the database's clock on PostgreSQL once connected (unless a test injects one).
  const localClock = options.localClock ?? systemClock;
  let clock: Clock = options.clock ?? localClock;
  const dev = env.VALET_DEV === '1';
  const redact = secretRedactor(env);
  const rawLog = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const log = (line: string) => rawLog(redact(line));
  const mapStack = options.mapStack ?? ((stack: string) => stack);
  let registry = buildRegistry(options.modules, mapStack);
  // A transaction idle longer than the instance TTL (at least 5 s) belongs to an instance the others
  // would take for dead anyway: PostgreSQL ends it, so its locks never hold up their reaping.
  const idleInTransactionMs = Math.max(
    options.instances ? (options.instances.ttlMs ?? DEFAULT_TTL_MS) : DEFAULT_TTL_MS,
    5_000,
  );
  const maxUploadBytes = options.files?.maxUploadBytes ?? uploadLimitOf(env);
  const callLogSettings = {
    ...callSettings(env, options.background && !dev ? 'database' : 'memory'),
    ...options.calls,
  };
  const connections = await openConnections(options.database, registry.schema, {
    now: () => clock.now(),
    readerPoolSize: options.readerPoolSize,
    postgres: { log, idleInTransactionMs, ...options.postgres },
    log,
  });
  // The search indexes the last schema change built (for the ready line).
  let searchIndexesBuilt: BuiltSearchIndex[] = [];
  let filesConfig: FilesOptions;
  try {
    filesConfig = filesConfigOf(env, connections.backend);
  } catch (error) {
    await connections.close();
    throw new UserError((error as Error).message);
  }
  const files = new FileService(connections, () => clock.now(), {
    ...filesConfig,
    ...options.files,
    stateDir: connections.backend === 'sqlite' ? dirname(options.database) : null,
    maxUploadBytes,
    publicUrl: options.files?.publicUrl ?? (env.VALET_PUBLIC_URL || undefined),
  });
  const databaseClock =
    connections.backend === 'postgres' && !options.clock
      ? new DatabaseClock(localClock, () => readDatabaseTime(connections), log)
      : null;
  try {
    await databaseClock?.sync();
    if (databaseClock) clock = databaseClock;
    searchIndexesBuilt = await applySchema(connections, registry.schema, log);
    await files.start();
  } catch (error) {
    await connections.close();
    throw error;
  }
  let appliedSchema = schemaSignature(registry.schema);
  const background = options.background ?? false;
  const instance =
    options.instances === false && !background
      ? null
      : new InstanceRegistry(
          connections,
          clock,
          log,
          options.instances || {},
          databaseClock ? () => databaseClock.sync() : undefined,
        );
  try {
    await instance?.register();
  } catch (error) {
    await connections.close();
    throw error;
  }

  const lasting = new LastingWrites(clock, log);
  routeFunctionConsole();
  let callSink: CallSink | null;
  try {
    callSink = callLogSettings.store === 'database' ? callSinkOf(options.database, connections, clock, log) : null;
  } catch (error) {
    await instance?.stop();
    await connections.close();
    throw error;
  }
  const calls = new CallLog(callLogSettings, {
    sink: callSink,
    clock,
    instance: instance?.id ?? null,
    log,
    redact,
  });
  const metrics = new FunctionMetrics(clock);
  calls.onFinish((record, rerun) => {
    metrics.observe(record, rerun);
    logCallOutcome(record);
  });
  // Traces over OTLP when configured (nothing is loaded otherwise).
  let tracer: CallTracer | null;
  try {
    tracer = await startTracing(env, { instance: instance?.id ?? null, backend: connections.backend, log });
  } catch (error) {
    await instance?.stop();
    await connections.close();
    throw new UserError(`OpenTelemetry tracing could not start: ${(error as Error).message}`);
  }
  if (tracer) calls.onFinish((record) => tracer!.exportCall(record));
  let lostClaims = 0;
  let closing: string | null = null;
  installFetchGuard();
  const fetchPolicy: FetchPolicy = {
    allowLoopback: dev,
    allow: fetchAllowOf(env),
    resolve: options.resolve ?? systemResolver,
    respond: options.respondToFetch,
  };
  // Tokens are checked against wall time, not the injected clock (which tests move freely).
  const fetchThroughGuard = (url: string, init: RequestInit) => guardedFetch(url, init, fetchPolicy);
  const keySets = new KeySets(jsonFetcher(fetchThroughGuard), () => systemClock.now());
  // valet/auth's tokens: signed and verified with keys kept in the database, under the app's URL.
  const ownIssuer = (env.VALET_PUBLIC_URL?.trim() ?? '').replace(/\/+$/, '') || 'valet-auth';
  const signingKeys = new SigningKeys(connections, () => systemClock.now(), ACCESS_TOKEN_MS);
  const verifierFor = (next: Registry) =>
    new TokenVerifier(
      options.auth ?? null,
      next.authProviders ?? [],
      keySets,
      next.valetAuth ? { issuer: ownIssuer, audience: OWN_AUDIENCE, key: signingKeys.getKey } : null,
    );
  let verifier = verifierFor(registry);
  const core: EngineCore = {
    connections,
    instanceId: instance?.id ?? null,
    get registry() {
      return registry;
    },
    clock,
    lasting,
    lostClaim: (label) => {
      lostClaims++;
      log(
        `${label}: another instance took it over while this one ran it (a pause past the lease?); this instance's result was not recorded`,
      );
    },
    fetchPolicy,
    pushPolicy: { allowInsecureEndpoints: options.allowInsecurePushEndpoints ?? dev },
    dev,
    get authConfigured() {
      return verifier.configured;
    },
    functionTimeoutMs: options.functionTimeoutMs ?? 30_000,
    log,
    describeError: (error) =>
      redact(
        (options.describeError ?? ((e: unknown) => (e instanceof Error ? (e.stack ?? e.message) : String(e))))(error),
      ),
    redact,
    afterEnqueue: () => {
      if (background) outbox.wake();
    },
    afterSchedule: () => {
      if (background) scheduled.wake();
    },
    files,
    calls,
    call: (request: CallRequest, snapshot?: DocumentStore) => callFunction(core, request, snapshot),
  };
  const signIn = new SignInService({
    connections,
    now: () => clock.now(),
    definition: () => registry.valetAuth,
    inTransaction: (label, work) =>
      inMutation(core, label, { type: 'system', source: 'admin' }, (ctx, store) => work(ctx, store!.sql), {
        withStore: true,
      }),
    tokens: { keys: signingKeys, issuer: ownIssuer, wallNow: () => systemClock.now(), now: () => clock.now() },
    keys: signingKeys,
    limiter: new RateLimiter(connections, () => clock.now()),
    oidc: new OidcClients(fetchThroughGuard, jsonFetcher(fetchThroughGuard), () => systemClock.now()),
    schema: () => registry.schema,
    log: (line) => log(redact(line)),
  });
  const migrations = new MigrationRunner(core, core.instanceId);
  // Bytes no file claims any more (a deleted file's, an upload cut short by a crash): removed at
  // start and every so often after.
  const sweepFiles = () =>
    files.sweep().catch((error: Error) => log(`could not remove unused file bytes: ${error.message}`));
  void sweepFiles();
  const fileSweeper = setInterval(sweepFiles, FILE_SWEEP_EVERY_MS);
  fileSweeper.unref();
  const invoke: Invoke = (kind, path, args, invoker, fence, origin) =>
    callFunction(core, { kind, path, args, invoker, external: false, fence, ...origin });
  const transport =
    options.emailTransport ??
    captureTransport((email) =>
      log(`✉ email to ${email.to.join(', ')}: "${email.subject}" (valet outbox show ${email.id})`),
    );
  const tuning = Object.fromEntries(Object.entries(options.outbox ?? {}).filter(([, value]) => value !== undefined));
  const pushTransport =
    options.pushTransport ??
    capturePushTransport((message) =>
      log(
        `🔔 push to ${new URL(message.subscription.endpoint).host}: "${JSON.parse(message.payload).title}" (valet outbox show ${message.id})`,
      ),
    );
  const outbox = new OutboxWorker({
    connections,
    transport,
    pushTransport,
    clock,
    log,
    instance: core.instanceId,
    lasting,
    onLostClaim: core.lostClaim,
    onSend: tracer ? (send) => tracer!.exportSend(send) : undefined,
    ...tuning,
  });
  const scheduled = new ScheduledRunner({
    connections,
    clock,
    invoke,
    log,
    instance: core.instanceId,
    lasting,
    onLostClaim: core.lostClaim,
    concurrency: options.scheduler?.concurrency,
  });
  const crons = new CronRunner({
    connections,
    clock,
    invoke,
    calls,
    log,
    instance: core.instanceId,
    lasting,
    onLostClaim: core.lostClaim,
  });
  crons.setJobs(registry.crons);

  // Idempotency records must outlive any sensible retry window: never less than a day.
  const retention = Math.max(options.invocationRetentionMs ?? 7 * DAY, DAY);
  const pruning = new Loop(
    clock,
    async () => {
      await connections.inWriteTransaction((store) => pruneInvocations(store.sql, clock.now() - retention));
      return HOUR;
    },
    () => undefined,
  );
  pruning.start();
  let workersRunning = !background;
  if (background) {
    // Work a stopped instance left running can no longer finish: on SQLite (one server per file)
    // that is every other instance's; on PostgreSQL, those whose heartbeat stopped.
    void instance!.startReaping(connections.backend === 'sqlite').then(
      () => {
        outbox.start();
        scheduled.start();
        crons.start();
        workersRunning = true;
      },
      (error: Error) => log(`background work did not start: ${error.message}`),
    );
  }

  return {
    call: (request) => callFunction(core, request),
    callQueries: (requests) => callQueries(core, requests),
    handleHttp: (request, path) => handleHttpRoute(core, request, path, (authorization) => authenticate(authorization)),
    authenticate: (authorization) => authenticate(authorization),
    runInMutation: (label, invoker, fn) => inMutation(core, label, invoker, fn),
    async replaceModules(modules) {
      const next = buildRegistry(modules, mapStack);
      const signature = schemaSignature(next.schema);
      searchIndexesBuilt = [];
      if (signature !== appliedSchema) {
        searchIndexesBuilt = await applySchema(connections, next.schema, log);
        appliedSchema = signature;
      }
      crons.setJobs(next.crons);
      // Always the new objects: nothing may keep the previous bundle reachable.
      connections.setSchema(next.schema);
      if (
        JSON.stringify(next.authProviders) !== JSON.stringify(registry.authProviders) ||
        Boolean(next.valetAuth) !== Boolean(registry.valetAuth)
      )
        verifier = verifierFor(next);
      registry = next;
    },
    functionPaths: () => [...registry.functions.keys()].sort(),
    now: () => clock.now(),
    get registry() {
      return registry;
    },
    valetAuth: { service: signIn, keys: signingKeys, issuer: ownIssuer },
    outbox,
    scheduled,
    crons,
    connections,
    instance,
    get workersRunning() {
      return workersRunning;
    },
    get searchIndexesBuilt() {
      return searchIndexesBuilt;
    },
    files,
    dev,
    get authConfigured() {
      return verifier.configured;
    },
    calls,
    metrics,
    migrations,
    mapStack,
    runOneOffQuery: (source, queryOptions) => runOneOffQuery(core, source, queryOptions),
    get lostClaims() {
      return lostClaims;
    },
    get closing() {
      return closing;
    },
    async close() {
      clearInterval(fileSweeper);
      const stage = async (name: string, work: () => Promise<unknown> | undefined) => {
        closing = name;
        await work();
      };
      // A running migration stops after its batch and gives its claim up: the next run resumes at once.
      await stage('a migration batch', () => migrations.stop());
      const background: [string, () => Promise<void>][] = [
        ['pruning', () => pruning.stop()],
        ['outbox sends in flight', () => outbox.stop()],
        ['scheduled calls in flight', () => scheduled.stop()],
        ['cron runs in flight', () => crons.stop()],
      ];
      const pending = new Set(background.map(([name]) => name));
      closing = [...pending].join(', ');
      await Promise.all(
        background.map(([name, stop]) =>
          stop().finally(() => {
            pending.delete(name);
            closing = [...pending].join(', ');
          }),
        ),
      );
      await stage('the lasting-state writer', () => lasting.close());
      await stage('the call log', () => calls.close());
      await stage('the trace exporter', () => tracer?.close());
      await stage("leaving the database's instances", () => instance?.stop());
      await stage('the database connections', () => connections.close());
      closing = null;
    },
  };

  async function authenticate(authorization: string | null | undefined): Promise<Invoker> {
    if (!authorization) return { type: 'anonymous' };
    const match = /^Bearer\s+(\S+)$/i.exec(authorization.trim());
    if (!match) throw new EngineError('token_malformed', 'the Authorization header must be "Bearer <token>"');
    if (!verifier.configured)
      throw new EngineError(
        'auth_not_configured',
        "this server verifies no tokens: add valet/auth.config.ts or set VALET_AUTH_* (or pass --dev-auth to valet start to trust the app's dev key)",
      );
    const user = await verifier.verify(match[1]!);
    if (user.own) {
      const sid = user.claims.sid;
      if (typeof sid !== 'string' || !(await signIn.sessionLive(sid)))
        throw new EngineError('session_revoked', 'the session of this token was signed out: sign in again');
      return { type: 'user', userId: user.userId, claims: user.claims, valetAuth: true };
    }
    return { type: 'user', userId: user.userId, claims: user.claims };
  }
}
