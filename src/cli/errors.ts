// Wrong arguments or flags: a user error that exits with 2.
import { UserError } from '../errors/user-error.js';

export class UsageError extends UserError {
  constructor(message: string) {
    super(message, { exitCode: 2 });
    this.name = 'UsageError';
  }
}
