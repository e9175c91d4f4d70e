// `valet env`: the environment the app's functions see and where each variable comes from, values
// hidden unless asked for (they are often secrets).
import type { Command } from 'commander';
import kleur from 'kleur';
import { findAppDir } from '../../project/app-dir.js';
import { UsageError } from '../errors.js';

export function registerEnv(program: Command): void {
  program
    .command('env')
    .description("environment variables the app's functions see (from .env files and the environment) (alone: ls)")
    .addHelpText('after', '\nExamples:\n  $ valet env\n  $ valet env ls --mode production --show')
    .command('ls', { isDefault: true })
    .description('list them with where each comes from; values hidden unless --show')
    .option('--mode <mode>', 'development (valet dev, the CLI) or production (valet start)', 'development')
    .option('--show', 'print the values')
    .option('--all', 'every variable of the environment, not only .env files and VALET_*')
    .option('--json', 'print as JSON')
    .addHelpText(
      'after',
      `
Files, later ones winning: .env, .env.local, .env.<mode>, .env.<mode>.local; a variable set in the
environment itself wins over all of them (as in Vite).

Examples:
  $ valet env ls
  $ valet env ls --mode production --show`,
    )
    .action(async (flags: { mode: string; show?: boolean; all?: boolean; json?: boolean }) => {
      if (flags.mode !== 'development' && flags.mode !== 'production')
        throw new UsageError(`--mode must be development or production, got "${flags.mode}"`);
      const { AppEnv } = await import('../../project/env-files.js');
      const variables = new AppEnv(findAppDir(), flags.mode)
        .variables(flags.all)
        .map((variable) => ({ ...variable, value: flags.show ? variable.value : null }));
      if (flags.json) return void process.stdout.write(`${JSON.stringify(variables, null, 2)}\n`);
      if (variables.length === 0)
        return void process.stderr.write(
          'No variables from .env files or VALET_* (--all lists the whole environment).\n',
        );
      const width = Math.max(...variables.map((v) => v.name.length));
      for (const variable of variables) {
        process.stdout.write(
          `${kleur.bold(variable.name.padEnd(width))}  ${flags.show ? variable.value : kleur.dim('(hidden: --show)')}  ${kleur.dim(variable.source)}\n`,
        );
      }
    });
}
