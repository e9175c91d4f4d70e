// The JSON error for a failed call; a 500 (the handler's fault, or Valet's) and a storage fault
// are also logged with their stack, since the caller sees only the code.
import { fileURLToPath } from 'node:url';
import type { ErrorBody } from '../../protocol/errors.js';
import type { CallError } from '../calls/record.js';
import { locateInApp } from '../registry.js';
import { errorToResponse } from './errors-to-response.js';
import type { EngineCore } from './types.js';

export function failureResponse(
  core: EngineCore,
  label: string,
  error: unknown,
  exposeErrors = false,
): { status: number; body: ErrorBody } {
  const response = errorToResponse(error, core.dev || exposeErrors);
  response.body.message = core.redact(response.body.message);
  // A ValetError is the handler's deliberate answer: one line with where it was thrown.
  if (response.body.code === 'application_error')
    core.log(`${label} threw ValetError: ${response.body.message}${thrownAt(core.describeError(error))}`);
  else if (response.status === 500) core.log(`${label} failed: ${appFrames(core.describeError(error))}`);
  else if (response.status === 503 || response.status === 507)
    core.log(`${label}: storage failure: ${core.describeError(error)}`);
  return response;
}

/** ` (valet/todos.ts:12:11)`: the first frame of a (mapped) stack in the app's own files. */
function thrownAt(stack: string): string {
  const frames = stack.split('\n').slice(1).join('\n');
  const at = locateInApp(frames, (mapped) => mapped);
  return at ? ` (${at.file}:${at.line}${at.column ? `:${at.column}` : ''})` : '';
}

/**
 * What the activity log keeps of a failure: the code, the real message (redacted; callers may
 * have been shown less) and, for a handler's own failure, its mapped stack.
 */
export function failureDetail(core: EngineCore, status: number, body: ErrorBody, error: unknown): CallError {
  const real = errorToResponse(error, true).body.message;
  const detail: CallError = { code: body.code, message: core.redact(real) };
  if (status === 500 && error instanceof Error) {
    detail.stack = appFrames(core.describeError(error));
    // Where it threw, for the call's page to show that line of source.
    const at = locateInApp(detail.stack.split('\n').slice(1).join('\n'), (mapped) => mapped);
    if (at) detail.at = at;
  }
  return detail;
}

/** Where Valet itself is installed: its frames are not what a developer reads a stack for. */
const VALET_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/**
 * A stack with the app's frames only (its message first), when it has any: a handler's failure
 * is read for where the app went wrong. A stack with none (a fault in Valet) is kept whole.
 */
export function appFrames(stack: string): string {
  const [message, ...frames] = stack.split('\n');
  const own = frames.filter(
    (frame) => !frame.includes(VALET_ROOT) && !frame.includes('(node:') && !/^\s*at node:/.test(frame),
  );
  return own.length > 0 ? [message, ...own].join('\n') : stack;
}
