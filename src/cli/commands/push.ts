// `valet push`: the Web Push subscriptions browsers made with ctx.push.subscribe, and the server's
// public key.
import type { Command } from 'commander';
import kleur from 'kleur';
import { findAppDir } from '../../project/app-dir.js';
import { parseLimit } from '../options.js';

export function registerPush(program: Command): void {
  const command = program
    .command('push')
    .description('Web Push: the browsers subscribed with ctx.push.subscribe (alone: subscriptions)')
    .addHelpText('after', '\nExamples:\n  $ valet push\n  $ valet push subscriptions --user user_123 --json');
  command
    .command('subscriptions', { isDefault: true })
    .description('stored push subscriptions, newest first; invalid ones (the push service said gone) with the reason')
    .option('--user <userId>', "only this user's")
    .option('--limit <n>', 'how many', '50')
    .option('--json', 'print as JSON')
    .addHelpText(
      'after',
      '\nExamples:\n  $ valet push subscriptions\n  $ valet push subscriptions --user user_123 --json',
    )
    .action(async (flags: { user?: string; limit: string; json?: boolean }) => {
      const limit = parseLimit(flags.limit);
      const { listPushSubscriptions } = await import('../../runtime/outbox/store.js');
      const { withAppDatabase } = await import('../../ops/open-app-database.js');
      const rows = await withAppDatabase(findAppDir(), ({ sql }) =>
        listPushSubscriptions(sql, { userId: flags.user, limit }),
      );
      if (flags.json) return void process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
      if (rows.length === 0) return void process.stderr.write('No push subscriptions.\n');
      for (const row of rows) {
        const state = row.invalidAt
          ? kleur.red(`invalid since ${row.invalidAt}: ${row.invalidReason}`)
          : kleur.green('valid');
        process.stdout.write(
          `${row.id}  ${row.createdAt}  ${(row.userId ?? '-').padEnd(16)} ${new URL(row.endpoint).host}  ${state}\n`,
        );
      }
    });
}
