// `valet start` as a programmatic API: build valet/ once, open the database, serve. No watching.
import { join } from 'node:path';
import { authConfigFromEnv } from '../runtime/auth.js';
import type { AuthConfig } from '../runtime/auth.js';
import { devAuthConfig, loadOrCreateAdminKey } from '../runtime/dev-keys.js';
import { createEngine } from '../runtime/engine.js';
import { captureFunctionConsole, logFileSink } from '../runtime/function-logs.js';
import { smtpConfigFromEnv, smtpTransport } from '../runtime/outbox/transports.js';
import type { Engine } from '../runtime/engine.js';
import { buildAndLoad } from './build.js';
import { listen } from './server.js';
import { announceServer, databasePathOf, stateDirOf, withdrawServer } from './state.js';

export interface StartOptions {
  appDir: string;
  port: number;
  env?: NodeJS.ProcessEnv;
}

export interface StartedApp {
  url: string;
  engine: Engine;
  functionCount: number;
  authSource: string;
  /** Where email goes: `smtp host:port`, or `capture` when no SMTP server is configured. */
  emailTransport: string;
  databasePath: string;
  close(): Promise<void>;
}

/** Production auth from the environment; without it, the app's dev key (so a local start works). */
async function authFor(appDir: string, env: NodeJS.ProcessEnv): Promise<AuthConfig> {
  return authConfigFromEnv(env) ?? (await devAuthConfig(stateDirOf(appDir)));
}

/** VALET_OUTBOX_LEASE_MS and VALET_OUTBOX_MAX_ATTEMPTS tune delivery (defaults: 60 s, 8). */
export function outboxTuning(env: NodeJS.ProcessEnv): { leaseMs?: number; maxAttempts?: number } {
  const number = (value: string | undefined) => (value && Number.isInteger(Number(value)) && Number(value) > 0 ? Number(value) : undefined);
  return { leaseMs: number(env.VALET_OUTBOX_LEASE_MS), maxAttempts: number(env.VALET_OUTBOX_MAX_ATTEMPTS) };
}

export async function startApp(options: StartOptions): Promise<StartedApp> {
  const env = options.env ?? process.env;
  const stateDir = stateDirOf(options.appDir);
  const modules = await buildAndLoad(options.appDir);
  const auth = await authFor(options.appDir, env);
  const databasePath = databasePathOf(options.appDir);
  const smtp = smtpConfigFromEnv(env);
  const emailTransport = smtp ? await smtpTransport(smtp) : undefined;
  const engine = createEngine({ modules, dbPath: databasePath, env, auth, background: true, emailTransport, outbox: outboxTuning(env) });
  let server;
  try {
    server = await listen({ engine, adminKey: loadOrCreateAdminKey(stateDir) }, options.port);
  } catch (error) {
    await engine.close();
    throw error;
  }
  announceServer(options.appDir, server.url);
  const logSink = logFileSink(join(stateDir, 'logs.ndjson'));
  const restoreConsole = captureFunctionConsole((entry) => {
    logSink(entry);
    process.stderr.write(`[${entry.function} ${entry.invocation.slice(0, 8)}] ${entry.message}\n`);
  });
  return {
    url: server.url,
    engine,
    functionCount: engine.functionPaths().length,
    authSource: auth.source,
    emailTransport: emailTransport?.name ?? 'capture (no VALET_SMTP_URL: emails are stored and printed, not sent)',
    databasePath: join('.valet', 'valet.db'),
    async close() {
      restoreConsole();
      withdrawServer(options.appDir);
      await server.close();
      await engine.close();
    },
  };
}
