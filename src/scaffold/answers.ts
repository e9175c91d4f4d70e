// What a new app is to be (folder, template, whether to install), from the flags and, on a
// terminal, by asking what they left open. Shared by `valet init` and create-valet so both ask
// the same questions the same way.
import { UserError } from '../errors/user-error.js';
import type { TemplateInfo } from './templates.js';

export interface NewAppFlags {
  template?: string;
  yes?: boolean;
  install: boolean;
}

export interface NewAppAnswers {
  dir: string;
  template: string;
  install: boolean;
}

/** Fills what the flags left open: by asking on a terminal, with defaults otherwise. */
export async function resolveNewAppAnswers(
  dirArg: string | undefined,
  flags: NewAppFlags,
  templates: TemplateInfo[],
  interactive: boolean,
): Promise<NewAppAnswers> {
  const defaults: NewAppAnswers = {
    dir: dirArg ?? 'my-valet-app',
    template: flags.template ?? 'basic',
    install: flags.install,
  };
  if (flags.template && !templates.some((t) => t.name === flags.template)) {
    throw new UserError(
      `unknown template "${flags.template}"; choose one of: ${templates.map((t) => t.name).join(', ')}`,
      { exitCode: 2 },
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

/** The commands that take a new app from here to running, as both ways in print them. */
export function nextSteps(cd: string, installed: boolean): string[] {
  return [`cd ${cd}`, ...(installed ? [] : ['npm install']), 'npx valet dev'];
}
