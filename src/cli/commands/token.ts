// `valet token`: a dev bearer token for a user, signed with the app's dev key, for curl and tests.
import type { Command } from 'commander';
import { findAppDir } from '../../project/app-dir.js';
import { UsageError } from '../errors.js';

export function registerToken(program: Command): void {
  program
    .command('token')
    .description("print a dev bearer token for a user, signed with the app's dev key (.valet/)")
    .argument('<userId>', 'the token subject (ctx.invoker.userId)')
    .option('--expires-in <duration>', 'lifetime, e.g. 30m, 24h, 7d', '24h')
    .addHelpText(
      'after',
      `
Examples:
  $ valet token alice
  $ curl -H "Authorization: Bearer $(valet token alice)" -d '{"path":"users:list","args":{}}' http://127.0.0.1:3210/api/query`,
    )
    .action(async (userId: string, flags: { expiresIn: string }) => {
      if (!/^\d+\s*[smhdw]$/.test(flags.expiresIn))
        throw new UsageError(`--expires-in: expected a duration such as 30m, 24h or 7d, got "${flags.expiresIn}"`);
      const { signDevToken } = await import('../../project/keys.js');
      process.stdout.write(
        `${await signDevToken(findAppDir(), userId, { expiresIn: flags.expiresIn.replace(/\s+/g, '') })}\n`,
      );
    });
}
