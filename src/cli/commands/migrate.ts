// `valet migrate`: run the data migrations of valet/ (defineMigration) in batches — all that are
// not done, or one by name — with progress, a dry run, resuming where a stopped run left off.
import type { Command } from 'commander';
import kleur from 'kleur';
import { findAppDir } from '../../project/app-dir.js';
import type { MigrationProgress } from '../../runtime/migrations/runner.js';

const number = (n: number) => n.toLocaleString('en');

/** At most one progress line a second per migration, and always the last. */
function progressPrinter(): (progress: MigrationProgress) => void {
  const last = new Map<string, number>();
  return (progress) => {
    const now = performance.now();
    const final = progress.phase !== 'running';
    if (!final && now - (last.get(progress.name) ?? 0) < 1000) return;
    last.set(progress.name, now);
    if (progress.phase === 'waiting') {
      process.stderr.write(
        `${progress.name}: waiting for ${progress.waitingFor}, which holds it (until it finishes or its lease lapses)\n`,
      );
      return;
    }
    const of = progress.total ? ` of ${number(progress.total)}` : '';
    const verb =
      progress.phase === 'done'
        ? kleur.green('done')
        : progress.phase === 'paused'
          ? kleur.yellow('stopped')
          : 'running';
    process.stderr.write(
      `${progress.name}: ${verb} — ${number(progress.processed)}${of} documents, ${number(progress.changed)} changed\n`,
    );
  };
}

export function registerMigrate(program: Command): void {
  program
    .command('migrate')
    .description('run data migrations in batches (dry run, resume, progress)')
    .argument('[name]', 'one migration (module:export, e.g. migrations:backfillPriority); all not done when absent')
    .option('--dry-run', 'go through every document and say what would change; write nothing')
    .option('--restart', 'start again from the first document (a finished migration too)')
    .option('--list', 'list the migrations and their state instead')
    .option('--json', 'print the result (or the list) as JSON')
    .addHelpText(
      'after',
      '\nExamples:\n  $ valet migrate --list\n  $ valet migrate --dry-run\n  $ valet migrate migrations:backfillPriority',
    )
    .action(
      async (
        name: string | undefined,
        flags: { dryRun?: boolean; restart?: boolean; list?: boolean; json?: boolean },
      ) => {
        const appDir = findAppDir();
        const { migrationStates, runMigrations } = await import('../../ops/migrate.js');
        if (flags.list) {
          const states = await migrationStates(appDir);
          if (flags.json) return void process.stdout.write(`${JSON.stringify(states, null, 2)}\n`);
          if (states.length === 0)
            return void process.stderr.write(
              'No migrations: define them with defineMigration in valet/migrations.ts.\n',
            );
          for (const state of states)
            process.stdout.write(
              `${state.name.padEnd(36)} ${state.status.padEnd(8)} ${state.table.padEnd(16)} ${number(state.processed).padStart(10)} processed ${number(state.changed).padStart(10)} changed${state.error ? kleur.red(`  ${state.error}`) : ''}${state.defined ? '' : kleur.dim('  (no longer in valet/)')}\n`,
            );
          return;
        }
        let stop: (() => Promise<void>) | null = null;
        const onSignal = () => {
          process.stderr.write('stopping after the current batch (run valet migrate again to resume)…\n');
          void stop?.();
        };
        process.once('SIGINT', onSignal);
        process.once('SIGTERM', onSignal);
        try {
          const { outcomes } = await runMigrations({
            appDir,
            name,
            dryRun: flags.dryRun,
            restart: flags.restart,
            onProgress: flags.json ? undefined : progressPrinter(),
            onStoppable: (fn) => {
              stop = fn;
            },
          });
          if (flags.json) return void process.stdout.write(`${JSON.stringify(outcomes, null, 2)}\n`);
          if (outcomes.length === 0)
            return void process.stderr.write('Every migration is done (valet migrate --list).\n');
          for (const outcome of outcomes) {
            if (outcome.status === 'already_done') process.stderr.write(`${outcome.name}: already done\n`);
            if (outcome.status === 'dry_run') {
              process.stdout.write(
                `${outcome.name}: would change ${number(outcome.changed)} of ${number(outcome.processed)} documents (dry run: nothing written)\n`,
              );
              for (const sample of outcome.samples ?? [])
                process.stdout.write(`  ${sample._id}: ${JSON.stringify(sample.patch)}\n`);
            }
          }
          if (outcomes.some((o) => o.status === 'paused')) process.exitCode = 130;
        } finally {
          process.off('SIGINT', onSignal);
          process.off('SIGTERM', onSignal);
        }
      },
    );
}
