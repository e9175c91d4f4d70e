// A database fault that is nobody's code error: the database is busy past its timeout, the disk
// is full, an I/O error, the file went bad, the server is unreachable. Callers get 503
// storage_unavailable (507 storage_full for a full disk), the cause goes to the server log.
// Classified by the driver's error class and code, never by message text.
import Database from 'better-sqlite3';
import { EngineError } from '../protocol/engine-error.js';
import type { ErrorCode } from '../protocol/error-codes.js';
import { PASSING_CODES } from '../protocol/error-codes.js';

type FaultCode = Extract<ErrorCode, 'storage_unavailable' | 'storage_full' | 'conflict_retries' | 'outcome_unknown'>;

/** A storage fault as callers see it: an EngineError whose cause (the driver's error) stays in the log. */
export class StorageFaultError extends EngineError {
  declare readonly code: FaultCode;
  constructor(code: FaultCode, message: string, options: { cause?: unknown } = {}) {
    super(code, message, undefined, options);
    this.name = 'StorageFaultError';
  }
}

/**
 * Codes of failures that decided nothing: the call did not commit and asking again may work. A
 * call that ended so before anything committed stores no outcome (its idempotency key is free).
 */
export const TRANSIENT_CODES: ReadonlySet<string> = PASSING_CODES;

const MESSAGES: Record<FaultCode, string> = {
  storage_unavailable: 'the database is unavailable right now; the call was not applied, retry later',
  storage_full: 'the database is out of space; the call was not applied',
  conflict_retries: 'the write kept conflicting with concurrent writes and was not applied; retry later',
  outcome_unknown:
    'the connection to the database broke while the write was committing, so whether it was applied is unknown; a retry of a queued mutation or under the same Idempotency-Key is answered with the truth',
};

const fault = (code: FaultCode) => (cause?: unknown) => new StorageFaultError(code, MESSAGES[code], { cause });
export const outcomeUnknown = fault('outcome_unknown');
export const storageUnavailable = fault('storage_unavailable');
export const writeConflict = fault('conflict_retries');
export const storageFull = fault('storage_full');

const SQLITE_UNAVAILABLE = /^SQLITE_(BUSY|LOCKED|IOERR|CORRUPT|NOTADB|CANTOPEN|READONLY|PROTOCOL|NOLFS|NOMEM)/;

/** The storage fault an error stands for (a driver's error classified by its code), or null. */
export function storageFaultOf(error: unknown): StorageFaultError | null {
  if (error instanceof StorageFaultError) return error;
  if (!(error instanceof Database.SqliteError)) return null;
  if (error.code === 'SQLITE_FULL') return storageFull(error);
  return SQLITE_UNAVAILABLE.test(error.code) ? storageUnavailable(error) : null;
}
