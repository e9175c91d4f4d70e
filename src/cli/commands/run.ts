// `valet run`: call one function from the terminal (through the running server, else in-process),
// as a user or the system.
import type { Command } from 'commander';
import kleur from 'kleur';
import { UserError } from '../../errors/user-error.js';
import { findAppDir } from '../../project/app-dir.js';
import { DATABASE_DISPLAY_PATH } from '../../project/paths.js';
import { ACT_AS_SYNTAX, parseActAs } from '../../protocol/act-as.js';
import { UsageError } from '../errors.js';

interface RunFlags {
  as?: string;
  idempotencyKey?: string;
  json?: boolean;
}

export function registerRun(program: Command): void {
  program
    .command('run')
    .description('call a function as admin: through the running server, or in-process on the database')
    .argument('<function>', 'canonical path, e.g. users:list or admin/users:ban')
    .argument('[args]', 'arguments as JSON', '{}')
    .option('--as <invoker>', `who calls: ${ACT_AS_SYNTAX} (default system)`)
    .option('--idempotency-key <key>', 'Idempotency-Key for an action call')
    .option('--json', 'print the whole response ({ value } or { code, message }) as JSON')
    .addHelpText(
      'after',
      `
The result goes to stdout; the function's console output and Valet's messages to stderr.

Examples:
  $ valet run users:list
  $ valet run users:create '{"email":"ada@example.com"}' --as user:ada
  $ valet run actions:sendWelcomeEmail '{"userId":"..."}' --idempotency-key welcome-ada`,
    )
    .action(async (path: string, argsText: string, flags: RunFlags) => {
      let args: unknown;
      try {
        args = JSON.parse(argsText);
      } catch {
        throw new UsageError(`[args] must be JSON, e.g. '{"email":"ada@example.com"}'; got ${argsText}`);
      }
      if (flags.as && !parseActAs(flags.as)) throw new UsageError(`--as must be ${ACT_AS_SYNTAX}, got "${flags.as}"`);
      const appDir = findAppDir();
      const { runFunction } = await import('../../ops/run-function.js');
      const result = await runFunction({ appDir, path, args, as: flags.as, idempotencyKey: flags.idempotencyKey });
      const body = result.body as { value?: unknown; code?: string; message?: string };
      if (flags.json) process.stdout.write(`${JSON.stringify(body, null, 2)}\n`);
      else if (result.status === 200) process.stdout.write(`${JSON.stringify(body.value, null, 2)}\n`);
      if (result.status !== 200) throw new UserError(`${path} → ${result.status} ${body.code}: ${body.message}`);
      process.stderr.write(
        kleur.dim(
          `(${result.via === 'server' ? 'through the running server' : `in-process on ${DATABASE_DISPLAY_PATH}`})\n`,
        ),
      );
    });
}
