// Before a handler runs: the function exists and the caller may see it, the endpoint fits its
// kind, the caller may call it, and the args are JSON within limits that match its validators.
import { findWireValueProblem } from '../../protocol/call.js';
import { decodeValue } from '../../protocol/values.js';
import type { AnyFunctionDefinition } from '../../server/functions.js';
import { formatValidationError, validateFields } from '../../server/values.js';
import type { AnyValidator, ValidationError } from '../../server/values.js';
import type { DocumentStore } from '../../storage/documents.js';
import { validateWithIds } from '../../storage/documents.js';
import { EngineError, notFound } from '../errors.js';
import type { CallRequest, EngineCore } from './types.js';

export function resolveFunction(core: EngineCore, request: CallRequest): AnyFunctionDefinition {
  const definition = core.registry.functions.get(request.path);
  if (!definition || (request.external && definition.access === 'system')) throw notFound(request.path);
  if (definition.kind !== request.kind) {
    throw new EngineError(
      'wrong_function_kind',
      `${request.path} is a ${definition.kind}; call it at /api/${definition.kind}`,
    );
  }
  if (definition.access === 'authenticated' && request.invoker.type === 'anonymous') {
    if (!core.authConfigured) {
      throw new EngineError(
        'auth_not_configured',
        `${request.path} needs a signed-in caller, and this server verifies no tokens: set VALET_AUTH_* (or pass --dev-auth to trust the app's dev key)`,
      );
    }
    throw new EngineError(
      'unauthenticated',
      `${request.path} needs a signed-in caller: send Authorization: Bearer <token>`,
    );
  }
  return definition;
}

function noArgsHint(definition: AnyFunctionDefinition): string {
  return Object.keys(definition.args).length === 0
    ? ' (this function declares no args: declare each one it takes, e.g. `args: { name: v.string() }`)'
    : '';
}

/** Whether a validator tree holds a `v.id` anywhere (known once per validator object). */
const holdsIds = new WeakMap<object, boolean>();

function mentionsIds(fields: Readonly<Record<string, AnyValidator>>): boolean {
  let known = holdsIds.get(fields);
  if (known === undefined) {
    known = Object.values(fields).some((validator) => validator.kind === 'id' || mentionsIds(validator.children));
    holdsIds.set(fields, known);
  }
  return known;
}

/**
 * The args, decoded and valid; `store` checks the ids among them (the caller's transaction or
 * snapshot, if it has one). Synchronous unless the args hold ids, which need a lookup.
 */
export function validateArgs(
  definition: AnyFunctionDefinition,
  args: unknown,
  store: DocumentStore,
): Record<string, unknown> | Promise<Record<string, unknown>> {
  const raw = args === undefined || args === null ? {} : args;
  const problem = findWireValueProblem(raw, 'args');
  if (problem) throw new EngineError('invalid_args', problem);
  // Bytes arrive as {"$bytes": …}: handlers and validators see ArrayBuffers.
  const value = decodeValue(raw);
  if (!mentionsIds(definition.args)) {
    refuseInvalid(definition, validateFields(definition.args, value, 'args'));
    return value as Record<string, unknown>;
  }
  return validateWithIds(store.sql, definition.args, value, 'args').then((error) => {
    refuseInvalid(definition, error);
    return value as Record<string, unknown>;
  });
}

function refuseInvalid(definition: AnyFunctionDefinition, error: ValidationError | null): void {
  if (error)
    throw new EngineError(
      'invalid_args',
      `${formatValidationError(error)}${error.unexpectedField ? noArgsHint(definition) : ''}`,
    );
}
