// The engine's error type (defined beside the table of codes in protocol/, so storage throws it
// too) and the errors the runtime makes most often.
import { EngineError } from '../protocol/engine-error.js';

export { EngineError };

export const notFound = (path: string) => new EngineError('function_not_found', `no function ${path}`);
