// The export archive: one JSONL file (gzip-compressed when its name ends in .gz), the same on
// both backends, so data moves between SQLite and PostgreSQL either way. Line 1 is a header, then
// one line per document — its table, _id, _creationTime and fields exactly as stored (bytes as
// {"$bytes": base64}) — then, when asked for, one line per row of the system tables, and a
// closing line with the counts, so a truncated file is recognised.
export const ARCHIVE_FORMAT = 'valet-export';
export const ARCHIVE_VERSION = 1;

export interface ArchiveHeader {
  format: typeof ARCHIVE_FORMAT;
  version: number;
  exportedAt: string;
  /** The backend it came from. */
  source: 'sqlite' | 'postgres';
  systemTables: boolean;
  /** Whether stored files are in it (`--include-files`): a line each, then its bytes. */
  files?: boolean;
}

export interface DocumentLine {
  table: string;
  _id: string;
  _creationTime: number;
  doc: Record<string, unknown>;
}

export interface SystemLine {
  system: string;
  row: Record<string, unknown>;
}

export interface ArchiveEnd {
  end: true;
  documents: number;
  systemRows: number;
  /** Stored files in the archive (absent: none). */
  files?: number;
}

/**
 * The engine's own tables that carry an app's history: invocation log and idempotency records,
 * the outbox, scheduled work, cron history and state, clients' sequence numbers. (The documents
 * table is exported as documents; _valet_meta only for the idempotency hashing secret.)
 */
export const SYSTEM_TABLES = [
  '_valet_action_invocations',
  '_valet_outbox',
  '_valet_outbox_attempts',
  '_valet_push_subscriptions',
  '_valet_scheduled',
  '_valet_cron_state',
  '_valet_cron_runs',
  '_valet_sync_clients',
  '_valet_sync_results',
  '_valet_meta',
] as const;

/** _valet_meta rows that belong to the data, not to the database they are in (versions, index records). */
export const EXPORTED_META_KEYS = ['args_hash_secret'];
