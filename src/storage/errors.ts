/** A problem with the database file itself: reported as a message, never a stack trace. */
export class StorageError extends Error {
  constructor(
    readonly code: 'database_corrupt' | 'database_locked' | 'database_too_new' | 'database_unreadable',
    message: string,
  ) {
    super(message);
    this.name = 'StorageError';
  }
}
