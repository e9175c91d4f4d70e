// Opening the SQLite file. WAL lets readers see committed data while one writer works;
// synchronous=NORMAL is the documented choice for WAL: a commit survives a process crash, and
// only an OS crash or power loss can lose the last transactions (never corrupt the file).
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { StorageError } from '../errors.js';
import { migrate } from './migrations.js';

export interface OpenOptions {
  readonly?: boolean;
  /** How long a connection waits for another process's lock before giving up. */
  busyTimeoutMs?: number;
}

/** Turns SQLite's errors about the file into messages a user can act on. */
export function describeStorageFailure(error: unknown, file: string): StorageError | null {
  const code = (error as { code?: string })?.code ?? '';
  if (code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT') {
    return new StorageError('database_corrupt', `${file} is not a valid SQLite database (or it is damaged). Move it away to start fresh, or restore a backup.`);
  }
  if (code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED') {
    return new StorageError('database_locked', `${file} is locked by another process. Stop the other Valet server (or whatever holds it) and try again.`);
  }
  if (code === 'SQLITE_CANTOPEN' || code === 'SQLITE_READONLY' || code === 'SQLITE_PERM') {
    return new StorageError('database_unreadable', `cannot open ${file}: ${(error as Error).message}`);
  }
  return null;
}

function configure(db: Database.Database, options: OpenOptions): void {
  db.pragma(`busy_timeout = ${options.busyTimeoutMs ?? 5000}`);
  if (!options.readonly) {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
  }
  db.pragma('foreign_keys = OFF');
}

/** Opens (creating if needed) and migrates the database; the connection is the writer. */
export function openDatabase(file: string, options: OpenOptions = {}): Database.Database {
  try {
    if (!options.readonly && file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
    const db = new Database(file, { readonly: options.readonly ?? false, fileMustExist: options.readonly ?? false });
    try {
      configure(db, options);
      if (!options.readonly) migrate(db, file);
      // Reading the schema version touches the file: a damaged one fails here, not later.
      else db.pragma('user_version', { simple: true });
      return db;
    } catch (error) {
      db.close();
      throw error;
    }
  } catch (error) {
    if (error instanceof StorageError) throw error;
    throw describeStorageFailure(error, file) ?? error;
  }
}
