// The questions valet init and create-valet ask, and how flags answer them.
import prompts from 'prompts';
import { describe, expect, it } from 'vitest';
import type { NewAppFlags } from '../../src/scaffold/answers.js';
import { resolveNewAppAnswers } from '../../src/scaffold/answers.js';
import { TEMPLATES_DIR } from '../../src/scaffold/scaffold.js';
import { listTemplates } from '../../src/scaffold/templates.js';

const resolveInitAnswers = (dir: string | undefined, flags: NewAppFlags, interactive: boolean) =>
  resolveNewAppAnswers(dir, flags, listTemplates(TEMPLATES_DIR), interactive);

describe('valet init answers', () => {
  it('uses flags and defaults without asking when not on a terminal or with --yes', async () => {
    expect(await resolveInitAnswers(undefined, { install: true }, false)).toEqual({
      dir: 'my-valet-app',
      template: 'basic',
      install: true,
    });
    expect(await resolveInitAnswers('app', { template: 'react', install: false, yes: true }, true)).toEqual({
      dir: 'app',
      template: 'react',
      install: false,
    });
  });

  it('asks only what the flags left open', async () => {
    prompts.inject(['react', false]);
    expect(await resolveInitAnswers('app', { install: true }, true)).toEqual({
      dir: 'app',
      template: 'react',
      install: false,
    });
    prompts.inject(['elsewhere']);
    expect(await resolveInitAnswers(undefined, { template: 'basic', install: false }, true)).toEqual({
      dir: 'elsewhere',
      template: 'basic',
      install: false,
    });
  });

  it('rejects an unknown --template as a usage error', async () => {
    await expect(resolveInitAnswers('app', { template: 'vue', install: true }, false)).rejects.toMatchObject({
      exitCode: 2,
    });
  });
});
