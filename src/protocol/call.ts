// A function call on the wire: `{ "path": "module:function", "args": { ... } }`, for
// /api/{query,mutation,action} and the sync protocol. Values are JSON, at most MAX_VALUE_DEPTH
// levels deep (Convex's limit too) and without numbers JSON text can spell but not hold (1e400).
export const MAX_VALUE_DEPTH = 64;
import { isStorableText, textProblem } from './text.js';

export const MAX_IDEMPOTENCY_KEY_LENGTH = 255;
export const FUNCTION_PATH = /^[\w$-]+(?:\/[\w$-]+)*:[A-Za-z_$][\w$]*$/;

export interface WireCall {
  path: string;
  args: unknown;
}

export type CallParse = { ok: true; call: WireCall } | { ok: false; message: string };

function childPath(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  return /^[A-Za-z_$][\w$]*$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
}

/**
 * The first problem with a value received as JSON, named by its path, or null. Bounded by the
 * depth limit, so a hostile 10,000-level value costs 64 frames, not a stack overflow. Strings and
 * keys follow the text rule (./text.ts), so both backends refuse the same input. The path is
 * spelled only for the value that has a problem (this runs on every call's args).
 */
export function findWireValueProblem(value: unknown, path = 'args', depth = 0): string | null {
  const problem = problemIn(value, depth);
  if (!problem) return null;
  let at = path;
  for (let i = problem.keys.length - 1; i >= 0; i--) at = childPath(at, problem.keys[i]!);
  return `${at}: ${problem.message}`;
}

/** The problem and the keys that lead to it, innermost first. */
function problemIn(value: unknown, depth: number): { keys: (string | number)[]; message: string } | null {
  if (typeof value === 'string')
    return isStorableText(value) ? null : { keys: [], message: `the string ${textProblem(value)}` };
  if (typeof value === 'number')
    return Number.isFinite(value) ? null : { keys: [], message: `${value} is not a finite number` };
  if (value === null || typeof value !== 'object') return null;
  if (depth >= MAX_VALUE_DEPTH) return { keys: [], message: `nested deeper than ${MAX_VALUE_DEPTH} levels` };
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const problem = problemIn(value[i], depth + 1);
      if (problem) {
        problem.keys.push(i);
        return problem;
      }
    }
    return null;
  }
  for (const key in value) {
    if (!Object.hasOwn(value, key)) continue;
    if (!isStorableText(key)) return { keys: [], message: `a field name ${textProblem(key)}` };
    const problem = problemIn((value as Record<string, unknown>)[key], depth + 1);
    if (problem) {
      problem.keys.push(key);
      return problem;
    }
  }
  return null;
}

/** Parses a call body; the message says what is wrong in terms the caller can fix. */
export function parseCallBody(text: string): CallParse {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return { ok: false, message: 'the request body must be JSON: { "path": "module:function", "args": { ... } }' };
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body))
    return {
      ok: false,
      message: 'the request body must be a JSON object: { "path": "module:function", "args": { ... } }',
    };
  const { path, args } = body as { path?: unknown; args?: unknown };
  if (typeof path !== 'string' || !FUNCTION_PATH.test(path))
    return { ok: false, message: 'path must be a function path such as "users:get"' };
  // Args are checked (depth, finite numbers) where every caller's args pass: the engine's call path.
  return { ok: true, call: { path, args } };
}
