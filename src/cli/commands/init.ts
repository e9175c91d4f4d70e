import type { Command } from 'commander';
import kleur from 'kleur';
import { relative } from 'node:path';
import { UserError } from '../../errors/user-error.js';
import { UsageError } from '../errors.js';

interface InitFlags {
  template?: string;
  yes?: boolean;
  install: boolean;
  force?: boolean;
  link?: boolean;
}

export interface InitAnswers {
  dir: string;
  template: string;
  install: boolean;
}

/** Fills what the flags left open: by asking on a terminal, with defaults otherwise. */
export async function resolveInitAnswers(
  dirArg: string | undefined,
  flags: InitFlags,
  interactive: boolean,
): Promise<InitAnswers> {
  const { listTemplates } = await import('../../scaffold/templates.js');
  const templates = listTemplates();
  const defaults: InitAnswers = {
    dir: dirArg ?? 'my-valet-app',
    template: flags.template ?? 'basic',
    install: flags.install,
  };
  if (flags.template && !templates.some((t) => t.name === flags.template)) {
    throw new UsageError(
      `unknown template "${flags.template}"; choose one of: ${templates.map((t) => t.name).join(', ')}`,
    );
  }
  if (!interactive || flags.yes) return defaults;

  const { default: prompts } = await import('prompts');
  const answers = await prompts(
    [
      { type: dirArg ? null : 'text', name: 'dir', message: 'Directory for the new app', initial: defaults.dir },
      {
        type: flags.template ? null : 'select',
        name: 'template',
        message: 'Template',
        choices: templates.map((t) => ({ title: t.name, description: t.description, value: t.name })),
        initial: 0,
      },
      // --no-install answers this question already; otherwise ask.
      {
        type: flags.install ? 'confirm' : null,
        name: 'install',
        message: 'Install dependencies now (npm install)?',
        initial: true,
      },
    ],
    {
      onCancel: () => {
        throw new UserError('cancelled; nothing was created');
      },
    },
  );
  return {
    dir: answers.dir ?? defaults.dir,
    template: answers.template ?? defaults.template,
    install: answers.install ?? defaults.install,
  };
}

export function registerInit(program: Command): void {
  program
    .command('init')
    .description('create a Valet app from a template')
    .argument('[dir]', 'directory to create (asked for on a terminal; default my-valet-app)')
    .option('-t, --template <name>', 'template: basic (backend only) or react (backend + Vite page)')
    .option('-y, --yes', 'accept the defaults without asking')
    .option('--no-install', 'do not run npm install')
    .option('--force', 'write into a non-empty directory')
    .option(
      '--link',
      'depend on this Valet package by path (file:) instead of by version: for working inside a Valet checkout',
    )
    .addHelpText(
      'after',
      `
Examples:
  $ npx valet init                                  ask for everything (on a terminal)
  $ npx valet init my-app --template basic --yes    no questions (CI, scripts)
  $ npx valet init my-app --template react --no-install`,
    )
    .action(async (dirArg: string | undefined, flags: InitFlags) => {
      const interactive = Boolean(process.stdin.isTTY && process.stdout.isTTY);
      const answers = await resolveInitAnswers(dirArg, flags, interactive);
      const { scaffoldApp } = await import('../../scaffold/scaffold.js');
      const appDir = scaffoldApp({
        dir: answers.dir,
        template: answers.template,
        force: flags.force,
        link: flags.link,
      }).appDir;
      process.stderr.write(`${kleur.green('✔')} Created ${answers.template} app in ${appDir}\n`);
      if (answers.install) {
        const { installDependencies } = await import('../../scaffold/install.js');
        process.stderr.write('Installing dependencies…\n');
        try {
          await installDependencies(appDir);
        } catch (error) {
          throw new UserError(
            `${(error as Error).message}. The app is created; run npm install in ${appDir} to finish.`,
          );
        }
      }
      const fromHere = relative(process.cwd(), appDir);
      const cd = fromHere.startsWith('..') ? appDir : fromHere || '.';
      const steps = [`cd ${cd}`, ...(answers.install ? [] : ['npm install']), 'npx valet dev'];
      process.stderr.write(`\nNext:\n${steps.map((s) => `  ${kleur.cyan(s)}`).join('\n')}\n`);
    });
}
