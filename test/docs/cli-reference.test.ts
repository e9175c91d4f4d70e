// docs/cli.md is generated from the program: it must say what `--help` says today.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { buildProgram } from '../../src/cli/program.js';
import { renderCliReference, withCommandTable } from '../../src/cli/reference.js';
import { REPO_ROOT } from '../helpers/apps.js';

it('docs/cli.md and the README command table are current (regenerate with npm run build && npm run docs:cli)', () => {
  const saved = process.env.NO_COLOR;
  process.env.NO_COLOR = '1';
  try {
    expect(readFileSync(join(REPO_ROOT, 'docs/cli.md'), 'utf8')).toBe(`${renderCliReference(buildProgram())}\n`);
    const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
    expect(readme).toBe(withCommandTable(readme, buildProgram()));
    // Every command of the program has its row.
    for (const command of buildProgram().commands.filter((c) => c.name() !== 'help'))
      expect(readme).toContain(`](docs/cli.md#valet-${command.name()}) |`);
  } finally {
    if (saved === undefined) delete process.env.NO_COLOR;
    else process.env.NO_COLOR = saved;
  }
});
