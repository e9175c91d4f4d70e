// The one error type for a user's mistake: a broken module, a bad flag, a bad config, a database
// file that cannot be used. It carries what the user needs (a message, an exit code, optionally
// where) and nothing else; the CLI prints it once without a stack. Anything that is not a
// UserError is a bug in Valet and prints as one, with its stack. Convex's `Crash` is the model.
export interface SourceLocation {
  file: string;
  line?: number;
  column?: number;
}

export interface UserErrorOptions {
  /** Process exit code when this ends a command: 1 by default, 2 for a usage error. */
  exitCode?: number;
  /** Where the problem is (file relative to the app, 1-based line and column). */
  location?: SourceLocation;
  /** Several places at once (a build with many errors); `location` is the first. */
  locations?: (SourceLocation & { message: string })[];
  cause?: unknown;
}

export class UserError extends Error {
  readonly exitCode: number;
  readonly location?: SourceLocation;
  readonly locations: (SourceLocation & { message: string })[];

  constructor(message: string, options: UserErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'UserError';
    this.exitCode = options.exitCode ?? 1;
    this.locations = options.locations ?? (options.location ? [{ ...options.location, message }] : []);
    this.location = options.location ?? this.locations[0];
  }
}

/** `file:line:column` for messages. */
export function formatLocation(location: SourceLocation): string {
  return `${location.file}${location.line ? `:${location.line}${location.column ? `:${location.column}` : ''}` : ''}`;
}

/**
 * A failure that goes away by itself (a file deleted while it was being read, a lock held for a
 * moment): the dev loop retries it with backoff instead of reporting it as the user's mistake.
 */
export function isTransientFileError(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  return code === 'ENOENT' || code === 'EBUSY' || code === 'EAGAIN' || code === 'EMFILE' || code === 'ENFILE';
}
