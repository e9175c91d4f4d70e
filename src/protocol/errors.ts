// The JSON error every Valet endpoint answers with: a stable code from the table
// (error-codes.ts), a message, and for a ValetError thrown by a handler its data.
import type { ErrorCode } from './error-codes.js';

export interface ErrorBody {
  code: ErrorCode;
  message: string;
  data?: unknown;
}
