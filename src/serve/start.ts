// `valet start` as a programmatic API: build valet/ once, open the database, serve. No watching.
import { describeSearchBuilds } from '../storage/search-builds.js';
import { BundleMaps } from '../bundler/stack-map.js';
import { buildAndLoad } from '../bundler/evaluate.js';
import { loadPrebuilt } from '../bundler/prebuilt.js';
import { createEngine } from '../runtime/engine.js';
import type { Engine } from '../runtime/engine.js';
import { AppEnv } from '../project/env-files.js';
import { announceServer, refuseSecondServer, withdrawServer } from '../project/running-server.js';
import { createDashboard } from './dashboard-setup.js';
import { databaseTargetOf } from './database-target.js';
import { describeFetchAllow, parseFetchAllow } from '../runtime/fetch-guard/allow-list.js';
import { wholeNumberFromEnv } from './env-numbers.js';
import { exposureWarnings, isWildcardHost, listeningUrls } from './exposure.js';
import { captureLogs, describeTokenVerification, prepareHost } from './host.js';
import { DEFAULT_HOST, DEFAULT_SHUTDOWN_DRAIN_MS, DEFAULT_SHUTDOWN_GRACE_MS, listen } from './listen.js';
import type { RunningServer } from './listen.js';
import { shortInvocationId } from '../protocol/log-tag.js';

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
  /** `appDir` is a folder written by `valet build`: serve its bundle, build nothing. */
  prebuilt?: boolean;
  /** Serve the dashboard at /_dashboard/ (signed in through one-time links; see `dashboardLink`). */
  dashboard?: boolean;
}

export interface StartedApp {
  url: string;
  engine: Engine;
  server: RunningServer;
  functionCount: number;
  authSource: string;
  /** Where email goes: `smtp host:port`, or `capture` when no SMTP server is configured. */
  emailTransport: string;
  pushTransport: string;
  databasePath: string;
  /** Every URL it answers on (each interface's address with a wildcard --host). */
  listeningUrls: string[];
  /** What a non-loopback --host exposes (a dev key, the dashboard). */
  warnings: string[];
  /** Private destinations `fetch` may reach (VALET_FETCH_ALLOW), as given; '' when none. */
  fetchAllow: string;
  /** With `dashboard`: a one-time link that signs a browser in to it. */
  dashboardLink: string | null;
  close(): Promise<void>;
  /** Ends the shutdown drain at once (a second signal). */
  endDrain(): void;
}

/** A duration in ms from the environment (a whole number ≥ 0), or the default. */
export async function startApp(options: StartOptions): Promise<StartedApp> {
  const env = options.env ?? process.env;
  // VALET_SHUTDOWN_DRAIN_MS: how long /api/ready says 503 before the listener closes on SIGTERM;
  // VALET_SHUTDOWN_GRACE_MS: how long calls in flight may then take to finish.
  const drainMs = wholeNumberFromEnv(env, 'VALET_SHUTDOWN_DRAIN_MS', DEFAULT_SHUTDOWN_DRAIN_MS);
  const graceMs = wholeNumberFromEnv(env, 'VALET_SHUTDOWN_GRACE_MS', DEFAULT_SHUTDOWN_GRACE_MS);
  const { appDir } = options;
  const bindHost = options.host ?? DEFAULT_HOST;
  new AppEnv(appDir, 'production', env).apply();
  const database = databaseTargetOf(appDir, env, options.database);
  // A SQLite file has one server; instances sharing PostgreSQL are how Valet scales out.
  if (database.backend === 'sqlite') await refuseSecondServer(appDir, database);
  const maps = new BundleMaps(appDir);
  const modules = options.prebuilt ? loadPrebuilt(appDir, maps) : await buildAndLoad(appDir, maps);
  const host = await prepareHost({
    appDir,
    mode: 'start',
    env,
    bindHost,
    devAuth: options.devAuth,
    allowedHosts: options.allowedHosts,
    corsOrigins: options.corsOrigins,
  });
  const engine = await createEngine({
    modules,
    database: database.database,
    env,
    auth: host.auth,
    background: true,
    emailTransport: host.smtp ?? undefined,
    pushTransport: host.push.transport ?? undefined,
    allowInsecurePushEndpoints: host.push.allowLoopback,
    outbox: host.outbox,
    instances: host.instances,
    scheduler: host.scheduler,
    mapStack: (stack) => maps.rewriteStack(stack),
    describeError: (error) =>
      maps.rewriteStack(error instanceof Error ? (error.stack ?? error.message) : String(error)),
  });
  const dashboard = options.dashboard
    ? createDashboard({
        appDir,
        mode: 'start',
        adminKey: host.adminKey,
        database: database.display,
        connections: () => engine.connections,
        callsVersion: () => String(engine.calls.version),
      })
    : undefined;
  dashboard?.update({
    status: 'serving',
    functions: engine.functionPaths().length,
    searchIndexes: describeSearchBuilds(engine.searchIndexesBuilt),
  });
  let server: RunningServer;
  try {
    server = await listen(
      { engine, adminKey: host.adminKey, policy: host.policy, vapidPublicKey: host.push.publicKey, dashboard },
      options.port,
      bindHost,
    );
  } catch (error) {
    await engine.close();
    throw error;
  }
  announceServer(appDir, database, server.url);
  dashboard?.setUrl(server.url);
  const restoreConsole = captureLogs(
    appDir,
    (entry) =>
      // How a call ended goes to the log file (valet logs); failures already have their own line here.
      entry.outcome ||
      process.stderr.write(`[${entry.function} ${shortInvocationId(entry.invocation)}] ${entry.message}\n`),
    env,
  );
  return {
    url: server.url,
    engine,
    server,
    functionCount: engine.functionPaths().length,
    authSource: describeTokenVerification(host.authSource, engine.registry),
    emailTransport: host.smtp?.name ?? 'capture (no VALET_SMTP_URL: emails are stored and printed, not sent)',
    pushTransport: host.push.describe,
    dashboardLink: dashboard ? dashboard.access.issueLink(server.url) : null,
    databasePath: database.display,
    listeningUrls: isWildcardHost(bindHost) ? listeningUrls(bindHost, Number(new URL(server.url).port)) : [server.url],
    warnings: exposureWarnings(bindHost, { devAuth: options.devAuth, dashboard: options.dashboard }),
    fetchAllow: describeFetchAllow(parseFetchAllow(env.VALET_FETCH_ALLOW)),
    endDrain: () => server.endDrain(),
    /**
     * Graceful: /api/ready says 503 for the drain (VALET_SHUTDOWN_DRAIN_MS) while everything is still
     * served, then no new calls, in-flight ones finish (within VALET_SHUTDOWN_GRACE_MS), background
     * work stops, the instance leaves.
     */
    async close() {
      withdrawServer(appDir, database);
      if (drainMs > 0)
        process.stderr.write(
          `draining: /api/ready answers 503 for ${drainMs} ms while calls are still served (VALET_SHUTDOWN_DRAIN_MS); signal again to stop now\n`,
        );
      await server.close(graceMs, drainMs);
      await closeWithin(engine, graceMs);
      restoreConsole();
    },
  };
}

/**
 * Background work (scheduled calls, cron runs, outbox sends in flight) gets the same grace as calls
 * in flight; past it the instance leaves anyway, as if it had been killed: what it held is taken
 * over once its heartbeat is older than the TTL, and each piece of work is fenced by its claim.
 */
async function closeWithin(engine: Engine, graceMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const overran = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      process.stderr.write(
        `stopping: still waiting for ${engine.closing ?? 'the engine'} after ${graceMs} ms (VALET_SHUTDOWN_GRACE_MS); leaving anyway: other instances take over what this one held once its heartbeat is older than the TTL\n`,
      );
      resolve();
    }, graceMs);
  });
  await Promise.race([engine.close(), overran]);
  clearTimeout(timer);
}
