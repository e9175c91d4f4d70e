// The operating system's refusals (a folder that is a file, no permission, a full or read-only
// disk, too many open files) as one line a user can act on, wherever they surface: they are the
// machine's state, not a bug in Valet, and a stack trace would only hide what to do.
export interface SystemErrorLike {
  code: string;
  syscall?: string;
  path?: string;
}

const ADVICE: Record<string, string> = {
  EACCES: 'permission denied: check the owner and mode of the file or folder (and the user Valet runs as)',
  EPERM: 'the operation is not permitted for this user',
  EROFS: 'the file system is read-only: run the app from a writable folder, or point VALET_DATABASE_URL elsewhere',
  ENOSPC: 'the disk is full: free some space',
  EDQUOT: 'the disk quota is used up: free some space',
  EEXIST: 'a file is in the way where Valet needs a folder (or the reverse): move it',
  ENOTDIR: 'a file is in the way where Valet needs a folder: move it',
  EISDIR: 'a folder is in the way where Valet needs a file: move it',
  EMFILE: 'too many open files: raise the limit (ulimit -n)',
  ENFILE: 'the system has too many open files',
  ENOENT: 'no such file or folder',
};

export function isSystemError(error: unknown): error is Error & SystemErrorLike {
  const code = (error as { code?: unknown } | null)?.code;
  return (
    error instanceof Error &&
    typeof code === 'string' &&
    code in ADVICE &&
    typeof (error as { syscall?: unknown }).syscall === 'string'
  );
}

/** One line, or null when this is not the operating system's refusal. */
export function describeSystemError(error: unknown): string | null {
  if (!isSystemError(error)) return null;
  const where = error.path ? ` ${error.path}` : '';
  return `cannot ${error.syscall}${where}: ${ADVICE[error.code]} (${error.code})`;
}
