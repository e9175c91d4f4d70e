// `valet dev` as a programmatic API: codegen → build → swap, on every save, with the server
// staying up throughout. Failures are classified as Convex's dev loop does: the user's mistake (a
// broken module, a schema the data does not fit) is reported with file:line while the last good
// build keeps serving; a transient file error (a save caught mid-write) is retried with backoff;
// anything else is a bug in Valet, reported as one, and ends the dev server.
import { existsSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { Finding } from '../check/finding.js';
import { CodegenError } from '../codegen/analyse.js';
import { findBundleFiles } from '../codegen/find-modules.js';
import { runCodegen } from '../codegen/index.js';
import { typecheckApp } from '../check/typecheck.js';
import { BuildError, createAppBuilder } from '../bundler/build.js';
import { evaluateBundle, ModuleLoadError } from '../bundler/evaluate.js';
import { BundleMaps } from '../bundler/stack-map.js';
import { isTransientFileError, UserError } from '../errors/user-error.js';
import type { HttpContext } from '../http/types.js';
import { AppEnv } from '../project/env-files.js';
import { signDevToken } from '../project/keys.js';
import { announceServer, refuseSecondServer, withdrawServer } from '../project/running-server.js';
import { createEngine } from '../runtime/engine.js';
import { unlistedFunctions } from '../runtime/registry.js';
import type { UnlistedFunction } from '../runtime/registry.js';
import type { Engine } from '../runtime/engine.js';
import type { LogEntry } from '../runtime/function-logs.js';
import { captureTransport } from '../runtime/outbox/transports.js';
import { capturePushTransport } from '../runtime/outbox/push-transport.js';
import type { DashboardHost } from '../http/dashboard/host.js';
import { codeFrame } from '../project/code-frame.js';
import { createDashboard } from '../serve/dashboard-setup.js';
import type { OutgoingPush } from '../runtime/outbox/push-transport.js';
import type { OutgoingEmail } from '../runtime/outbox/transports.js';
import { SchemaMismatchError } from '../runtime/schema-check.js';
import { databaseTargetOf } from '../serve/database-target.js';
import { exposureWarnings, isWildcardHost, listeningUrls } from '../serve/exposure.js';
import { captureLogs, describeTokenVerification, prepareHost } from '../serve/host.js';
import { DEFAULT_HOST, listen } from '../serve/listen.js';
import type { RunningServer } from '../serve/listen.js';
import { describeSearchBuilds } from '../storage/search-builds.js';
import { BackgroundTypecheck } from './background-typecheck.js';
import { ReloadQueue } from './reload-queue.js';
import { watchApp } from './watch.js';
import type { AppWatcher } from './watch.js';

export interface Problem {
  file?: string;
  line?: number;
  column?: number;
  message: string;
}

/** Where a reload's time went (ms): codegen, the esbuild build, evaluating the bundle, swapping it in. */
export interface ReloadStages {
  codegen: number;
  build: number;
  evaluate: number;
  swap: number;
}

export type DevEvent =
  | {
      type: 'ready';
      url: string;
      functions: number;
      ms: number;
      authSource: string;
      database: string;
      dashboard: string;
      listeningUrls: string[];
      warnings: string[];
      /** The search indexes the start built from stored documents (`describeSearchBuilds`), or null. */
      searchIndexes: string | null;
      /** Where stored files' bytes are (`folder …`, `postgres …`). */
      files: string;
    }
  | {
      type: 'reloaded';
      changed: string[];
      functions: number;
      ms: number;
      generated: string[];
      stages: ReloadStages;
      /** The search indexes this reload built from stored documents, or null. */
      searchIndexes: string | null;
    }
  /** Variables of the .env files that changed (names only: their values may be secrets). */
  | { type: 'env'; changed: string[] }
  | {
      type: 'failed';
      stage: 'codegen' | 'build' | 'load' | 'schema' | 'types';
      changed: string[];
      problems: Problem[];
      keptServing: boolean;
    }
  | { type: 'types'; errors: Finding[] }
  | { type: 'log'; entry: LogEntry }
  /** Functions the engine serves that the generated api does not list. */
  | { type: 'unlisted'; functions: UnlistedFunction[] }
  | { type: 'email'; email: OutgoingEmail }
  | { type: 'push'; message: OutgoingPush }
  /** A bug in Valet itself: the dev server stops; the error carries its stack. */
  | { type: 'fatal'; error: unknown };

/** The dashboard's header follows the reloads: serving, or the last failure with its code frame. */
function observeForDashboard(dashboard: DashboardHost, event: DevEvent, appDir: string): void {
  const framed = (problem: Problem) => ({
    ...problem,
    frame:
      problem.file && problem.line ? codeFrame(appDir, problem.file, problem.line, problem.column ?? 1) : undefined,
  });
  if (event.type === 'ready' || event.type === 'reloaded')
    dashboard.update({
      status: 'serving',
      functions: event.functions,
      error: null,
      searchIndexes: event.searchIndexes,
    });
  else if (event.type === 'failed') {
    dashboard.update({
      status: event.keptServing ? 'serving' : 'failed',
      error: {
        stage: event.stage,
        problems: event.problems.map(framed),
        keptServing: event.keptServing,
        at: new Date().toISOString(),
      },
    });
  } else if (event.type === 'types')
    dashboard.update({
      typeErrors: event.errors.map((f) =>
        framed({ file: f.file, line: f.line, column: f.column, message: `${f.rule}: ${f.message}` }),
      ),
    });
}

export interface DevOptions {
  appDir: string;
  port: number;
  host?: string;
  allowedHosts?: string[];
  corsOrigins?: string[];
  /** background (default): report type errors without blocking; blocking: a type error stops the reload; off. */
  typecheck?: 'background' | 'blocking' | 'off';
  /** Build, codegen and apply the schema, then return (no server, no watching). */
  once?: boolean;
  onEvent?: (event: DevEvent) => void;
  quietMs?: number;
  env?: NodeJS.ProcessEnv;
  /** A postgres:// URL or a SQLite file; VALET_DATABASE_URL, else .valet/valet.db, when not given. */
  database?: string;
}

export interface DevServer {
  url: string | null;
  /** Resolves once no reload is running. */
  idle(): Promise<void>;
  engine(): Engine | null;
  /** Resolves with the error when the dev server stops on a bug of Valet's. */
  fatal: Promise<unknown>;
  close(): Promise<void>;
}

type Stage = Extract<DevEvent, { type: 'failed' }>['stage'];

/** A reload stage's failure, as the user reads it. */
class ReloadFailure extends UserError {
  constructor(
    readonly stage: Stage,
    readonly problems: Problem[],
  ) {
    super(problems.map((p) => p.message).join('\n'));
  }
}

/** User errors by their stage; null for anything else (a bug, or a transient file error). */
function userFailureOf(error: unknown): ReloadFailure | null {
  if (error instanceof ReloadFailure) return error;
  if (error instanceof CodegenError) return new ReloadFailure('codegen', error.diagnostics);
  if (error instanceof BuildError)
    return new ReloadFailure(
      'build',
      error.messages.map((m) => ({ file: m.file, line: m.line, column: m.column, message: m.text })),
    );
  if (error instanceof SchemaMismatchError)
    return new ReloadFailure('schema', [{ file: 'valet/schema.ts', message: error.message }]);
  if (error instanceof ModuleLoadError || error instanceof UserError) {
    return new ReloadFailure('load', [
      {
        file: error.location?.file,
        line: error.location?.line,
        column: error.location?.column,
        message: error.message,
      },
    ]);
  }
  return null;
}

/** Modification times of valet/ modules and the given extra sources, keyed by app-relative path. */
function modificationTimes(appDir: string, extra: string[]): Map<string, number> {
  const times = new Map<string, number>();
  const files = [...findBundleFiles(join(appDir, 'valet')).map((f) => join(appDir, 'valet', f)), ...extra];
  for (const file of files) {
    try {
      times.set(relative(appDir, file).replaceAll('\\', '/'), statSync(file).mtimeMs);
    } catch {
      times.set(relative(appDir, file).replaceAll('\\', '/'), -1);
    }
  }
  return times;
}

function differences(before: Map<string, number>, after: Map<string, number>): string[] {
  const changed = [...after].filter(([file, time]) => before.get(file) !== time).map(([file]) => file);
  const removed = [...before.keys()].filter((file) => !after.has(file));
  return [...changed, ...removed];
}

const TRANSIENT_RETRIES = 5;

/** A reload whose inputs changed while it ran: dropped before its build is swapped in (the next one follows). */
class SupersededReload extends Error {}

export async function startDev(options: DevOptions): Promise<DevServer> {
  const started = performance.now();
  const { appDir } = options;
  const report = options.onEvent ?? (() => undefined);
  let dashboard: DashboardHost | null = null;
  // Every event the terminal gets, the dashboard's header hears too.
  const emit = (event: DevEvent) => {
    if (dashboard) observeForDashboard(dashboard, event, appDir);
    report(event);
  };
  const typecheckMode = options.typecheck ?? 'background';
  const env = options.env ?? process.env;
  env.VALET_DEV = '1';
  const appEnv = new AppEnv(appDir, 'development', env);
  appEnv.apply();
  const bindHost = options.host ?? DEFAULT_HOST;
  const database = databaseTargetOf(appDir, env, options.database);
  if (!options.once) await refuseSecondServer(appDir, database);
  const maps = new BundleMaps(appDir);
  const builder = createAppBuilder(appDir);
  const host = await prepareHost({
    appDir,
    mode: 'dev',
    env,
    bindHost,
    allowedHosts: options.allowedHosts,
    corsOrigins: options.corsOrigins,
  });
  const context: HttpContext = {
    engine: null,
    adminKey: host.adminKey,
    policy: host.policy,
    vapidPublicKey: host.push.publicKey,
    notReadyReason: 'the app has not built successfully yet: see the valet dev terminal',
    devToken: (userId) => signDevToken(appDir, userId),
    // An agent's one-off read-only queries (valet mcp): development only.
    oneOffQueries: true,
  };
  if (!options.once) {
    dashboard = createDashboard({
      appDir,
      mode: 'dev',
      adminKey: host.adminKey,
      database: database.display,
      connections: () => context.engine?.connections ?? null,
      callsVersion: () => String(context.engine?.calls.version ?? 0),
    });
    context.dashboard = dashboard;
  }
  const restoreConsole = options.once ? () => undefined : captureLogs(appDir, (entry) => emit({ type: 'log', entry }));
  let watcher: AppWatcher | null = null;
  let server: RunningServer | null = null;
  let queue: ReloadQueue | null = null;
  let reportFatal: (error: unknown) => void = () => undefined;
  const fatal = new Promise<unknown>((resolve) => (reportFatal = resolve));
  const typecheck =
    typecheckMode === 'background'
      ? new BackgroundTypecheck(appDir, (errors) => emit({ type: 'types', errors }))
      : null;
  let sources: string[] = [];

  async function rebuild(
    superseded: () => boolean = () => false,
  ): Promise<{ generated: string[]; stages: ReloadStages }> {
    // .env files may have changed too: functions read process.env when they run.
    const envChanged = appEnv.apply();
    if (envChanged.length > 0 && context.engine) emit({ type: 'env', changed: envChanged });
    let mark = performance.now();
    const lap = () => {
      const now = performance.now();
      const ms = Math.round((now - mark) * 10) / 10;
      mark = now;
      return ms;
    };
    const { written, model } = runCodegen(appDir);
    const codegenMs = lap();
    const bundle = await builder.build();
    const buildMs = lap();
    // A file saved meanwhile may have been read half-written (esbuild reads from its own
    // process): such a build is never swapped in; the reload queued after this one builds it whole.
    if (superseded()) throw new SupersededReload();
    if (typecheckMode === 'blocking') {
      const errors = (await typecheckApp(appDir)).findings.filter((f) => f.severity === 'error');
      if (errors.length > 0)
        throw new ReloadFailure(
          'types',
          errors.map((f) => ({ file: f.file, line: f.line, column: f.column, message: `${f.rule}: ${f.message}` })),
        );
    }
    const modules = evaluateBundle(bundle, appDir, maps);
    const evaluateMs = lap();
    if (context.engine) {
      await context.engine.replaceModules(modules);
    } else {
      context.engine = await createEngine({
        modules,
        database: database.database,
        env,
        auth: host.auth,
        background: !options.once,
        emailTransport: host.smtp ?? captureTransport((email) => emit({ type: 'email', email })),
        pushTransport: host.push.transport ?? capturePushTransport((message) => emit({ type: 'push', message })),
        allowInsecurePushEndpoints: host.push.allowLoopback,
        outbox: host.outbox,
        instances: host.instances,
        scheduler: host.scheduler,
        mapStack: (stack) => maps.rewriteStack(stack),
        describeError: (error) =>
          maps.rewriteStack(error instanceof Error ? (error.stack ?? error.message) : String(error)),
      });
      // The first good build after the server began listening: its file URLs name the server.
      if (server) context.engine.files.setServerUrl(server.url);
    }
    const swapMs = lap();
    const modulesInApi = model.modules.map((m) => m.path);
    const unlisted = unlistedFunctions(context.engine.registry, modulesInApi, (stack) => maps.rewriteStack(stack));
    if (unlisted.length > 0) emit({ type: 'unlisted', functions: unlisted });
    // New code may answer differently (and a first build answers subscriptions made before it).
    void server?.sync.refreshAll();
    // Every .env file of the mode, existing or not yet: creating .env.local reloads too.
    await watcher?.track(bundle.inputs, appEnv.files());
    sources = [...bundle.inputs, ...appEnv.files().filter((file) => existsSync(file))];
    return { generated: written, stages: { codegen: codegenMs, build: buildMs, evaluate: evaluateMs, swap: swapMs } };
  }

  /** One reload: each stage can fail, and then nothing after it runs and the old build stays. */
  async function reload(changed: string[]): Promise<void> {
    const began = performance.now();
    const watched = sources;
    const before = modificationTimes(appDir, watched);
    // A file saved while this reload ran may have been read at one stage and not another (codegen
    // saw the old text, the build the new): the reload that follows, queued below, is the one to
    // report. Only once the server runs (the first build must report).
    const superseded = () => {
      if (!queue) return false;
      const now = modificationTimes(appDir, watched);
      return [...before].some(([file, time]) => now.get(file) !== time);
    };
    for (let attempt = 0; ; attempt++) {
      try {
        const { generated, stages } = await rebuild(superseded);
        if (superseded()) break;
        emit({
          type: 'reloaded',
          changed,
          functions: context.engine!.functionPaths().length,
          ms: Math.round(performance.now() - began),
          generated,
          stages,
          searchIndexes: describeSearchBuilds(context.engine!.searchIndexesBuilt),
        });
        typecheck?.request();
        break;
      } catch (error) {
        if (error instanceof SupersededReload) break;
        if (isTransientFileError(error) && attempt < TRANSIENT_RETRIES) {
          await new Promise((resolve) => setTimeout(resolve, 50 * 2 ** attempt));
          continue;
        }
        const failure =
          userFailureOf(error) ??
          (isTransientFileError(error) ? new ReloadFailure('load', [{ message: (error as Error).message }]) : null);
        if (!failure) {
          if (options.once || !server) throw error;
          reportFatal(error);
          emit({ type: 'fatal', error });
          return;
        }
        if (!context.engine) context.notReadyReason = `the app does not build: ${failure.message}`;
        if (superseded()) break;
        emit({
          type: 'failed',
          stage: failure.stage,
          changed,
          problems: failure.problems,
          keptServing: context.engine !== null,
        });
        break;
      }
    }
    // A save during the reload may have been coalesced away by the watcher: catch it here.
    for (const file of differences(before, modificationTimes(appDir, sources))) queue?.notify(file);
  }

  const cleanUp = async () => {
    typecheck?.close();
    await context.engine?.close();
    await builder.dispose();
    restoreConsole();
  };

  try {
    await reload([]);
  } catch (error) {
    await cleanUp();
    throw error;
  }
  if (options.once) {
    const ok = context.engine !== null;
    await cleanUp();
    if (!ok) throw new UserError('valet dev --once: the app did not build (see above)');
    return { url: null, idle: async () => undefined, engine: () => null, fatal, close: async () => undefined };
  }

  try {
    server = await listen(context, options.port, bindHost);
  } catch (error) {
    await cleanUp();
    throw error;
  }
  const running = server;
  announceServer(appDir, database, running.url);
  dashboard?.setUrl(running.url);
  queue = new ReloadQueue(reload, options.quietMs);
  watcher = await watchApp(appDir, (file) => queue!.notify(file));
  await watcher.track(sources);
  emit({
    type: 'ready',
    url: running.url,
    functions: context.engine?.functionPaths().length ?? 0,
    ms: Math.round(performance.now() - started),
    authSource: describeTokenVerification(host.authSource, context.engine?.registry ?? null),
    database: database.display,
    dashboard: dashboard!.access.issueLink(running.url),
    listeningUrls: isWildcardHost(bindHost)
      ? listeningUrls(bindHost, Number(new URL(running.url).port))
      : [running.url],
    // valet dev always trusts its dev key and serves the dashboard.
    warnings: exposureWarnings(bindHost, { devAuth: true, dashboard: true }),
    searchIndexes: describeSearchBuilds(context.engine?.searchIndexesBuilt ?? []),
    files: context.engine?.files.blobs.description ?? 'not known until the app builds',
  });

  return {
    url: running.url,
    idle: () => queue!.idle(),
    engine: () => context.engine,
    fatal,
    async close() {
      queue!.stop();
      await watcher?.close();
      await queue!.idle();
      withdrawServer(appDir, database);
      await running.close();
      await cleanUp();
    },
  };
}
