// `valet cron`: the jobs of valet/crons.ts with their next runs and history, and a manual run.
import type { Command } from 'commander';
import kleur from 'kleur';
import { findAppDir } from '../../project/app-dir.js';
import { parseLimit } from '../options.js';

export function registerCron(program: Command): void {
  const command = program
    .command('cron')
    .description('cron jobs from valet/crons.ts: schedule, next runs, history, manual runs (alone: ls)')
    .addHelpText(
      'after',
      '\nExamples:\n  $ valet cron\n  $ valet cron runs --job daily-digest\n  $ valet cron trigger daily-digest',
    );
  command
    .command('ls', { isDefault: true })
    .description('each job with its schedule, next run and last status')
    .option('--json', 'print as JSON')
    .addHelpText('after', '\nExamples:\n  $ valet cron ls\n  $ valet cron ls --json')
    .action(async (flags: { json?: boolean }) => {
      const appDir = findAppDir();
      const { listCronJobs } = await import('../../ops/cron-jobs.js');
      const jobs = await listCronJobs(appDir);
      if (flags.json) return void process.stdout.write(`${JSON.stringify(jobs, null, 2)}\n`);
      if (jobs.length === 0)
        return void process.stderr.write('No cron jobs (valet/crons.ts default-exports cronJobs()).\n');
      for (const job of jobs) {
        process.stdout.write(
          `${kleur.bold(job.name.padEnd(20))} ${job.schedule.padEnd(18)} → ${job.function.padEnd(24)} next ${job.nextRun ?? 'never'}   last ${job.lastStatus ?? '-'}\n`,
        );
      }
    });
  command
    .command('runs')
    .description('run history, newest first: scheduled and dispatch times, lag, catch-ups, skips, errors')
    .option('--job <name>', 'only this job')
    .option('--limit <n>', 'how many', '20')
    .option('--json', 'print as JSON')
    .addHelpText('after', '\nExamples:\n  $ valet cron runs\n  $ valet cron runs --job daily-digest --json')
    .action(async (flags: { job?: string; limit: string; json?: boolean }) => {
      const limit = parseLimit(flags.limit);
      const { listCronRuns } = await import('../../runtime/cron/runs.js');
      const { openAppDatabase } = await import('../../ops/open-app-database.js');
      const db = await openAppDatabase(findAppDir());
      try {
        const runs = await listCronRuns(db.sql, { job: flags.job, limit });
        if (flags.json) return void process.stdout.write(`${JSON.stringify(runs, null, 2)}\n`);
        if (runs.length === 0) return void process.stderr.write('No cron runs yet.\n');
        for (const run of runs) {
          const extra = run.catchUp ? ` catch-up (${run.missedRuns} missed)` : '';
          process.stdout.write(
            `${run.dispatchedAt}  ${run.job.padEnd(20)} ${run.status.padEnd(11)} ${run.trigger.padEnd(8)} lag ${Math.round(run.lagMs)} ms${extra}\n`,
          );
        }
      } finally {
        await db.close();
      }
    });
  command
    .command('trigger')
    .description('run a job now, as the system (source admin), recorded in the run history')
    .argument('<name>', 'the job name')
    .addHelpText('after', '\nExamples:\n  $ valet cron trigger daily-digest')
    .action(async (name: string) => {
      const appDir = findAppDir();
      const { triggerCronJob } = await import('../../ops/cron-jobs.js');
      const { runId, via } = await triggerCronJob(appDir, name);
      process.stderr.write(
        `${kleur.green('✔')} ran ${name} (run ${runId}, ${via === 'server' ? 'through the running server' : 'in-process'})\n`,
      );
    });
}
