// The error a handler throws on purpose: its `data` reaches the caller as-is (SPEC section 4),
// unlike other exceptions whose details stay on the server.
export class ValetError<Data = unknown> extends Error {
  override readonly name = 'ValetError';
  constructor(
    message: string,
    readonly data?: Data,
  ) {
    super(message);
  }
}
