// Turns whatever a call threw into the JSON error the API promises: a stable code, a fitting
// status, and the data of a ValetError passed through.
import { DocumentError } from '../storage/documents.js';
import { EngineError } from './errors.js';
import { FetchBlockedError, FetchNotAllowedError } from './fetch-guard.js';

export interface ErrorBody {
  code: string;
  message: string;
  data?: unknown;
}

function isValetError(error: unknown): error is Error & { data?: unknown } {
  return error instanceof Error && error.name === 'ValetError';
}

/** `dev` shows a plain exception's message to the caller; production keeps it in the server log. */
export function errorToResponse(error: unknown, dev: boolean): { status: number; body: ErrorBody } {
  if (error instanceof EngineError) return { status: error.status, body: error.toJSON() };
  if (isValetError(error)) {
    const body: ErrorBody = { code: 'application_error', message: error.message };
    if (error.data !== undefined) body.data = error.data;
    return { status: 500, body };
  }
  if (error instanceof DocumentError || error instanceof FetchBlockedError || error instanceof FetchNotAllowedError) {
    return { status: 500, body: { code: error.code, message: error.message } };
  }
  const message = error instanceof Error ? `${error.name === 'Error' ? '' : `${error.name}: `}${error.message}` : String(error);
  return { status: 500, body: { code: 'handler_error', message: dev ? message : 'the function threw an error (details are in the server log)' } };
}
