// A database fault that is nobody's code error: the database is busy past its timeout, the disk
// is full, an I/O error, the file went bad, the server is unreachable. Callers get 503
// storage_unavailable (507 storage_full for a full disk), the cause goes to the server log.
// Classified by the driver's error class and code, never by message text.
import Database from 'better-sqlite3';

export interface StorageFault {
  status: 503 | 507;
  code: 'storage_unavailable' | 'storage_full' | 'conflict_retries' | 'outcome_unknown';
  message: string;
}

/**
 * Codes of failures that decided nothing: the call did not commit and asking again may work. A
 * call that ended so before anything committed stores no outcome (its idempotency key is free).
 */
export const TRANSIENT_CODES: ReadonlySet<string> = new Set([
  'storage_unavailable',
  'conflict_retries',
  'shutting_down',
]);

const UNAVAILABLE: StorageFault = {
  status: 503,
  code: 'storage_unavailable',
  message: 'the database is unavailable right now; the call was not applied, retry later',
};
const FULL: StorageFault = {
  status: 507,
  code: 'storage_full',
  message: 'the database is out of space; the call was not applied',
};

/** What a storage backend throws for a fault it has recognised itself (a lost server connection, say). */
export class StorageFaultError extends Error {
  constructor(
    readonly fault: StorageFault,
    options: { cause?: unknown } = {},
  ) {
    super(fault.message, options);
    this.name = 'StorageFaultError';
  }
}

const CONFLICT: StorageFault = {
  status: 503,
  code: 'conflict_retries',
  message: 'the write kept conflicting with concurrent writes and was not applied; retry later',
};

const UNKNOWN: StorageFault = {
  status: 503,
  code: 'outcome_unknown',
  message:
    'the connection to the database broke while the write was committing, so whether it was applied is unknown; a retry of a queued mutation or under the same Idempotency-Key is answered with the truth',
};

export const outcomeUnknown = (cause?: unknown) => new StorageFaultError(UNKNOWN, { cause });
export const storageUnavailable = (cause?: unknown) => new StorageFaultError(UNAVAILABLE, { cause });
export const writeConflict = (cause?: unknown) => new StorageFaultError(CONFLICT, { cause });
export const storageFull = (cause?: unknown) => new StorageFaultError(FULL, { cause });

const SQLITE_UNAVAILABLE = /^SQLITE_(BUSY|LOCKED|IOERR|CORRUPT|NOTADB|CANTOPEN|READONLY|PROTOCOL|NOLFS|NOMEM)/;

export function storageFaultOf(error: unknown): StorageFault | null {
  if (error instanceof StorageFaultError) return error.fault;
  if (!(error instanceof Database.SqliteError)) return null;
  if (error.code === 'SQLITE_FULL') return FULL;
  return SQLITE_UNAVAILABLE.test(error.code) ? UNAVAILABLE : null;
}
