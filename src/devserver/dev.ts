// `valet dev` as a programmatic API: codegen → build → swap, on every save, with the server
// staying up throughout. A broken save reports file:line and the last good build keeps serving.
import { statSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { Finding } from '../check/finding.js';
import { CodegenError } from '../codegen/analyse.js';
import { findModuleFiles } from '../codegen/find-modules.js';
import { runCodegen } from '../codegen/index.js';
import { typecheckApp } from '../check/typecheck.js';
import { devAuthConfig, loadOrCreateAdminKey, signDevToken } from '../runtime/dev-keys.js';
import { createEngine } from '../runtime/engine.js';
import { captureTransport, smtpConfigFromEnv, smtpTransport } from '../runtime/outbox/transports.js';
import type { OutgoingEmail } from '../runtime/outbox/transports.js';
import type { Engine } from '../runtime/engine.js';
import type { LogEntry } from '../runtime/function-logs.js';
import { captureFunctionConsole, logFileSink } from '../runtime/function-logs.js';
import { SchemaMismatchError } from '../runtime/schema-check.js';
import { BackgroundTypecheck } from './background-typecheck.js';
import { BuildError, createAppBuilder, evaluateBundle, ModuleLoadError } from './build.js';
import type { HttpContext } from './http.js';
import { ReloadQueue } from './reload-queue.js';
import { listen } from './server.js';
import type { RunningServer } from './server.js';
import { BundleMaps } from './stack-map.js';
import { outboxTuning } from './start.js';
import { announceServer, databasePathOf, stateDirOf, withdrawServer } from './state.js';
import { watchApp } from './watch.js';
import type { AppWatcher } from './watch.js';

export interface Problem {
  file?: string;
  line?: number;
  column?: number;
  message: string;
}

export type DevEvent =
  | { type: 'ready'; url: string; functions: number; ms: number }
  | { type: 'reloaded'; changed: string[]; functions: number; ms: number; generated: string[] }
  | { type: 'failed'; stage: 'codegen' | 'build' | 'load' | 'schema' | 'types'; changed: string[]; problems: Problem[]; keptServing: boolean }
  | { type: 'types'; errors: Finding[] }
  | { type: 'log'; entry: LogEntry }
  | { type: 'email'; email: OutgoingEmail };

export interface DevOptions {
  appDir: string;
  port: number;
  /** background (default): report type errors without blocking; blocking: a type error stops the reload; off. */
  typecheck?: 'background' | 'blocking' | 'off';
  /** Build, codegen and apply the schema, then return (no server, no watching). */
  once?: boolean;
  onEvent?: (event: DevEvent) => void;
  quietMs?: number;
}

export interface DevServer {
  url: string | null;
  /** Resolves once no reload is running. */
  idle(): Promise<void>;
  engine(): Engine | null;
  close(): Promise<void>;
}

class ReloadFailure extends Error {
  constructor(
    readonly stage: Extract<DevEvent, { type: 'failed' }>['stage'],
    readonly problems: Problem[],
  ) {
    super(problems.map((p) => p.message).join('\n'));
  }
}

function problemsOf(error: unknown): ReloadFailure {
  if (error instanceof ReloadFailure) return error;
  if (error instanceof CodegenError) return new ReloadFailure('codegen', error.diagnostics);
  if (error instanceof BuildError) return new ReloadFailure('build', error.messages.map((m) => ({ file: m.file, line: m.line, column: m.column, message: m.text })));
  if (error instanceof ModuleLoadError) {
    const where = /^(valet\/[^:]+):(\d+)/.exec(error.message);
    return new ReloadFailure('load', [{ file: where?.[1], line: where ? Number(where[2]) : undefined, message: error.message }]);
  }
  if (error instanceof SchemaMismatchError) return new ReloadFailure('schema', [{ file: 'valet/schema.ts', message: error.message }]);
  return new ReloadFailure('load', [{ message: error instanceof Error ? error.message : String(error) }]);
}

/** Modification times of valet/ modules and the given extra sources, keyed by app-relative path. */
function modificationTimes(appDir: string, extra: string[]): Map<string, number> {
  const times = new Map<string, number>();
  const files = [...findModuleFiles(join(appDir, 'valet')).map((f) => join(appDir, 'valet', f)), ...extra];
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

export async function startDev(options: DevOptions): Promise<DevServer> {
  const started = performance.now();
  const { appDir } = options;
  const emit = options.onEvent ?? (() => undefined);
  const typecheckMode = options.typecheck ?? 'background';
  process.env.VALET_DEV = '1';
  const stateDir = stateDirOf(appDir);
  const maps = new BundleMaps(appDir);
  const builder = createAppBuilder(appDir);
  const context: HttpContext = {
    engine: null,
    adminKey: loadOrCreateAdminKey(stateDir),
    notReadyReason: 'the app has not built successfully yet: see the valet dev terminal',
    devToken: (userId) => signDevToken(stateDir, userId),
  };
  const auth = await devAuthConfig(stateDir);
  // Dev captures email unless an SMTP server is configured explicitly.
  const smtpConfig = smtpConfigFromEnv(process.env);
  const smtp = smtpConfig ? await smtpTransport(smtpConfig) : null;
  const logSink = logFileSink(join(stateDir, 'logs.ndjson'));
  const restoreConsole = options.once
    ? () => undefined
    : captureFunctionConsole((entry) => {
        logSink(entry);
        emit({ type: 'log', entry });
      });
  let watcher: AppWatcher | null = null;
  let server: RunningServer | null = null;
  let queue: ReloadQueue | null = null;
  const typecheck = typecheckMode === 'background' ? new BackgroundTypecheck(appDir, (errors) => emit({ type: 'types', errors })) : null;

  let sources: string[] = [];

  /** One reload: each stage can fail, and then nothing after it runs and the old build stays. */
  async function reload(changed: string[]): Promise<void> {
    const began = performance.now();
    const before = modificationTimes(appDir, sources);
    try {
      const { written } = runCodegen(appDir);
      const bundle = await builder.build();
      if (typecheckMode === 'blocking') {
        const errors = (await typecheckApp(appDir)).findings.filter((f) => f.severity === 'error');
        if (errors.length > 0) throw new ReloadFailure('types', errors.map((f) => ({ file: f.file, line: f.line, column: f.column, message: `${f.rule}: ${f.message}` })));
      }
      const modules = evaluateBundle(bundle, appDir, maps);
      if (context.engine) {
        context.engine.replaceModules(modules);
        // New code may answer differently: live queries get the new answers.
        void server?.sync.refreshAll();
      }
      else {
        context.engine = createEngine({
          modules,
          dbPath: databasePathOf(appDir),
          env: process.env,
          auth,
          background: !options.once,
          emailTransport: smtp ?? captureTransport((email) => emit({ type: 'email', email })),
          outbox: outboxTuning(process.env),
          describeError: (error) => maps.rewriteStack(error instanceof Error ? (error.stack ?? error.message) : String(error)),
        });
      }
      await watcher?.track(bundle.inputs);
      sources = bundle.inputs;
      const ms = Math.round(performance.now() - began);
      emit({ type: 'reloaded', changed, functions: context.engine.functionPaths().length, ms, generated: written });
      typecheck?.request();
    } catch (error) {
      const failure = problemsOf(error);
      if (!context.engine) context.notReadyReason = `the app does not build: ${failure.message}`;
      emit({ type: 'failed', stage: failure.stage, changed, problems: failure.problems, keptServing: context.engine !== null });
    }
    // A save during the reload may have been coalesced away by the watcher: catch it here.
    for (const file of differences(before, modificationTimes(appDir, sources))) queue?.notify(file);
  }

  await reload([]);
  if (options.once) {
    const ok = context.engine !== null;
    await context.engine?.close();
    await builder.dispose();
    restoreConsole();
    if (!ok) throw new Error('valet dev --once: the app did not build');
    return { url: null, idle: async () => undefined, engine: () => null, close: async () => undefined };
  }

  try {
    server = await listen(context, options.port);
  } catch (error) {
    await context.engine?.close();
    await builder.dispose();
    restoreConsole();
    throw error;
  }
  const running = server;
  announceServer(appDir, running.url);
  queue = new ReloadQueue(reload, options.quietMs);
  watcher = await watchApp(appDir, (file) => queue!.notify(file));
  await watcher.track(sources);
  emit({ type: 'ready', url: running.url, functions: context.engine?.functionPaths().length ?? 0, ms: Math.round(performance.now() - started) });

  return {
    url: running.url,
    idle: () => queue!.idle(),
    engine: () => context.engine,
    async close() {
      queue!.stop();
      await watcher?.close();
      await queue!.idle();
      withdrawServer(appDir);
      await running.close();
      await context.engine?.close();
      await builder.dispose();
      restoreConsole();
    },
  };
}
