// `valet start` as a programmatic API: build valet/ once, open the database, serve. No watching.
import { BundleMaps } from '../bundler/stack-map.js';
import { buildAndLoad } from '../bundler/evaluate.js';
import { createEngine } from '../runtime/engine.js';
import type { Engine } from '../runtime/engine.js';
import { AppEnv } from '../project/env-files.js';
import { announceServer, refuseSecondServer, withdrawServer } from '../project/running-server.js';
import { databaseTargetOf } from './database-target.js';
import { captureLogs, prepareHost } from './host.js';
import { DEFAULT_HOST, listen } from './listen.js';
import type { RunningServer } from './listen.js';

export interface StartOptions {
  appDir: string;
  port: number;
  host?: string;
  env?: NodeJS.ProcessEnv;
  /** Trust tokens signed with the app's dev key (.valet/), for a local production-style run. */
  devAuth?: boolean;
  allowedHosts?: string[];
  corsOrigins?: string[];
  /** A postgres:// URL or a SQLite file; VALET_DATABASE_URL, else .valet/valet.db, when not given. */
  database?: string;
}

export interface StartedApp {
  url: string;
  engine: Engine;
  server: RunningServer;
  functionCount: number;
  authSource: string;
  /** Where email goes: `smtp host:port`, or `capture` when no SMTP server is configured. */
  emailTransport: string;
  databasePath: string;
  close(): Promise<void>;
}

export async function startApp(options: StartOptions): Promise<StartedApp> {
  const env = options.env ?? process.env;
  const { appDir } = options;
  const bindHost = options.host ?? DEFAULT_HOST;
  new AppEnv(appDir, 'production', env).apply();
  const database = databaseTargetOf(appDir, env, options.database);
  // A SQLite file has one server; instances sharing PostgreSQL are how Valet scales out.
  if (database.backend === 'sqlite') await refuseSecondServer(appDir);
  const maps = new BundleMaps(appDir);
  const modules = await buildAndLoad(appDir, maps);
  const host = await prepareHost({ appDir, mode: 'start', env, bindHost, devAuth: options.devAuth, allowedHosts: options.allowedHosts, corsOrigins: options.corsOrigins });
  const engine = await createEngine({
    modules,
    database: database.database,
    env,
    auth: host.auth,
    background: true,
    emailTransport: host.smtp ?? undefined,
    outbox: host.outbox,
    mapStack: (stack) => maps.rewriteStack(stack),
    describeError: (error) => maps.rewriteStack(error instanceof Error ? (error.stack ?? error.message) : String(error)),
  });
  let server: RunningServer;
  try {
    server = await listen({ engine, adminKey: host.adminKey, policy: host.policy }, options.port, bindHost);
  } catch (error) {
    await engine.close();
    throw error;
  }
  announceServer(appDir, server.url);
  const restoreConsole = captureLogs(appDir, (entry) => process.stderr.write(`[${entry.function} ${entry.invocation.slice(0, 8)}] ${entry.message}\n`));
  return {
    url: server.url,
    engine,
    server,
    functionCount: engine.functionPaths().length,
    authSource: host.authSource,
    emailTransport: host.smtp?.name ?? 'capture (no VALET_SMTP_URL: emails are stored and printed, not sent)',
    databasePath: database.display,
    async close() {
      restoreConsole();
      withdrawServer(appDir);
      await server.close();
      await engine.close();
    },
  };
}
