import type { Command } from 'commander';
import kleur from 'kleur';
import { findAppDir } from '../app-dir.js';
import { CliError, UsageError } from '../errors.js';
import { describeServeFailure } from '../serve-errors.js';

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
    .option('--as <invoker>', 'who calls: system (default), anonymous or user:<id>')
    .option('--idempotency-key <key>', 'Idempotency-Key for an action call')
    .option('--json', 'print the whole response ({ value } or { code, message }) as JSON')
    .addHelpText(
      'after',
      `
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
      if (flags.as && !/^(system|anonymous|user:.+)$/.test(flags.as)) throw new UsageError(`--as must be system, anonymous or user:<id>, got "${flags.as}"`);
      const appDir = findAppDir();
      const { runFunction } = await import('../../devserver/run-function.js');
      let result;
      try {
        result = await runFunction({ appDir, path, args, as: flags.as, idempotencyKey: flags.idempotencyKey });
      } catch (error) {
        if ((error as Error).name === 'UnknownFunctionError' || (error as Error).name === 'CodegenError') throw new CliError((error as Error).message);
        throw describeServeFailure(appDir, error);
      }
      const body = result.body as { value?: unknown; code?: string; message?: string };
      if (flags.json) process.stdout.write(`${JSON.stringify(body, null, 2)}\n`);
      else if (result.status === 200) process.stdout.write(`${JSON.stringify(body.value, null, 2)}\n`);
      if (result.status !== 200) {
        throw new CliError(`${path} → ${result.status} ${body.code}: ${body.message}`);
      }
      process.stderr.write(kleur.dim(`(${result.via === 'server' ? 'through the running server' : 'in-process on .valet/valet.db'})\n`));
    });
}
