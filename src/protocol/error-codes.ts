// Every error code Valet answers with, and the only place codes are made: its HTTP status, whose
// fault it is, whether asking again can help, and what it means. EngineError takes its status
// from here, clients decide what to retry from here, and docs/errors.md is generated from here
// (npm run docs:errors), so a code cannot mean one thing to the server and another to a client.

/** Whose mistake: the request, the app's code, its configuration, the database, or this server's state. */
export type ErrorFault = 'caller' | 'app' | 'operator' | 'storage' | 'server';

/**
 * `safe`: nothing was applied, the same call may succeed later (the server frees its
 * Idempotency-Key). `same_key`: the outcome is unknown or still being decided; ask again with the
 * same Idempotency-Key (or the queued mutation's own sequence) to learn it. `no`: the same call
 * fails the same way.
 */
export type ErrorRetry = 'safe' | 'same_key' | 'no';

export interface ErrorCodeInfo {
  status: number;
  fault: ErrorFault;
  retry: ErrorRetry;
  meaning: string;
}

const caller = (status: number, meaning: string): ErrorCodeInfo => ({ status, fault: 'caller', retry: 'no', meaning });
const app = (status: number, meaning: string): ErrorCodeInfo => ({ status, fault: 'app', retry: 'no', meaning });
const token = (meaning: string) => caller(401, meaning);
const passing = (status: number, fault: ErrorFault, meaning: string): ErrorCodeInfo => ({
  status,
  fault,
  retry: 'safe',
  meaning,
});

export const ERROR_CODES = {
  // The request itself.
  invalid_request: caller(400, 'The request is malformed: its body, a query parameter or a path segment.'),
  invalid_args: caller(400, "The args do not match the function's validators; the message names the path."),
  invalid_idempotency_key: caller(400, 'The Idempotency-Key header is empty, too long or not printable ASCII.'),
  invalid_cursor: caller(400, 'A pagination cursor that this query did not return.'),
  invalid_document: caller(
    400,
    'A document holds text no backend stores (U+0000, a lone UTF-16 surrogate), usually passed on from the caller; or the admin API was sent a document the schema refuses.',
  ),
  invalid_text: caller(400, 'An index bound holds text no backend stores (U+0000, a lone UTF-16 surrogate).'),
  invalid_email: caller(400, 'ctx.email.enqueue was given an address or message that cannot be sent.'),
  invalid_push: caller(400, 'ctx.push was given a subscription or notification that cannot be sent.'),
  wrong_function_kind: caller(400, 'The function exists but is another kind: call it at /api/<its kind>.'),
  unauthenticated: caller(401, 'The function needs a signed-in caller and no bearer token was sent.'),
  auth_not_configured: {
    status: 401,
    fault: 'operator',
    retry: 'no',
    meaning: 'The function needs a signed-in caller and this server verifies no tokens (set VALET_AUTH_*).',
  },
  token_malformed: token('The bearer token is not a JWT.'),
  auth_rate_limited: caller(
    429,
    'Too many sign-in attempts, codes or refreshes for this account or address: try again after the Retry-After seconds (data.retryAfterSeconds).',
  ),
  invalid_credentials: token('The email or password is wrong (which one is not said).'),
  session_revoked: token("The token's session was signed out or revoked (valet/auth): sign in again."),
  invalid_code: token('The code is wrong, used, or expired: ask for a new one.'),
  refresh_token_invalid: token(
    'The refresh token is unknown, expired, used before (its session is now revoked), or its session was signed out.',
  ),
  invalid_auth_request: caller(
    400,
    'A sign-in request valet/auth cannot take: the provider, flow or params are missing or wrong.',
  ),
  auth_not_enabled: caller(
    404,
    'This app does not sign people in itself: add valet/auth.ts (export const auth = valetAuth({ providers: [...] })).',
  ),
  oauth_state_invalid: caller(
    400,
    'An OpenID Connect callback for a sign-in that is unknown, expired or already called back (a replayed or forged state): start signing in again.',
  ),
  auth_provider_unavailable: passing(
    503,
    'operator',
    'An OpenID Connect provider of valet/auth.ts could not be reached, or its discovery document was missing or wrong: try again later.',
  ),
  auth_provider_unconfigured: {
    status: 503,
    fault: 'operator',
    retry: 'no',
    meaning:
      'An OpenID Connect provider of valet/auth.ts lacks its issuer, client id or client secret (an environment variable unset on this machine?).',
  },
  auth_keys_unavailable: {
    status: 503,
    fault: 'operator',
    retry: 'safe',
    meaning:
      "The signing keys of the token's provider (valet/auth.config.ts) could not be fetched: its discovery document or JWKS did not answer, or answered nonsense. The server tries again on the next token.",
  },
  token_expired: token('The bearer token has expired.'),
  token_not_yet_valid: token('The bearer token is not valid yet (nbf or iat in the future).'),
  token_issuer_invalid: token('The bearer token was issued by an issuer this server does not trust.'),
  token_audience_invalid: token('The bearer token is meant for another audience.'),
  token_signature_invalid: token("The bearer token's signature does not verify with any of the server's keys."),
  token_algorithm_not_allowed: token('The bearer token is signed with an algorithm the server does not accept.'),
  token_claim_missing: token('The bearer token lacks a claim the server needs (sub).'),
  admin_key_invalid: caller(401, 'The admin key is missing or wrong.'),
  dashboard_signed_out: caller(401, 'The dashboard session is missing or has expired: open a new sign-in link.'),
  host_not_allowed: caller(403, 'The Host header names a host this server does not answer.'),
  origin_not_allowed: caller(403, 'The Origin header names a page this server does not answer.'),
  function_not_found: caller(404, 'No function with this path (or one the caller may not see).'),
  route_not_found: caller(404, 'No HTTP route of the app matches this method and path.'),
  not_found: caller(404, 'No such endpoint, record or document.'),
  method_not_allowed: caller(405, 'The endpoint does not take this HTTP method.'),
  idempotency_in_flight: {
    status: 409,
    fault: 'caller',
    retry: 'same_key',
    meaning: 'A call with the same Idempotency-Key is still running: ask again with the same key for its outcome.',
  },
  out_of_order: caller(
    409,
    "A client's queued mutation arrived before the ones it sent earlier: send the queue in order.",
  ),
  result_not_retained: caller(
    409,
    'The call under this Idempotency-Key succeeded but its result is not kept (a sensitive action).',
  ),
  upload_url_invalid: caller(
    403,
    'An upload URL that has expired, was used already, or was not made by ctx.storage.generateUploadUrl.',
  ),
  invalid_state: caller(409, 'The record is not in a state that allows this (retry a message that is not failed).'),
  request_too_large: caller(413, 'The request body is larger than the server accepts.'),
  unsupported_media_type: caller(415, 'The request body is not JSON.'),
  idempotency_key_reused: caller(422, 'The Idempotency-Key was used before with other args; the handler did not run.'),
  too_many_subscriptions: caller(429, 'The WebSocket already holds the most live queries one connection may hold.'),

  // The app's code.
  application_error: app(500, 'The handler threw a ValetError: its message and data are passed through as thrown.'),
  handler_error: app(500, 'The handler threw (details are in the server log; dev servers show the message).'),
  invalid_return_value: app(500, "The handler's return value is not a Valet value or does not match `returns`."),
  invalid_route_response: app(500, 'An HTTP route handler did not return a Response.'),
  invalid_schedule: app(500, 'ctx.scheduler was given a delay, time or function it cannot schedule.'),
  invalid_transaction: app(500, 'ctx.db.transaction was used wrongly (not an async function).'),
  nested_transaction: app(500, 'ctx.db.transaction was called inside another transaction.'),
  storage_not_allowed: app(500, 'ctx.storage was used where it cannot be (get and store are for actions and routes).'),
  file_not_found: app(500, 'The handler deleted a stored file that does not exist (or was deleted already).'),
  not_allowed_in_transaction: app(500, 'An action transaction tried something only an action may do (fetch, run).'),
  ctx_used_after_finish: app(500, 'The handler used ctx after its call had finished (a promise left running).'),
  actions_nested_too_deep: app(500, 'Actions calling actions went deeper than the server allows.'),
  unknown_table: app(500, 'The handler used a table that valet/schema.ts does not declare.'),
  schema_violation: app(500, 'The handler wrote a document that its table schema refuses.'),
  unstorable_value: app(500, 'The handler wrote a value that is not a Valet value (a function, NaN, a Date…).'),
  invalid_write: app(
    500,
    'The handler called a ctx.db write wrongly (a patch that is not an object, a reserved field).',
  ),
  document_not_found: app(500, 'The handler patched, replaced or deleted a document that does not exist.'),
  id_conflict: app(500, 'The handler inserted a document with an id that is already taken.'),
  table_mismatch: app(500, 'The handler used an id of one table where another table was meant.'),
  invalid_query: app(500, 'The handler built a query wrongly (an unknown index, methods out of order, a bad filter).'),
  fetch_blocked: app(500, "The fetch guard refused the handler's request (a private address, a redirect there)."),
  fetch_not_allowed: app(500, 'fetch was called where it is not allowed (a query, a mutation, a transaction).'),
  query_timeout: app(504, 'The query did not finish within its time limit.'),
  mutation_timeout: app(504, 'The mutation did not finish within its time limit; nothing was written.'),
  action_timeout: app(504, 'The action did not finish within its time limit (writes it committed stay).'),
  route_timeout: app(504, 'The HTTP route did not answer within its time limit.'),
  migration_failed: app(
    500,
    "A migration's migrateOne threw (or wrote what the schema refuses): that batch rolled back and the migration stopped; run it again to resume once fixed.",
  ),

  // The database.
  storage_unavailable: passing(
    503,
    'storage',
    'The database is busy, unreachable or failing: the call was not applied.',
  ),
  storage_full: passing(507, 'storage', 'The database is out of space: the call was not applied.'),
  conflict_retries: passing(
    503,
    'storage',
    'The write kept conflicting with concurrent writes and was given up: it was not applied.',
  ),
  outcome_unknown: {
    status: 503,
    fault: 'storage',
    retry: 'same_key',
    meaning:
      'The database broke off while the write committed, or its outcome could not be recorded yet: ask again with the same Idempotency-Key to learn it.',
  },
  storage_interrupted: {
    status: 500,
    fault: 'storage',
    retry: 'no',
    meaning: 'The database failed during an action after some of its writes had (perhaps) committed.',
  },

  // This server's state.
  shutting_down: passing(503, 'server', 'The server is shutting down: ask another instance or again shortly.'),
  app_not_ready: passing(503, 'server', 'The app has no working build yet (valet dev: fix the error it prints).'),
  not_ready: passing(503, 'server', 'The server is starting, or its database does not answer (/api/ready).'),
  too_many_connections: passing(503, 'server', 'The server holds as many connections as it may.'),
  migration_busy: passing(
    409,
    'server',
    'Another runner holds this migration (one at a time across instances): wait for it to finish or for its lease to lapse.',
  ),
  claim_lost: {
    status: 500,
    fault: 'server',
    retry: 'no',
    meaning: 'Another instance took this work over (this one paused past its lease): its writes were not committed.',
  },
  interrupted: {
    status: 500,
    fault: 'server',
    retry: 'no',
    meaning: 'The server stopped while the action ran; it is not safeToRetry, so it was not run again.',
  },
  internal_error: {
    status: 500,
    fault: 'server',
    retry: 'no',
    meaning: 'A bug in Valet: the server log has the stack. Please report it.',
  },
} as const satisfies Record<string, ErrorCodeInfo>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** Codes the clients (valet/client, valet/react) make themselves, when no server answer arrived. */
export const CLIENT_ERROR_CODES = {
  connection_lost:
    'The connection failed while the call ran: it may or may not have run (a safeToRetry action is retried first).',
  unknown_error: 'An answer without a Valet error body (a proxy in between, say), kept with its HTTP status.',
  upload_aborted: 'uploadFile was aborted (its signal) before the server answered.',
  invalid_upload_url: "uploadFile's mutation returned something other than an upload URL.",
} as const;

export type ClientErrorCode = keyof typeof CLIENT_ERROR_CODES;

export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && Object.hasOwn(ERROR_CODES, code);
}

/** Codes whose call decided nothing: asking again may work, and the server keeps no outcome for them. */
export const PASSING_CODES: ReadonlySet<ErrorCode> = new Set(
  (Object.keys(ERROR_CODES) as ErrorCode[]).filter((code) => ERROR_CODES[code].retry === 'safe'),
);

/** Whether asking again (the same way, with the same key) may get another answer. */
export function mayRetry(code: string): boolean {
  return isErrorCode(code) && ERROR_CODES[code].retry !== 'no';
}
