// `valet scheduled`: work queued with ctx.scheduler, listed by status; thin over
// runtime/scheduler/store.ts.
import type { Command } from 'commander';
import { findAppDir } from '../../project/app-dir.js';
import { SCHEDULED_STATUSES } from '../../runtime/scheduler/statuses.js';
import type { ScheduledStatus } from '../../runtime/scheduler/statuses.js';
import { UsageError } from '../errors.js';

const STATUSES: readonly string[] = SCHEDULED_STATUSES;

export function registerScheduled(program: Command): void {
  program
    .command('scheduled')
    .description('work scheduled with ctx.scheduler (alone: ls)')
    .addHelpText('after', '\nExamples:\n  $ valet scheduled\n  $ valet scheduled ls --status pending --json')
    .command('ls', { isDefault: true })
    .description('scheduled calls, latest run time first')
    .option('--status <status>', `only this status: ${STATUSES.join(', ')}`)
    .option('--json', 'print as JSON')
    .addHelpText('after', '\nExamples:\n  $ valet scheduled ls\n  $ valet scheduled ls --status failed')
    .action(async (flags: { status?: string; json?: boolean }) => {
      if (flags.status && !STATUSES.includes(flags.status))
        throw new UsageError(`--status must be one of ${STATUSES.join(', ')}`);
      const { listScheduled } = await import('../../runtime/scheduler/store.js');
      const { openAppDatabase } = await import('../../ops/open-app-database.js');
      const db = await openAppDatabase(findAppDir());
      try {
        const rows = await listScheduled(db.sql, { status: flags.status as ScheduledStatus | undefined });
        if (flags.json) return void process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
        if (rows.length === 0) return void process.stderr.write('Nothing scheduled.\n');
        for (const row of rows)
          process.stdout.write(
            `${row.id}  ${row.runAt}  ${row.status.padEnd(8)} ${row.function}  ${JSON.stringify(row.args)}\n`,
          );
      } finally {
        await db.close();
      }
    });
}
