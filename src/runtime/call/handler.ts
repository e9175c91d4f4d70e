// Running a handler, whatever its kind: a synchronous throw becomes a rejection like any other
// failure, the return value must travel as JSON, and each call gets a cheap unique log id.
import { encodeValue } from '../../protocol/values.js';
import { formatValidationError } from '../../server/values.js';
import type { AnyValidator } from '../../server/values.js';
import { findNonJson } from '../../storage/documents.js';
import { newId } from '../../storage/ids.js';
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

let invocationCounter = 0;
/** Random per process, so ids stay unique across processes and instances (a pid and a time need not be). */
const invocationPrefix = newId().slice(0, 10);

/** Log ids for queries and mutations (actions use their invocation record's id): unique, and cheap. */
export function nextInvocationId(): string {
  return `${invocationPrefix}${(++invocationCounter).toString(36)}`;
}

export function timeoutError(
  kind: 'query' | 'mutation' | 'action' | 'route',
  path: string,
  ms: number,
): () => EngineError {
  return () => new EngineError(`${kind}_timeout`, `${path} did not finish within ${ms} ms`);
}
