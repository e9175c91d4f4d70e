// Opening the SQLite file. WAL lets readers see committed data while one writer works;
// synchronous=NORMAL is the documented choice for WAL: a commit survives a process crash, and
// only an OS crash or power loss can lose the last transactions (never corrupt the file).
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { describeSystemError } from '../../errors/system-error.js';
import { StorageError } from '../errors.js';
import { migrate } from './migrations.js';

export interface OpenOptions {
  readonly?: boolean;
  /** How long a connection waits for another process's lock before giving up. */
  busyTimeoutMs?: number;
}

/** Turns SQLite's errors about the file into messages a user can act on. */
export function describeStorageFailure(error: unknown, file: string): StorageError | null {
  const system = describeSystemError(error);
  if (system) return new StorageError('database_unreadable', `cannot open the database ${file}: ${system}`);
  // Extended codes (SQLITE_READONLY_DIRECTORY, SQLITE_CANTOPEN_ISDIR, …) by their primary code.
  const code = ((error as { code?: string })?.code ?? '').replace(/^(SQLITE_[A-Z]+)_.*$/, '$1');
  if (code === 'SQLITE_READONLY') {
    return new StorageError(
      'database_unreadable',
      `${file} cannot be written (${(error as Error).message}): give this user write access to the file and its folder (SQLite writes -wal and -shm files beside it)`,
    );
  }
  if (code === 'SQLITE_FULL')
    return new StorageError('database_unreadable', `${file}: the disk is full; free some space and start again`);
  if (code === 'SQLITE_IOERR')
    return new StorageError(
      'database_unreadable',
      `${file}: the disk refused a read or write (${(error as Error).message}); check the disk and its free space`,
    );
  if (code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT') {
    return new StorageError(
      'database_corrupt',
      `${file} is not a valid SQLite database (or it is damaged). Move it away to start fresh, or restore a backup.`,
    );
  }
  if (code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED') {
    return new StorageError(
      'database_locked',
      `${file} is locked by another process. Stop the other Valet server (or whatever holds it) and try again.`,
    );
  }
  if (code === 'SQLITE_CANTOPEN' || code === 'SQLITE_PERM' || code === 'SQLITE_AUTH') {
    return new StorageError(
      'database_unreadable',
      `cannot open ${file}: ${(error as Error).message} (is it a folder, or is its folder missing or not writable?)`,
    );
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
