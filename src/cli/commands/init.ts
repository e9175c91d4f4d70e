// `valet init`: a new app from a template (src/scaffold), prompting only on a terminal.
import type { Command } from 'commander';
import kleur from 'kleur';
import { relative } from 'node:path';
import { UserError } from '../../errors/user-error.js';

interface InitFlags {
  template?: string;
  yes?: boolean;
  install: boolean;
  force?: boolean;
  link?: boolean;
  agents: boolean;
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
      '--no-agents',
      'do not write AGENTS.md (rules for coding agents) and the CLAUDE.md / .cursor/rules pointers',
    )
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
      const { scaffoldApp, TEMPLATES_DIR } = await import('../../scaffold/scaffold.js');
      const { listTemplates } = await import('../../scaffold/templates.js');
      const { resolveNewAppAnswers, nextSteps } = await import('../../scaffold/answers.js');
      const answers = await resolveNewAppAnswers(dirArg, flags, listTemplates(TEMPLATES_DIR), interactive);
      const appDir = scaffoldApp({
        dir: answers.dir,
        template: answers.template,
        force: flags.force,
        link: flags.link,
        agents: flags.agents,
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
      const steps = nextSteps(cd, answers.install);
      process.stderr.write(`\nNext:\n${steps.map((s) => `  ${kleur.cyan(s)}`).join('\n')}\n`);
    });
}
