// Idempotency keys with Stripe / IETF-draft semantics, on the invocation log. The claim runs in
// one write transaction (serializable on PostgreSQL), so of any number of concurrent duplicates,
// on any number of instances, exactly one starts the handler; the rest see it running (409), or
// its stored outcome once it finished.
import type { ErrorBody } from '../../protocol/errors.js';
import { createHmac, randomBytes } from 'node:crypto';
import type { DocumentStore } from '../../storage/documents.js';
import type { SqlExecutor } from '../../storage/sql.js';
import { newId } from '../../storage/ids.js';
import { EngineError } from '../errors.js';
import type { InvocationRow, InvocationStatus } from './store.js';

export type Claim =
  | { kind: 'run'; id: string; attempt: number }
  | { kind: 'replay'; status: number; body: unknown }
  | { kind: 'refuse'; error: EngineError };

export interface ClaimRequest {
  path: string;
  principal: string;
  invoker: unknown;
  idempotencyKey: string | null;
  args: unknown;
  sensitive: boolean;
  safeToRetry: boolean;
  now: number;
  /** The instance running it (runtime/instances.ts), or null. */
  instance: string | null;
}

/** JSON with sorted keys, so `{a,b}` and `{b,a}` hash alike. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : 1));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

/** The secret never changes once written, so each engine reads it once (keyed by its connections). */
const secrets = new WeakMap<object, string>();

/**
 * The per-database secret, created by the first claim ever. Another instance creating it at the
 * same moment makes one of the two transactions conflict (PostgreSQL) and retry, reading it.
 */
async function hashSecret(store: DocumentStore, owner: object): Promise<string> {
  let secret = secrets.get(owner);
  if (secret) return secret;
  const row = await store.sql.get<{ value: string }>("SELECT value FROM _valet_meta WHERE key = 'args_hash_secret'");
  secret = row?.value ?? randomBytes(32).toString('hex');
  if (!row) await store.sql.run("INSERT INTO _valet_meta (key, value) VALUES ('args_hash_secret', ?)", [secret]);
  else secrets.set(owner, secret);
  return secret;
}

/** Keyed with a per-database secret: a stored hash of a sensitive action's args reveals nothing. */
async function argsHash(store: DocumentStore, owner: object, args: unknown): Promise<string> {
  return createHmac('sha256', await hashSecret(store, owner))
    .update(canonicalJson(args))
    .digest('hex');
}

function storedBody(row: InvocationRow): unknown {
  return row.status === 'succeeded'
    ? { value: row.result === null ? null : JSON.parse(row.result) }
    : JSON.parse(row.error ?? 'null');
}

/** Inside a write transaction; `owner` (the engine's connections) keys the cached secret. */
export async function claimInvocation(store: DocumentStore, owner: object, request: ClaimRequest): Promise<Claim> {
  const hash = await argsHash(store, owner, request.args);
  if (request.idempotencyKey !== null) {
    const row = await store.sql.get<InvocationRow>(
      'SELECT * FROM _valet_action_invocations WHERE function = ? AND principal = ? AND idempotency_key = ?',
      [request.path, request.principal, request.idempotencyKey],
    );
    if (row) {
      if (row.args_hash !== hash) {
        return {
          kind: 'refuse',
          error: new EngineError(
            'idempotency_key_reused',
            `Idempotency-Key "${request.idempotencyKey}" was already used for ${request.path} with other arguments`,
          ),
        };
      }
      if (row.status === 'running') {
        return {
          kind: 'refuse',
          error: new EngineError(
            'idempotency_in_flight',
            `a call to ${request.path} with Idempotency-Key "${request.idempotencyKey}" is still running; retry later`,
          ),
        };
      }
      // An interrupted attempt is retried like a failed one when the action says that is safe;
      // otherwise its replay is the `interrupted` error (500: the outcome is unknown, and asking
      // again cannot change that, so it is not a 409 "try later").
      const retryable = row.status === 'failed' || row.status === 'timeout' || row.status === 'interrupted';
      if (retryable && request.safeToRetry) {
        const attempt = row.attempts + 1;
        await store.sql.run(
          "UPDATE _valet_action_invocations SET status = 'running', attempts = ?, started_at = ?, finished_at = NULL, duration_ms = NULL, http_status = NULL, result = NULL, error = NULL, instance = ? WHERE id = ?",
          [attempt, request.now, request.instance, row.id],
        );
        return { kind: 'run', id: row.id, attempt };
      }
      if (row.status === 'succeeded' && row.sensitive) {
        return {
          kind: 'refuse',
          error: new EngineError(
            'result_not_retained',
            `${request.path} is sensitive: its result went to the first caller only and is not kept for replays`,
          ),
        };
      }
      return { kind: 'replay', status: row.http_status ?? 500, body: storedBody(row) };
    }
  }
  const id = newId();
  await store.sql.run(
    `INSERT INTO _valet_action_invocations (id, function, principal, invoker, idempotency_key, args, args_hash, sensitive, safe_to_retry, status, attempts, started_at, instance)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'running', 1, ?, ?)`,
    [
      id,
      request.path,
      request.principal,
      JSON.stringify(request.invoker),
      request.idempotencyKey,
      request.sensitive ? null : JSON.stringify(request.args ?? null),
      hash,
      request.sensitive ? 1 : 0,
      request.safeToRetry ? 1 : 0,
      request.now,
      request.instance,
    ],
  );
  return { kind: 'run', id, attempt: 1 };
}

export interface Outcome {
  status: Exclude<InvocationStatus, 'running'>;
  httpStatus: number;
  result?: unknown;
  error?: ErrorBody;
  /** The failure's stack, mapped to valet/ files: for the admin's eyes (never replayed to callers). */
  stack?: string;
}

/**
 * Records how an attempt ended. The attempt number is the fence: once another attempt claimed the
 * invocation (a safeToRetry re-run), this one's finish changes nothing, and says so (false). An
 * `interrupted` verdict of this same attempt — another instance took this one for dead, perhaps
 * only because the database was out of reach for everyone — is replaced by the outcome, which
 * is the truth the caller is told. `freeKey` clears the idempotency key: a transient failure that
 * decided nothing leaves the key free for a retry.
 */
export async function finishInvocation(
  sql: SqlExecutor,
  id: string,
  attempt: number,
  outcome: Outcome,
  sensitive: boolean,
  now: number,
  freeKey = false,
): Promise<boolean> {
  const { changes } = await sql.run(
    `UPDATE _valet_action_invocations SET status = ?, http_status = ?, result = ?, error = ?, error_stack = ?, finished_at = ?, duration_ms = ? - started_at,
       idempotency_key = CASE WHEN ? = 1 THEN NULL ELSE idempotency_key END
     WHERE id = ? AND attempts = ? AND status IN ('running', 'interrupted')`,
    [
      outcome.status,
      outcome.httpStatus,
      sensitive || outcome.result === undefined ? null : JSON.stringify(outcome.result),
      outcome.error ? JSON.stringify(outcome.error) : null,
      outcome.stack ?? null,
      now,
      now,
      freeKey ? 1 : 0,
      id,
      attempt,
    ],
  );
  return changes > 0;
}
