// What `valet dev` and `valet start` set up the same way around an engine: who may connect (hosts
// and origins), how tokens are verified, where email goes, where function logs go, how the outbox
// is tuned, and the record that tells other commands (and a second server) this app is served.
import type { AuthConfig } from '../runtime/auth/verify.js';
import { authConfigFromEnv, devAuthConfig } from '../runtime/auth/config.js';
import type { ProviderSpec } from '../runtime/auth/providers.js';
import type { LogEntry } from '../runtime/function-logs.js';
import { captureFunctionConsole, logFileSink } from '../runtime/function-logs.js';
import { secretRedactor } from '../runtime/redact.js';
import { smtpConfigFromEnv, smtpTransport } from '../runtime/outbox/transports.js';
import type { EmailTransport } from '../runtime/outbox/transports.js';
import type { InstanceOptions } from '../runtime/instances.js';
import { preparePush } from './push-setup.js';
import type { PushSetup } from './push-setup.js';
import { accessPolicyFrom } from '../http/security.js';
import type { AccessPolicy, ServerMode } from '../http/security.js';
import { DEV_AUDIENCE, DEV_ISSUER, loadOrCreateAdminKey, loadOrCreateDevKey } from '../project/keys.js';
import { devKeyPathOf, logsPathOf } from '../project/paths.js';
import { relative } from 'node:path';

export interface HostOptions {
  appDir: string;
  mode: ServerMode;
  env: NodeJS.ProcessEnv;
  /** The address to bind (127.0.0.1 unless --host). */
  bindHost: string;
  allowedHosts?: string[];
  corsOrigins?: string[];
  /** `valet start` trusts the app's dev key only when told to (`--dev-auth`); dev always does. */
  devAuth?: boolean;
}

export interface HostSetup {
  policy: AccessPolicy;
  adminKey: string;
  auth: AuthConfig | null;
  /** For the ready line: where tokens are verified against, or why none are. */
  authSource: string;
  /** SMTP when configured; null means the capture transport. */
  smtp: EmailTransport | null;
  outbox: OutboxTuning;
  instances: InstanceOptions;
  scheduler: { concurrency?: number };
  push: PushSetup;
}

export interface OutboxTuning {
  leaseMs?: number;
  maxAttempts?: number;
  sendTimeoutMs?: number;
  concurrency?: number;
}

/**
 * VALET_OUTBOX_LEASE_MS, VALET_OUTBOX_MAX_ATTEMPTS, VALET_OUTBOX_SEND_TIMEOUT_MS and
 * VALET_OUTBOX_CONCURRENCY tune delivery (defaults: 60 s, 8, 20 s, 10 sends at once).
 */
export function outboxTuning(env: NodeJS.ProcessEnv): OutboxTuning {
  return {
    leaseMs: positive(env.VALET_OUTBOX_LEASE_MS),
    maxAttempts: positive(env.VALET_OUTBOX_MAX_ATTEMPTS),
    sendTimeoutMs: positive(env.VALET_OUTBOX_SEND_TIMEOUT_MS),
    concurrency: positive(env.VALET_OUTBOX_CONCURRENCY),
  };
}

/** VALET_SCHEDULER_CONCURRENCY: scheduled calls run at once per instance (default 10). */
export function schedulerTuning(env: NodeJS.ProcessEnv): { concurrency?: number } {
  return { concurrency: positive(env.VALET_SCHEDULER_CONCURRENCY) };
}

/** VALET_HEARTBEAT_MS and VALET_INSTANCE_TTL_MS: how instances on one database tell each other they live (defaults: 5 s, 30 s). */
export function instanceTuning(env: NodeJS.ProcessEnv): InstanceOptions {
  const heartbeatMs = positive(env.VALET_HEARTBEAT_MS);
  const ttlMs = positive(env.VALET_INSTANCE_TTL_MS);
  return { heartbeatMs, ttlMs };
}

function positive(value: string | undefined): number | undefined {
  return value && Number.isInteger(Number(value)) && Number(value) > 0 ? Number(value) : undefined;
}

async function authFor(options: HostOptions): Promise<{ auth: AuthConfig | null; source: string }> {
  const fromEnv = authConfigFromEnv(options.env);
  if (fromEnv) return { auth: fromEnv, source: fromEnv.source };
  if (options.mode === 'dev' || options.devAuth) {
    const key = await loadOrCreateDevKey(options.appDir);
    const source = `the app's dev key (${relative(options.appDir, devKeyPathOf(options.appDir))})`;
    return { auth: devAuthConfig(key.publicJwk, DEV_ISSUER, DEV_AUDIENCE, source), source };
  }
  return {
    auth: null,
    source:
      'nothing: no VALET_AUTH_* set, so signed-in calls answer 401 auth_not_configured (--dev-auth trusts the dev key)',
  };
}

/** The ready line's "tokens verified by …": the environment's (or dev key's), then valet/auth.config.ts's providers. */
export function describeTokenVerification(
  hostSource: string,
  registry: { authProviders: readonly ProviderSpec[] | null; valetAuth: unknown } | null,
): string {
  const listed: string[] = [];
  if (registry?.valetAuth) listed.push("valet/auth (the app's own sign-in)");
  if (registry?.authProviders?.length)
    listed.push(`valet/auth.config.ts (${registry.authProviders.map((p) => p.label).join(', ')})`);
  if (listed.length === 0) return hostSource;
  return hostSource.startsWith('nothing:') ? listed.join(' and ') : `${hostSource} and ${listed.join(' and ')}`;
}

export async function prepareHost(options: HostOptions): Promise<HostSetup> {
  const { auth, source } = await authFor(options);
  const smtpConfig = smtpConfigFromEnv(options.env);
  return {
    policy: accessPolicyFrom(options.mode, options.bindHost, options.env, {
      allowedHosts: options.allowedHosts,
      corsOrigins: options.corsOrigins,
    }),
    // Instances on several machines share one admin key through the environment.
    adminKey: options.env.VALET_ADMIN_KEY?.trim() || loadOrCreateAdminKey(options.appDir),
    auth,
    authSource: source,
    smtp: smtpConfig ? await smtpTransport(smtpConfig) : null,
    outbox: outboxTuning(options.env),
    instances: instanceTuning(options.env),
    scheduler: schedulerTuning(options.env),
    push: preparePush(options.mode, options.env, options.appDir, outboxTuning(options.env).sendTimeoutMs),
  };
}

/**
 * Routes functions' console output to .valet/logs.ndjson and `onEntry`, with configured secrets
 * redacted (a function that logs its API key must not leave it in a file); returns the restore.
 */
export function captureLogs(
  appDir: string,
  onEntry: (entry: LogEntry) => void,
  env: NodeJS.ProcessEnv = process.env,
): () => void {
  const sink = logFileSink(logsPathOf(appDir));
  const redact = secretRedactor(env);
  return captureFunctionConsole((raw) => {
    const entry = { ...raw, message: redact(raw.message) };
    sink(entry);
    onEntry(entry);
  });
}
