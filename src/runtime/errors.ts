// The engine's one error type at the HTTP boundary: a stable code, an HTTP status, a message
// (and for ValetError thrown by a handler, its data). Hono's HTTPException is the model.
export class EngineError extends Error {
  constructor(
    readonly code: string,
    readonly status: number,
    message: string,
    readonly data?: unknown,
  ) {
    super(message);
    this.name = 'EngineError';
  }

  toJSON(): { code: string; message: string; data?: unknown } {
    return this.data === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, data: this.data };
  }
}

export const notFound = (path: string) => new EngineError('function_not_found', 404, `no function ${path}`);
