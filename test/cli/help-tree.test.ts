// Every command's --help, walked from the program itself so a new command cannot be missed: a
// description, and examples that run that very command (`$ … valet <its path> …`).
import type { Command } from 'commander';
import { expect, it } from 'vitest';
import { buildProgram } from '../../src/cli/program.js';

interface Node {
  path: string;
  command: Command;
}

function commandsOf(command: Command, prefix = ''): Node[] {
  return command.commands
    .filter((child) => child.name() !== 'help')
    .flatMap((child) => {
      const path = `${prefix} ${child.name()}`.trim();
      return [{ path, command: child }, ...commandsOf(child, path)];
    });
}

function helpOf(command: Command): string {
  let text = '';
  command.configureOutput({ writeOut: (s) => (text += s), writeErr: (s) => (text += s) });
  command.outputHelp();
  return text;
}

const saved = process.env.NO_COLOR;
process.env.NO_COLOR = '1';
const tree = commandsOf(buildProgram());
if (saved === undefined) delete process.env.NO_COLOR;
else process.env.NO_COLOR = saved;

it('walks every command (groups and their subcommands)', () => {
  const paths = tree.map((node) => node.path);
  expect(paths).toEqual(expect.arrayContaining(['dev', 'outbox', 'outbox ls', 'cron trigger', 'env ls']));
  expect(paths.length).toBeGreaterThan(25);
});

it.each(tree.map((node) => [node.path, node] as const))(
  'valet %s --help has a description and examples',
  (path, node) => {
    const help = helpOf(node.command);
    expect(node.command.description().length, path).toBeGreaterThan(10);
    const examples = help.split('Examples:')[1];
    expect(examples, `${path} --help has no Examples:`).toBeDefined();
    const lines = examples!.split('\n').filter((line) => line.trim().startsWith('$ '));
    expect(lines.length, path).toBeGreaterThan(0);
    // `$ valet outbox ls`, or with what comes around it: `$ npx valet init`, `$ VALET_…=… valet start`.
    for (const line of lines) expect(new RegExp(`\\bvalet ${path}\\b`).test(line), `${path}: ${line}`).toBe(true);
  },
);
