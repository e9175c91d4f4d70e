// The error a failed call rejects with, on the client side of the wire.
import type { ClientErrorCode, ErrorCode } from '../protocol/error-codes.js';

/** What a failed call rejects with: the server's stable code and message (and a ValetError's data). */
export class ValetClientError extends Error {
  constructor(
    /** A code of docs/errors.md (or another server's, passed on as it came). */
    readonly code: ErrorCode | ClientErrorCode | (string & {}),
    message: string,
    readonly status?: number,
    readonly data?: unknown,
  ) {
    super(message);
    this.name = 'ValetClientError';
  }

  static from(body: unknown, status?: number): ValetClientError {
    const { code, message, data } = (body ?? {}) as { code?: string; message?: string; data?: unknown };
    return new ValetClientError(code ?? 'unknown_error', message ?? 'the call failed', status, data);
  }
}
