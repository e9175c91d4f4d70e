// How a command's failure reaches the terminal: a user error once, with a code frame for each
// place it names; anything else is a bug in Valet, printed with its stack and a request to report it.
import kleur from 'kleur';
import { describeSystemError } from '../errors/system-error.js';
import { formatLocation, UserError } from '../errors/user-error.js';
import { codeFrame } from '../project/code-frame.js';

const REPORT_URL_HINT = 'This is a bug in Valet: please report it with the output above (and how to reproduce it).';

export function reportError(error: unknown, appDir: string | null): number {
  if (error instanceof UserError) {
    process.stderr.write(`${kleur.red('error')} ${error.message}\n`);
    if (appDir) {
      for (const location of error.locations.filter((l) => l.line).slice(0, 5)) {
        const frame = codeFrame(appDir, location.file, location.line!, location.column ?? 1);
        if (frame) process.stderr.write(`${kleur.dim(`${formatLocation(location)}\n${frame}`)}\n`);
      }
    }
    return error.exitCode;
  }
  const system = describeSystemError(error);
  if (system) {
    process.stderr.write(`${kleur.red('error')} ${system}\n`);
    return 1;
  }
  const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
  process.stderr.write(`${kleur.red('internal error')} ${detail}\n${REPORT_URL_HINT}\n`);
  return 1;
}
