// Running a handler, whatever its kind: a synchronous throw becomes a rejection like any other
// failure, and the return value must travel as JSON.
import { encodeValue } from '../../protocol/values.js';
import { formatValidationError } from '../../server/values.js';
import type { AnyValidator } from '../../server/values.js';
import { findNonJson } from '../../storage/documents.js';
import { EngineError } from '../errors.js';

/** Calls the handler; a synchronous throw becomes a rejection. */
export function callHandler(handler: (ctx: any, args: any) => unknown, ctx: unknown, args: unknown): Promise<unknown> {
  try {
    return Promise.resolve(handler(ctx, args));
  } catch (error) {
    return Promise.reject(error);
  }
}

/**
 * Return values must match the function's `returns:` validator (when it has one) and travel as
 * JSON (bytes encoded): anything else is the handler's mistake, named precisely.
 */
export function checkReturnValue(path: string, returned: unknown, returns?: AnyValidator): unknown {
  // A handler that returns nothing returns null, as on the wire, before its validator sees it:
  // `returns: v.null()` with no return statement is Convex's recommended pattern.
  const value = returned === undefined ? null : returned;
  if (returns) {
    const mismatch = returns.validate(value, 'result');
    if (mismatch)
      throw new EngineError(
        'invalid_return_value',
        `${path} returned a value that does not match its returns validator: ${formatValidationError(mismatch)}`,
      );
  }
  const result = encodeValue(value);
  const problem = findNonJson(result, 'result');
  if (problem)
    throw new EngineError('invalid_return_value', `${path} returned a value that is not JSON: ${problem.message}`);
  return result;
}

export function timeoutError(
  kind: 'query' | 'mutation' | 'action' | 'route',
  path: string,
  ms: number,
): () => EngineError {
  return () => timedOut(kind, path, ms);
}

/** The error of a call that did not finish within its timeout. */
export function timedOut(kind: 'query' | 'mutation' | 'action' | 'route', path: string, ms: number): EngineError {
  return new EngineError(`${kind}_timeout`, `${path} did not finish within ${ms} ms`);
}
