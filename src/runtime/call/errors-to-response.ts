// Turns whatever a call threw into the JSON error the API promises: a stable code, a fitting
// status, and the data of a ValetError passed through.
import { ERROR_CODES } from '../../protocol/error-codes.js';
import type { ErrorBody } from '../../protocol/errors.js';
import { storageFaultOf } from '../../storage/faults.js';
import { EngineError } from '../errors.js';
import { FetchBlockedError } from '../fetch-guard/guard.js';

function isValetError(error: unknown): error is Error & { data?: unknown } {
  return error instanceof Error && error.name === 'ValetError';
}

/** `expose` shows a plain exception's message to the caller; otherwise it stays in the server log. */
export function errorToResponse(error: unknown, expose: boolean): { status: number; body: ErrorBody } {
  // Which internal host an app tried to reach is for its developers, not its callers.
  if (error instanceof FetchBlockedError)
    return {
      status: error.status,
      body: {
        code: error.code,
        message: expose
          ? error.message
          : 'a fetch in the function was refused by the fetch guard (details are in the server log)',
      },
    };
  if (error instanceof EngineError) return { status: error.status, body: error.toJSON() };
  if (isValetError(error)) {
    const body: ErrorBody = { code: 'application_error', message: error.message };
    if (error.data !== undefined) body.data = error.data;
    return { status: ERROR_CODES.application_error.status, body };
  }
  const fault = storageFaultOf(error);
  if (fault) return { status: fault.status, body: fault.toJSON() };
  const message =
    error instanceof Error ? `${error.name === 'Error' ? '' : `${error.name}: `}${error.message}` : String(error);
  return {
    status: ERROR_CODES.handler_error.status,
    body: {
      code: 'handler_error',
      message: expose ? message : 'the function threw an error (details are in the server log)',
    },
  };
}
