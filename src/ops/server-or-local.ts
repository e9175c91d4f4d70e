// What CLI commands do against an app goes through its running server when there is one (so the
// server's clients see the effect and its logs show it), and otherwise runs in-process on the
// app's database with an engine built the way `valet start` builds it. This is the one place
// that decides which.
import { buildAndLoad } from '../bundler/evaluate.js';
import { BundleMaps } from '../bundler/stack-map.js';
import { UserError } from '../errors/user-error.js';
import { AppEnv } from '../project/env-files.js';
import { loadOrCreateAdminKey } from '../project/keys.js';
import { findRunningServer } from '../project/running-server.js';
import { createEngine } from '../runtime/engine.js';
import type { Engine } from '../runtime/engine.js';
import { databaseTargetOf } from '../serve/database-target.js';
import { captureLogs } from '../serve/host.js';

export interface ServerHandle {
  url: string;
  /** fetch with the app's admin key, relative to the server's URL. */
  fetch(path: string, init?: RequestInit): Promise<Response>;
}

export interface AppTarget<T> {
  viaServer(server: ServerHandle): Promise<T>;
  inProcess(engine: Engine): Promise<T>;
}

/** The running server of the database this command would touch (VALET_DATABASE_URL, --database, else the app's file). */
export async function runningServerOf(
  appDir: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<ServerHandle | null> {
  new AppEnv(appDir, 'development', env).apply();
  const record = await findRunningServer(appDir, databaseTargetOf(appDir, env));
  if (!record) return null;
  const adminKey = process.env.VALET_ADMIN_KEY?.trim() || loadOrCreateAdminKey(appDir);
  return {
    url: record.url,
    fetch: (path, init = {}) =>
      fetch(`${record.url}${path}`, {
        ...init,
        headers: { ...(init.headers as Record<string, string>), 'x-valet-admin-key': adminKey },
      }),
  };
}

/** An engine on the app's database, built now; its functions' console output goes to stderr and the log file. */
export async function openLocalEngine(
  appDir: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ engine: Engine; close(): Promise<void> }> {
  new AppEnv(appDir, 'development', env).apply();
  const maps = new BundleMaps(appDir);
  const modules = await buildAndLoad(appDir, maps);
  const engine = await createEngine({
    modules,
    database: databaseTargetOf(appDir, env).database,
    env,
    log: (line) => process.stderr.write(`${line}\n`),
    mapStack: (stack) => maps.rewriteStack(stack),
    describeError: (error) =>
      maps.rewriteStack(error instanceof Error ? (error.stack ?? error.message) : String(error)),
  });
  const restoreConsole = captureLogs(
    appDir,
    (entry) => entry.outcome || process.stderr.write(`[${entry.function}] ${entry.message}\n`),
  );
  return {
    engine,
    async close() {
      restoreConsole();
      await engine.close();
    },
  };
}

export async function withLocalEngine<T>(
  appDir: string,
  work: (engine: Engine) => Promise<T>,
  env: NodeJS.ProcessEnv = process.env,
): Promise<T> {
  const local = await openLocalEngine(appDir, env);
  try {
    return await work(local.engine);
  } finally {
    await local.close();
  }
}

/** For commands that must not work on a database a server holds (valet import): the reason, as an error. */
export async function refuseBesideRunningServer(appDir: string, command: string, advice: string): Promise<void> {
  const server = await runningServerOf(appDir);
  if (server)
    throw new UserError(
      `valet ${command}: ${databaseTargetOf(appDir).display} is served by a running Valet server (${server.url}): ${advice}`,
    );
}

export async function throughServerOrInProcess<T>(
  appDir: string,
  target: AppTarget<T>,
  env?: NodeJS.ProcessEnv,
): Promise<T & { via: 'server' | 'in-process' }> {
  const server = await runningServerOf(appDir, env);
  if (server) return { ...(await target.viaServer(server)), via: 'server' };
  return { ...(await withLocalEngine(appDir, target.inProcess, env)), via: 'in-process' };
}
