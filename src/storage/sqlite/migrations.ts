// The engine's own tables, versioned with `PRAGMA user_version`. Each migration moves the
// database one version up inside one transaction; a database from a newer Valet is refused.
import type Database from 'better-sqlite3';
import { StorageError } from '../errors.js';

const MIGRATIONS: ((db: Database.Database) => void)[] = [
  // 1: documents, the engine's metadata and the action invocation log.
  (db) => {
    db.exec(`
      CREATE TABLE _valet_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      CREATE TABLE _valet_documents (
        id TEXT PRIMARY KEY,
        tbl TEXT NOT NULL,
        creation_time REAL NOT NULL,
        doc TEXT NOT NULL
      );
      CREATE INDEX _valet_documents_by_table ON _valet_documents (tbl, creation_time, id);
      CREATE TABLE _valet_action_invocations (
        id TEXT PRIMARY KEY,
        function TEXT NOT NULL,
        principal TEXT NOT NULL,
        invoker TEXT NOT NULL,
        idempotency_key TEXT,
        args TEXT,
        args_hash TEXT NOT NULL,
        sensitive INTEGER NOT NULL,
        safe_to_retry INTEGER NOT NULL,
        status TEXT NOT NULL,
        http_status INTEGER,
        result TEXT,
        error TEXT,
        attempts INTEGER NOT NULL,
        started_at REAL NOT NULL,
        finished_at REAL,
        duration_ms REAL
      );
      CREATE UNIQUE INDEX _valet_action_invocations_by_key
        ON _valet_action_invocations (function, principal, idempotency_key) WHERE idempotency_key IS NOT NULL;
      CREATE INDEX _valet_action_invocations_by_start ON _valet_action_invocations (started_at);
    `);
  },
  // 2: the email outbox (rows are written transactionally by ctx.email.enqueue).
  (db) => {
    db.exec(`
      CREATE TABLE _valet_outbox (
        id TEXT PRIMARY KEY,
        delivery_key TEXT UNIQUE,
        recipients TEXT NOT NULL,
        subject TEXT NOT NULL,
        html TEXT,
        text TEXT,
        status TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at REAL NOT NULL,
        last_error TEXT,
        created_at REAL NOT NULL,
        sent_at REAL,
        source TEXT
      );
      CREATE INDEX _valet_outbox_due ON _valet_outbox (status, next_attempt_at);
    `);
  },
  // 3: background work — outbox leases, cron state and runs, scheduled functions.
  (db) => {
    db.exec(`
      ALTER TABLE _valet_outbox ADD COLUMN lease_expires_at REAL;
      CREATE TABLE _valet_cron_state (job TEXT PRIMARY KEY, last_tick REAL NOT NULL);
      CREATE TABLE _valet_cron_runs (
        id TEXT PRIMARY KEY,
        job TEXT NOT NULL,
        function TEXT NOT NULL,
        status TEXT NOT NULL,
        scheduled_at REAL NOT NULL,
        dispatched_at REAL NOT NULL,
        finished_at REAL,
        catch_up INTEGER NOT NULL DEFAULT 0,
        missed_runs INTEGER NOT NULL DEFAULT 0,
        trigger TEXT NOT NULL,
        error TEXT
      );
      CREATE INDEX _valet_cron_runs_by_job ON _valet_cron_runs (job, dispatched_at);
      CREATE TABLE _valet_scheduled (
        id TEXT PRIMARY KEY,
        function TEXT NOT NULL,
        kind TEXT NOT NULL,
        args TEXT NOT NULL,
        run_at REAL NOT NULL,
        status TEXT NOT NULL,
        created_at REAL NOT NULL,
        scheduled_by TEXT,
        attempts INTEGER NOT NULL DEFAULT 0,
        finished_at REAL,
        error TEXT
      );
      CREATE INDEX _valet_scheduled_due ON _valet_scheduled (status, run_at);
    `);
  },
  // 4: exactly-once mutations from clients: the last applied sequence number per client, and
  // recent outcomes to answer duplicates with.
  (db) => {
    db.exec(`
      CREATE TABLE _valet_sync_clients (client_id TEXT PRIMARY KEY, last_seq INTEGER NOT NULL, updated_at REAL NOT NULL);
      CREATE TABLE _valet_sync_results (
        client_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        status INTEGER NOT NULL,
        body TEXT NOT NULL,
        PRIMARY KEY (client_id, seq)
      ) WITHOUT ROWID;
    `);
  },
  // 5: a client's sequence belongs to the caller who used it: keyed by (client, principal), so
  // another caller presenting the same client id can neither read its results nor use up its
  // numbers. Sequences from before are dropped (a client renumbers its queue on the next hello).
  (db) => {
    db.exec(`
      DROP TABLE _valet_sync_clients;
      DROP TABLE _valet_sync_results;
      CREATE TABLE _valet_sync_clients (
        client_id TEXT NOT NULL,
        principal TEXT NOT NULL,
        last_seq INTEGER NOT NULL,
        updated_at REAL NOT NULL,
        PRIMARY KEY (client_id, principal)
      ) WITHOUT ROWID;
      CREATE TABLE _valet_sync_results (
        client_id TEXT NOT NULL,
        principal TEXT NOT NULL,
        seq INTEGER NOT NULL,
        status INTEGER NOT NULL,
        body TEXT NOT NULL,
        PRIMARY KEY (client_id, principal, seq)
      ) WITHOUT ROWID;
    `);
  },
  // 6: several instances on one database (on PostgreSQL; SQLite has one, by the same rules): each
  // running server is a row with a heartbeat, and work in progress names the instance doing it,
  // so only a dead instance's work is taken over. One record per cron tick, whoever claims it.
  (db) => {
    db.exec(`
      CREATE TABLE _valet_instances (
        id TEXT PRIMARY KEY,
        started_at REAL NOT NULL,
        heartbeat_at REAL NOT NULL,
        pid INTEGER NOT NULL,
        hostname TEXT NOT NULL
      );
      ALTER TABLE _valet_action_invocations ADD COLUMN instance TEXT;
      ALTER TABLE _valet_scheduled ADD COLUMN instance TEXT;
      ALTER TABLE _valet_cron_runs ADD COLUMN instance TEXT;
      ALTER TABLE _valet_outbox ADD COLUMN instance TEXT;
      CREATE UNIQUE INDEX _valet_cron_runs_tick ON _valet_cron_runs (job, scheduled_at) WHERE trigger = 'schedule';
    `);
  },
  // 7: Web Push beside email in the outbox: a channel per row (a push row's payload and target
  // subscription), the browsers' subscriptions, and every delivery attempt of every message;
  // the invocation a dashboard re-run repeats, and a failed invocation's stack.
  (db) => {
    db.exec(`
      ALTER TABLE _valet_action_invocations ADD COLUMN rerun_of TEXT;
      ALTER TABLE _valet_action_invocations ADD COLUMN error_stack TEXT;
      ALTER TABLE _valet_outbox ADD COLUMN channel TEXT NOT NULL DEFAULT 'email';
      ALTER TABLE _valet_outbox ADD COLUMN payload TEXT;
      ALTER TABLE _valet_outbox ADD COLUMN subscription_id TEXT;
      CREATE INDEX _valet_outbox_by_channel ON _valet_outbox (channel, created_at);
      CREATE TABLE _valet_push_subscriptions (
        id TEXT PRIMARY KEY,
        endpoint TEXT NOT NULL UNIQUE,
        p256dh TEXT NOT NULL,
        auth TEXT NOT NULL,
        user_id TEXT,
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL,
        invalid_at REAL,
        invalid_reason TEXT
      );
      CREATE INDEX _valet_push_subscriptions_by_user ON _valet_push_subscriptions (user_id);
      CREATE TABLE _valet_outbox_attempts (
        outbox_id TEXT NOT NULL,
        attempt INTEGER NOT NULL,
        at REAL NOT NULL,
        outcome TEXT NOT NULL,
        detail TEXT,
        PRIMARY KEY (outbox_id, attempt)
      );
    `);
  },
  // 8: stored files (ctx.storage): what each file is, where its bytes are (a folder, or
  // PostgreSQL's chunks), and the upload URLs given out, each used once.
  (db) => {
    db.exec(`
      CREATE TABLE _valet_files (
        id TEXT PRIMARY KEY,
        created_at REAL NOT NULL,
        content_type TEXT,
        sha256 TEXT NOT NULL,
        size INTEGER NOT NULL,
        location TEXT NOT NULL
      );
      CREATE INDEX _valet_files_by_time ON _valet_files (created_at, id);
      CREATE TABLE _valet_file_uploads (
        id TEXT PRIMARY KEY,
        expires_at REAL NOT NULL,
        file_id TEXT
      );
    `);
  },
  // 9: the activity log (every call, when kept in the database: runtime/calls/), the call that
  // scheduled a call or enqueued a message (its parent in that log), and data migrations' progress.
  (db) => {
    db.exec(`
      CREATE TABLE _valet_calls (
        id TEXT PRIMARY KEY,
        parent TEXT,
        root TEXT NOT NULL,
        path TEXT NOT NULL,
        kind TEXT NOT NULL,
        source TEXT NOT NULL,
        caller TEXT NOT NULL,
        instance TEXT,
        started_at REAL NOT NULL,
        duration_ms REAL,
        outcome TEXT NOT NULL,
        error_code TEXT,
        invocation TEXT,
        detail TEXT
      );
      CREATE INDEX _valet_calls_by_start ON _valet_calls (started_at, id);
      CREATE INDEX _valet_calls_by_root ON _valet_calls (root, started_at);
      ALTER TABLE _valet_scheduled ADD COLUMN caused_by TEXT;
      ALTER TABLE _valet_outbox ADD COLUMN caused_by TEXT;
      CREATE TABLE _valet_migrations (
        name TEXT PRIMARY KEY,
        table_name TEXT NOT NULL,
        status TEXT NOT NULL,
        cursor TEXT,
        processed INTEGER NOT NULL DEFAULT 0,
        changed INTEGER NOT NULL DEFAULT 0,
        started_at REAL NOT NULL,
        updated_at REAL NOT NULL,
        finished_at REAL,
        error TEXT,
        runner TEXT,
        lease_until REAL,
        token INTEGER NOT NULL DEFAULT 0
      );
    `);
  },
  // 10: valet/auth's sign-in (runtime/auth/signin/): accounts (a provider's id for a user of the
  // app's users table, a password's hash), sessions and their rotating refresh tokens (hashed),
  // one-time email codes (hashed), the signing keys of its tokens, and rate-limit windows.
  (db) => {
    db.exec(`
      CREATE TABLE _valet_auth_accounts (
        provider TEXT NOT NULL,
        account TEXT NOT NULL,
        user_id TEXT NOT NULL,
        secret TEXT,
        verified_at REAL,
        created_at REAL NOT NULL,
        PRIMARY KEY (provider, account)
      );
      CREATE INDEX _valet_auth_accounts_by_user ON _valet_auth_accounts (user_id);
      CREATE TABLE _valet_auth_sessions (
        id TEXT PRIMARY KEY,
        user_id TEXT NOT NULL,
        provider TEXT NOT NULL,
        created_at REAL NOT NULL,
        last_used_at REAL NOT NULL,
        expires_at REAL NOT NULL,
        revoked_at REAL,
        revoked_reason TEXT,
        client TEXT
      );
      CREATE INDEX _valet_auth_sessions_by_user ON _valet_auth_sessions (user_id, created_at);
      CREATE TABLE _valet_auth_refresh_tokens (
        hash TEXT PRIMARY KEY,
        session_id TEXT NOT NULL,
        created_at REAL NOT NULL,
        expires_at REAL NOT NULL,
        used_at REAL
      );
      CREATE INDEX _valet_auth_refresh_by_session ON _valet_auth_refresh_tokens (session_id);
      CREATE TABLE _valet_auth_codes (
        id TEXT PRIMARY KEY,
        purpose TEXT NOT NULL,
        email TEXT NOT NULL,
        hash TEXT NOT NULL,
        created_at REAL NOT NULL,
        expires_at REAL NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        used_at REAL,
        secret TEXT
      );
      CREATE INDEX _valet_auth_codes_by_email ON _valet_auth_codes (email, purpose, created_at);
      CREATE TABLE _valet_auth_keys (
        kid TEXT PRIMARY KEY,
        private_jwk TEXT NOT NULL,
        public_jwk TEXT NOT NULL,
        created_at REAL NOT NULL
      );
      CREATE TABLE _valet_auth_limits (
        key TEXT PRIMARY KEY,
        window_start REAL NOT NULL,
        count INTEGER NOT NULL
      );
    `);
  },
  // 11: OpenID Connect sign-in through valet/auth: an account's email (an OIDC account is keyed by
  // the provider's subject, and linking by verified email needs its address), and the flows in
  // flight — started (state, nonce, PKCE verifier), then called back (a one-time exchange code).
  (db) => {
    db.exec(`
      ALTER TABLE _valet_auth_accounts ADD COLUMN email TEXT;
      -- Every account so far is a password or email-code one: its account is its address.
      UPDATE _valet_auth_accounts SET email = account;
      CREATE INDEX _valet_auth_accounts_by_email ON _valet_auth_accounts (email);
      CREATE TABLE _valet_auth_oauth (
        state_hash TEXT PRIMARY KEY,
        provider TEXT NOT NULL,
        pkce_verifier TEXT NOT NULL,
        nonce TEXT NOT NULL,
        callback_url TEXT NOT NULL,
        return_to TEXT NOT NULL,
        client_hash TEXT NOT NULL,
        created_at REAL NOT NULL,
        expires_at REAL NOT NULL,
        code_hash TEXT UNIQUE,
        user_id TEXT,
        email TEXT,
        email_verified INTEGER,
        used_at REAL
      );
      CREATE INDEX _valet_auth_oauth_by_expiry ON _valet_auth_oauth (expires_at);
    `);
  },
];

export const SYSTEM_SCHEMA_VERSION = MIGRATIONS.length;

/** Brings the system tables up to this Valet's version. */
export function migrate(db: Database.Database, file: string): { from: number; to: number } {
  const from = db.pragma('user_version', { simple: true }) as number;
  if (from > SYSTEM_SCHEMA_VERSION) {
    throw new StorageError(
      'database_too_new',
      `${file} was written by a newer Valet (database schema version ${from}; this Valet knows versions up to ${SYSTEM_SCHEMA_VERSION}). Upgrade Valet, or use another database file.`,
    );
  }
  for (let version = from; version < SYSTEM_SCHEMA_VERSION; version++) {
    db.transaction(() => {
      MIGRATIONS[version]!(db);
      db.pragma(`user_version = ${version + 1}`);
    }).immediate();
  }
  return { from, to: SYSTEM_SCHEMA_VERSION };
}
