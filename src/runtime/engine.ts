// createEngine: the programmatic heart of Valet. Give it the loaded modules of valet/ and a
// database file; call functions in-process with `call`, or serve them with the HTTP handler.
import type { Invoker } from '../server/ctx.js';
import { applySchemaIndexes } from '../storage/indexes.js';
import type { AuthConfig } from './auth.js';
import { verifyToken } from './auth.js';
import type { Clock } from './clock.js';
import { systemClock } from './clock.js';
import { Connections } from './connections.js';
import { EngineError } from './errors.js';
import { installFetchGuard, systemResolver } from './fetch-guard.js';
import type { FetchPolicy, Resolver } from './fetch-guard.js';
import { callFunction } from './invoke.js';
import type { CallRequest, CallResponse, EngineCore } from './invoke.js';
import { pruneInvocations } from './invocations.js';
import type { LoadedModules } from './registry.js';
import { buildRegistry } from './registry.js';
import type { Registry } from './registry.js';
import { findSchemaViolations, SchemaMismatchError, schemaSignature } from './schema-check.js';

export interface EngineOptions {
  modules: LoadedModules;
  dbPath: string;
  clock?: Clock;
  /** Where VALET_DEV is read from (loopback fetches, error detail). Defaults to process.env. */
  env?: NodeJS.ProcessEnv;
  /** How bearer tokens are verified; without it, only anonymous and admin calls work. */
  auth?: AuthConfig | null;
  /** DNS for the fetch guard (tests inject their own). */
  resolve?: Resolver;
  readerPoolSize?: number;
  functionTimeoutMs?: number;
  /** Invocation records are kept at least this long (minimum 24 h). */
  invocationRetentionMs?: number;
  log?: (line: string) => void;
  /** Turns a handler's error into the text logged (dev maps bundle frames back to valet/ files). */
  describeError?: (error: unknown) => string;
}

const HOUR = 60 * 60 * 1000;
const DAY = 24 * HOUR;

export interface Engine {
  call(request: CallRequest): Promise<CallResponse>;
  /** Turns an Authorization header into an invoker; throws EngineError(401) for a bad token. */
  authenticate(authorization: string | null | undefined): Promise<Invoker>;
  /** Swaps in newly built modules (dev reload); in-flight calls finish on the old ones. */
  replaceModules(modules: LoadedModules): void;
  /** Canonical paths of the functions served now. */
  functionPaths(): string[];
  readonly connections: Connections;
  readonly dev: boolean;
  close(): void;
}

function refuseMismatchedData(connections: Connections, schema: Registry['schema']): void {
  const problems = findSchemaViolations(connections.autoCommitReader, schema);
  if (problems.length > 0) throw new SchemaMismatchError(problems);
}

export function createEngine(options: EngineOptions): Engine {
  const env = options.env ?? process.env;
  const clock = options.clock ?? systemClock;
  const dev = env.VALET_DEV === '1';
  let registry = buildRegistry(options.modules);
  const connections = new Connections(options.dbPath, registry.schema, () => clock.now(), options.readerPoolSize);
  try {
    refuseMismatchedData(connections, registry.schema);
  } catch (error) {
    connections.close();
    throw error;
  }
  applySchemaIndexes(connections.writerDb, registry.schema);
  let appliedSchema = schemaSignature(registry.schema);
  // Idempotency records must outlive any sensible retry window: never less than a day.
  const retention = Math.max(options.invocationRetentionMs ?? 7 * DAY, DAY);
  let closed = false;
  let pruneTimer: unknown;
  const prune = () => {
    if (closed) return;
    // Housekeeping: a failure (say, the database closing under it) is simply retried next hour.
    connections.withWriter((store) => pruneInvocations(store.db, clock.now() - retention)).catch(() => undefined);
    pruneTimer = clock.setTimeout(prune, HOUR);
  };
  prune();

  installFetchGuard();
  const fetchPolicy: FetchPolicy = { allowLoopback: dev, resolve: options.resolve ?? systemResolver };
  const core: EngineCore = {
    connections,
    get registry() {
      return registry;
    },
    clock,
    fetchPolicy,
    dev,
    functionTimeoutMs: options.functionTimeoutMs ?? 30_000,
    log: options.log ?? ((line) => process.stderr.write(`${line}\n`)),
    describeError: options.describeError ?? ((error) => (error instanceof Error ? (error.stack ?? error.message) : String(error))),
  };

  return {
    call: (request) => callFunction(core, request),
    async authenticate(authorization) {
      if (!authorization) return { type: 'anonymous' };
      const match = /^Bearer\s+(\S+)$/i.exec(authorization.trim());
      if (!match) throw new EngineError('token_malformed', 401, 'the Authorization header must be "Bearer <token>"');
      if (!options.auth) throw new EngineError('auth_not_configured', 401, 'this server has no token verification configured (set VALET_AUTH_* or use valet dev)');
      const user = await verifyToken(options.auth, match[1]!);
      return { type: 'user', userId: user.userId, claims: user.claims };
    },
    replaceModules(modules) {
      const next = buildRegistry(modules);
      const signature = schemaSignature(next.schema);
      if (signature !== appliedSchema) {
        refuseMismatchedData(connections, next.schema);
        applySchemaIndexes(connections.writerDb, next.schema);
        appliedSchema = signature;
      }
      // Always the new objects: nothing may keep the previous bundle reachable.
      connections.setSchema(next.schema);
      registry = next;
    },
    functionPaths: () => [...registry.functions.keys()].sort(),
    connections,
    dev,
    close() {
      closed = true;
      clock.clearTimeout(pruneTimer);
      connections.close();
    },
  };
}
