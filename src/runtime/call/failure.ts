// The JSON error for a failed call; a 500 (the handler's fault, or Valet's) and a storage fault
// are also logged with their stack, since the caller sees only the code.
import type { ErrorBody } from '../../protocol/errors.js';
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
  if (response.status === 500) core.log(`${label} failed: ${core.describeError(error)}`);
  else if (response.status === 503 || response.status === 507)
    core.log(`${label}: storage failure: ${core.describeError(error)}`);
  return response;
}
