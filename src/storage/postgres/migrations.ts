// The engine's own tables on PostgreSQL, versioned in _valet_meta. Migrations run in one
// transaction under an advisory lock, so of several instances starting together one migrates and
// the others wait for it; a database from a newer Valet is refused.
import type pg from 'pg';
import { StorageError } from '../errors.js';

/** One advisory lock key for "Valet is migrating this database". */
const MIGRATION_LOCK = 7261330412;

const MIGRATIONS: string[] = [
  // 1: documents, the invocation log, the outbox, background work and client sequences, as of the
  // SQLite schema's version 5 (PostgreSQL support starts there).
  `
  CREATE TABLE _valet_documents (
    id text PRIMARY KEY,
    tbl text NOT NULL,
    creation_time double precision NOT NULL,
    doc jsonb NOT NULL
  );
  CREATE INDEX _valet_documents_by_table ON _valet_documents (tbl, creation_time, id);
  CREATE TABLE _valet_action_invocations (
    id text PRIMARY KEY,
    function text NOT NULL,
    principal text NOT NULL,
    invoker text NOT NULL,
    idempotency_key text,
    args text,
    args_hash text NOT NULL,
    sensitive integer NOT NULL,
    safe_to_retry integer NOT NULL,
    status text NOT NULL,
    http_status integer,
    result text,
    error text,
    attempts integer NOT NULL,
    started_at double precision NOT NULL,
    finished_at double precision,
    duration_ms double precision
  );
  CREATE UNIQUE INDEX _valet_action_invocations_by_key ON _valet_action_invocations (function, principal, idempotency_key) WHERE idempotency_key IS NOT NULL;
  CREATE INDEX _valet_action_invocations_by_start ON _valet_action_invocations (started_at);
  CREATE TABLE _valet_outbox (
    id text PRIMARY KEY,
    delivery_key text UNIQUE,
    recipients text NOT NULL,
    subject text NOT NULL,
    html text,
    text text,
    status text NOT NULL,
    attempts integer NOT NULL DEFAULT 0,
    next_attempt_at double precision NOT NULL,
    last_error text,
    created_at double precision NOT NULL,
    sent_at double precision,
    source text,
    lease_expires_at double precision
  );
  CREATE INDEX _valet_outbox_due ON _valet_outbox (status, next_attempt_at);
  CREATE TABLE _valet_cron_state (job text PRIMARY KEY, last_tick double precision NOT NULL);
  CREATE TABLE _valet_cron_runs (
    id text PRIMARY KEY,
    job text NOT NULL,
    function text NOT NULL,
    status text NOT NULL,
    scheduled_at double precision NOT NULL,
    dispatched_at double precision NOT NULL,
    finished_at double precision,
    catch_up integer NOT NULL DEFAULT 0,
    missed_runs integer NOT NULL DEFAULT 0,
    trigger text NOT NULL,
    error text
  );
  CREATE INDEX _valet_cron_runs_by_job ON _valet_cron_runs (job, dispatched_at);
  CREATE TABLE _valet_scheduled (
    id text PRIMARY KEY,
    function text NOT NULL,
    kind text NOT NULL,
    args text NOT NULL,
    run_at double precision NOT NULL,
    status text NOT NULL,
    created_at double precision NOT NULL,
    scheduled_by text,
    attempts integer NOT NULL DEFAULT 0,
    finished_at double precision,
    error text
  );
  CREATE INDEX _valet_scheduled_due ON _valet_scheduled (status, run_at);
  CREATE TABLE _valet_sync_clients (
    client_id text NOT NULL,
    principal text NOT NULL,
    last_seq integer NOT NULL,
    updated_at double precision NOT NULL,
    PRIMARY KEY (client_id, principal)
  );
  CREATE TABLE _valet_sync_results (
    client_id text NOT NULL,
    principal text NOT NULL,
    seq integer NOT NULL,
    status integer NOT NULL,
    body text NOT NULL,
    PRIMARY KEY (client_id, principal, seq)
  );
  `,
  // 2: several instances on one database: each running server is a row with a heartbeat, and work
  // in progress names the instance doing it, so only a dead instance's work is taken over. One
  // record per cron tick, whichever instance claims it. (SQLite's version 6.)
  `
  CREATE TABLE _valet_instances (
    id text PRIMARY KEY,
    started_at double precision NOT NULL,
    heartbeat_at double precision NOT NULL,
    pid integer NOT NULL,
    hostname text NOT NULL
  );
  ALTER TABLE _valet_action_invocations ADD COLUMN instance text;
  ALTER TABLE _valet_scheduled ADD COLUMN instance text;
  ALTER TABLE _valet_cron_runs ADD COLUMN instance text;
  ALTER TABLE _valet_outbox ADD COLUMN instance text;
  CREATE UNIQUE INDEX _valet_cron_runs_tick ON _valet_cron_runs (job, scheduled_at) WHERE trigger = 'schedule';
  `,
  // 3: Web Push beside email in the outbox: a channel per row, the browsers' subscriptions, and
  // every delivery attempt of every message; the invocation a dashboard re-run repeats, and a
  // failed invocation's stack.
  // (SQLite's version 7.)
  `
  ALTER TABLE _valet_action_invocations ADD COLUMN rerun_of text;
  ALTER TABLE _valet_action_invocations ADD COLUMN error_stack text;
  ALTER TABLE _valet_outbox ADD COLUMN channel text NOT NULL DEFAULT 'email';
  ALTER TABLE _valet_outbox ADD COLUMN payload text;
  ALTER TABLE _valet_outbox ADD COLUMN subscription_id text;
  CREATE INDEX _valet_outbox_by_channel ON _valet_outbox (channel, created_at);
  CREATE TABLE _valet_push_subscriptions (
    id text PRIMARY KEY,
    endpoint text NOT NULL UNIQUE,
    p256dh text NOT NULL,
    auth text NOT NULL,
    user_id text,
    created_at double precision NOT NULL,
    updated_at double precision NOT NULL,
    invalid_at double precision,
    invalid_reason text
  );
  CREATE INDEX _valet_push_subscriptions_by_user ON _valet_push_subscriptions (user_id);
  CREATE TABLE _valet_outbox_attempts (
    outbox_id text NOT NULL,
    attempt integer NOT NULL,
    at double precision NOT NULL,
    outcome text NOT NULL,
    detail text,
    PRIMARY KEY (outbox_id, attempt)
  );
  `,
  // 4: documents keep the text they were written as (jsonb reorders an object's keys), and the
  // jsonb that indexes and filters read is generated from it. Dropping the old column drops the
  // schema's expression indexes with it; the index sync at start rebuilds them.
  `
  ALTER TABLE _valet_documents ADD COLUMN body text;
  UPDATE _valet_documents SET body = doc::text;
  ALTER TABLE _valet_documents ALTER COLUMN body SET NOT NULL;
  ALTER TABLE _valet_documents DROP COLUMN doc;
  ALTER TABLE _valet_documents ADD COLUMN doc jsonb GENERATED ALWAYS AS (body::jsonb) STORED;
  `,
  // 5: what each write transaction changed, for the other instances' live queries: written with
  // the transaction (no NOTIFY in it, whose queue lock serialises commits), read by sequence after
  // a signal, pruned after a short while (runtime/connections/postgres-changes.ts). Unlogged: no
  // WAL of its own; a server crash empties it, and every instance, having lost its connection,
  // then re-runs every subscription and starts reading it afresh.
  `
  CREATE UNLOGGED TABLE _valet_changes (
    seq bigserial PRIMARY KEY,
    payload text NOT NULL
  );
  CREATE UNLOGGED TABLE _valet_changes_pruned (
    id integer PRIMARY KEY,
    up_to bigint NOT NULL
  );
  `,
  // 6: stored files (ctx.storage), as SQLite's version 8, and their bytes in chunks when they are
  // kept in the database (the default here: every instance reads them, no other service needed).
  `
  CREATE TABLE _valet_files (
    id text PRIMARY KEY,
    created_at double precision NOT NULL,
    content_type text,
    sha256 text NOT NULL,
    size bigint NOT NULL,
    location text NOT NULL
  );
  CREATE INDEX _valet_files_by_time ON _valet_files (created_at, id);
  CREATE TABLE _valet_file_uploads (
    id text PRIMARY KEY,
    expires_at double precision NOT NULL,
    file_id text
  );
  CREATE TABLE _valet_file_chunks (
    blob_id text NOT NULL,
    seq integer NOT NULL,
    data bytea NOT NULL,
    created_at double precision NOT NULL,
    PRIMARY KEY (blob_id, seq)
  );
  -- Bytes stored as they are: compressing a file's chunks (often images, already compressed) costs
  -- time both ways and seldom saves space.
  ALTER TABLE _valet_file_chunks ALTER COLUMN data SET STORAGE EXTERNAL;
  `,
  // 7: the activity log, the cause of scheduled calls and outbox rows, and data migrations'
  // progress, as SQLite's version 9.
  `
  CREATE TABLE _valet_calls (
    id text PRIMARY KEY,
    parent text,
    root text NOT NULL,
    path text NOT NULL,
    kind text NOT NULL,
    source text NOT NULL,
    caller text NOT NULL,
    instance text,
    started_at double precision NOT NULL,
    duration_ms double precision,
    outcome text NOT NULL,
    error_code text,
    invocation text,
    detail text
  );
  CREATE INDEX _valet_calls_by_start ON _valet_calls (started_at, id);
  CREATE INDEX _valet_calls_by_root ON _valet_calls (root, started_at);
  ALTER TABLE _valet_scheduled ADD COLUMN caused_by text;
  ALTER TABLE _valet_outbox ADD COLUMN caused_by text;
  CREATE TABLE _valet_migrations (
    name text PRIMARY KEY,
    table_name text NOT NULL,
    status text NOT NULL,
    cursor text,
    processed bigint NOT NULL DEFAULT 0,
    changed bigint NOT NULL DEFAULT 0,
    started_at double precision NOT NULL,
    updated_at double precision NOT NULL,
    finished_at double precision,
    error text,
    runner text,
    lease_until double precision,
    token bigint NOT NULL DEFAULT 0
  );
  `,
  // 8: valet/auth's sign-in, as SQLite's version 10.
  `
  CREATE TABLE _valet_auth_accounts (
    provider text NOT NULL,
    account text NOT NULL,
    user_id text NOT NULL,
    secret text,
    verified_at double precision,
    created_at double precision NOT NULL,
    PRIMARY KEY (provider, account)
  );
  CREATE INDEX _valet_auth_accounts_by_user ON _valet_auth_accounts (user_id);
  CREATE TABLE _valet_auth_sessions (
    id text PRIMARY KEY,
    user_id text NOT NULL,
    provider text NOT NULL,
    created_at double precision NOT NULL,
    last_used_at double precision NOT NULL,
    expires_at double precision NOT NULL,
    revoked_at double precision,
    revoked_reason text,
    client text
  );
  CREATE INDEX _valet_auth_sessions_by_user ON _valet_auth_sessions (user_id, created_at);
  CREATE TABLE _valet_auth_refresh_tokens (
    hash text PRIMARY KEY,
    session_id text NOT NULL,
    created_at double precision NOT NULL,
    expires_at double precision NOT NULL,
    used_at double precision
  );
  CREATE INDEX _valet_auth_refresh_by_session ON _valet_auth_refresh_tokens (session_id);
  CREATE TABLE _valet_auth_codes (
    id text PRIMARY KEY,
    purpose text NOT NULL,
    email text NOT NULL,
    hash text NOT NULL,
    created_at double precision NOT NULL,
    expires_at double precision NOT NULL,
    attempts bigint NOT NULL DEFAULT 0,
    used_at double precision,
    secret text
  );
  CREATE INDEX _valet_auth_codes_by_email ON _valet_auth_codes (email, purpose, created_at);
  CREATE TABLE _valet_auth_keys (
    kid text PRIMARY KEY,
    private_jwk text NOT NULL,
    public_jwk text NOT NULL,
    created_at double precision NOT NULL
  );
  CREATE TABLE _valet_auth_limits (
    key text PRIMARY KEY,
    window_start double precision NOT NULL,
    count bigint NOT NULL
  );
  `,
  // 9: OpenID Connect sign-in through valet/auth, as SQLite's version 11.
  `
  ALTER TABLE _valet_auth_accounts ADD COLUMN email text;
  -- Every account so far is a password or email-code one: its account is its address.
  UPDATE _valet_auth_accounts SET email = account;
  CREATE INDEX _valet_auth_accounts_by_email ON _valet_auth_accounts (email);
  CREATE TABLE _valet_auth_oauth (
    state_hash text PRIMARY KEY,
    provider text NOT NULL,
    pkce_verifier text NOT NULL,
    nonce text NOT NULL,
    callback_url text NOT NULL,
    return_to text NOT NULL,
    client_hash text NOT NULL,
    created_at double precision NOT NULL,
    expires_at double precision NOT NULL,
    code_hash text UNIQUE,
    user_id text,
    email text,
    email_verified integer,
    used_at double precision
  );
  CREATE INDEX _valet_auth_oauth_by_expiry ON _valet_auth_oauth (expires_at);
  `,
];

export const POSTGRES_SCHEMA_VERSION = MIGRATIONS.length;

export async function migratePostgres(pool: pg.Pool, where: string): Promise<{ from: number; to: number }> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    await client.query('CREATE TABLE IF NOT EXISTS _valet_meta (key text PRIMARY KEY, value text NOT NULL)');
    const row = await client.query("SELECT value FROM _valet_meta WHERE key = 'schema_version'");
    const from = row.rows[0] ? Number(row.rows[0].value) : 0;
    if (from > POSTGRES_SCHEMA_VERSION) {
      throw new StorageError(
        'database_too_new',
        `${where} was written by a newer Valet (database schema version ${from}; this Valet knows versions up to ${POSTGRES_SCHEMA_VERSION}). Upgrade Valet, or use another database.`,
      );
    }
    for (let version = from; version < POSTGRES_SCHEMA_VERSION; version++) await client.query(MIGRATIONS[version]!);
    await client.query(
      "INSERT INTO _valet_meta (key, value) VALUES ('schema_version', $1) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
      [String(POSTGRES_SCHEMA_VERSION)],
    );
    await client.query('COMMIT');
    return { from, to: POSTGRES_SCHEMA_VERSION };
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}
