// `valet invocations`: the action invocation log, listed, shown with its mapped stack, and re-run.
import type { Command } from 'commander';
import kleur from 'kleur';
import { findAppDir } from '../../project/app-dir.js';
import { UserError } from '../../errors/user-error.js';
import { INVOCATION_STATUSES } from '../../runtime/invocations/statuses.js';
import { UsageError } from '../errors.js';
import { parseLimit } from '../options.js';

const STATUSES: readonly string[] = INVOCATION_STATUSES;

function colourStatus(status: string): string {
  return status === 'succeeded' ? kleur.green(status) : status === 'running' ? kleur.cyan(status) : kleur.red(status);
}

export function registerInvocations(program: Command): void {
  const command = program
    .command('invocations')
    .description('the action invocation log: args, results, retries (alone: ls)')
    .addHelpText(
      'after',
      '\nExamples:\n  $ valet invocations\n  $ valet invocations ls --status failed\n  $ valet invocations show 01j9…',
    );
  command
    .command('ls', { isDefault: true })
    .description('list recent action invocations, newest first')
    .option('--function <path>', 'only this function, e.g. actions:sendWelcomeEmail')
    .option('--status <status>', `only this status: ${STATUSES.join(', ')}`)
    .option('--limit <n>', 'how many', '20')
    .option('--json', 'print as JSON')
    .addHelpText(
      'after',
      '\nExamples:\n  $ valet invocations ls --status failed\n  $ valet invocations ls --function actions:sendWelcomeEmail --json',
    )
    .action(async (flags: { function?: string; status?: string; limit: string; json?: boolean }) => {
      if (flags.status && !STATUSES.includes(flags.status))
        throw new UsageError(`--status must be one of ${STATUSES.join(', ')}`);
      const limit = parseLimit(flags.limit);
      const { listInvocations } = await import('../../runtime/invocations/store.js');
      const { openAppDatabase } = await import('../../ops/open-app-database.js');
      const db = await openAppDatabase(findAppDir());
      try {
        const rows = await listInvocations(db.sql, { function: flags.function, status: flags.status as never, limit });
        if (flags.json) return void process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
        if (rows.length === 0)
          return void process.stderr.write(
            'No action invocations recorded (this log holds actions only: every call of every kind is in valet calls).\n',
          );
        for (const row of rows) {
          const invoker = row.invoker as { type: string; userId?: string; source?: string };
          const who =
            invoker.type === 'user'
              ? `user:${invoker.userId}`
              : invoker.type === 'system'
                ? `system:${invoker.source}`
                : 'anonymous';
          const duration = row.durationMs === null ? '' : `${Math.round(row.durationMs)} ms`;
          process.stdout.write(
            `${row.id}  ${row.startedAt}  ${row.function.padEnd(28)} ${colourStatus(row.status.padEnd(9))} ${String(row.attempts).padStart(2)}×  ${duration.padStart(8)}  ${who}\n`,
          );
        }
      } finally {
        await db.close();
      }
    });
  command
    .command('show')
    .description('one invocation in full: invoker, args, result or error, attempts, timings')
    .argument('<id>', 'the invocation id (from ls, or the Valet-Invocation-Id response header)')
    .option('--json', 'print as JSON')
    .addHelpText('after', '\nExamples:\n  $ valet invocations show 01j9…\n  $ valet invocations show 01j9… --json')
    .action(async (id: string, flags: { json?: boolean }) => {
      const { getInvocation } = await import('../../runtime/invocations/store.js');
      const { openAppDatabase } = await import('../../ops/open-app-database.js');
      const db = await openAppDatabase(findAppDir());
      try {
        const invocation = await getInvocation(db.sql, id);
        if (!invocation) throw new UserError(`no invocation ${id}`);
        if (flags.json) return void process.stdout.write(`${JSON.stringify(invocation, null, 2)}\n`);
        for (const [key, value] of Object.entries(invocation)) {
          const text =
            typeof value === 'object' && value !== null
              ? JSON.stringify(value, null, 2).replace(/\n/g, '\n  ')
              : String(value);
          process.stdout.write(`${kleur.bold(`${key}:`)} ${text}\n`);
        }
      } finally {
        await db.close();
      }
    });
}
