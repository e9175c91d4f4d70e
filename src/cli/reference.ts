// docs/cli.md, generated from the program itself so it cannot drift from what `--help` says:
// every command and subcommand, with its usage, options and examples.
import type { Command } from 'commander';

function helpOf(command: Command): string {
  let text = '';
  // A fixed width: the file must not depend on the terminal it was generated in.
  command.configureOutput({
    writeOut: (chunk) => (text += chunk),
    writeErr: (chunk) => (text += chunk),
    getOutHelpWidth: () => 80,
    getErrHelpWidth: () => 80,
  });
  command.outputHelp();
  // Colour never belongs in a file.
  return text.replace(/\u001b\[[0-9;]*m/g, '').trimEnd();
}

function commandPath(command: Command): string {
  const names: string[] = [];
  for (let current: Command | null = command; current; current = current.parent) names.unshift(current.name());
  return names.join(' ');
}

function walk(command: Command): Command[] {
  return command.commands.filter((child) => child.name() !== 'help').flatMap((child) => [child, ...walk(child)]);
}

export function renderCliReference(program: Command): string {
  const sections = [program, ...walk(program)].map((command) => {
    const title = commandPath(command);
    const description = command.description();
    const sentence = description ? `${description[0]!.toUpperCase()}${description.slice(1).replace(/\.$/, '')}.` : '';
    return [`## \`${title}\``, '', sentence, '', '```text', helpOf(command), '```', ''].join('\n');
  });
  return [
    '# CLI reference',
    '',
    'Generated from the program by `npm run docs:cli`; `test/docs/cli-reference.test.ts` fails when this file is stale.',
    'Exit codes: 0 ok, 1 failure, 2 usage error. Data goes to stdout, messages to stderr; every listing has `--json`.',
    '',
    ...sections,
  ].join('\n');
}
