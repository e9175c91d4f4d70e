// Problems with the database itself, as a user can act on them: a file that cannot be opened,
// a server that cannot be reached. Reported as a message, never a stack trace.
import { UserError } from '../errors/user-error.js';

export type StorageErrorCode =
  | 'database_corrupt'
  | 'database_locked'
  | 'database_too_new'
  | 'database_unreadable'
  | 'database_unreachable';

export class StorageError extends UserError {
  constructor(
    readonly code: StorageErrorCode,
    message: string,
    options: { cause?: unknown } = {},
  ) {
    super(message, options);
    this.name = 'StorageError';
  }
}
