/** What a failed call rejects with: the server's stable code and message (and a ValetError's data). */
export class ValetClientError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status?: number,
    readonly data?: unknown,
  ) {
    super(message);
    this.name = 'ValetClientError';
  }

  static from(body: unknown, status?: number): ValetClientError {
    const { code, message, data } = (body ?? {}) as { code?: string; message?: string; data?: unknown };
    return new ValetClientError(code ?? 'unknown_error', message ?? 'the call failed', status, data);
  }
}
