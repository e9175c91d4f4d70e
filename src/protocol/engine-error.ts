// The engine's one error type at the HTTP boundary: a code from the table (error-codes.ts), which
// gives its HTTP status, a message, and for a ValetError thrown by a handler its data. Hono's
// HTTPException is the model. It lives beside the table so storage and runtime throw the same type.
import type { ErrorBody } from './errors.js';
import { ERROR_CODES, type ErrorCode, isErrorCode } from './error-codes.js';

export class EngineError extends Error {
  readonly status: number;

  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly data?: unknown,
    options: { cause?: unknown } = {},
  ) {
    super(message, options);
    this.name = 'EngineError';
    this.status = ERROR_CODES[code].status;
  }

  /** An error another call answered with (a nested ctx.run*), passed on as it came. */
  static fromBody(body: { code?: unknown; message?: unknown; data?: unknown }, prefix = ''): EngineError {
    const code = isErrorCode(body.code) ? body.code : 'internal_error';
    return new EngineError(code, `${prefix}${String(body.message ?? 'the call failed')}`, body.data);
  }

  toJSON(): ErrorBody {
    return this.data === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, data: this.data };
  }
}
