// `npm run docs:cli`: writes docs/cli.md and README.md's command table from the built program (run
// `npm run build` first).
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

process.env.NO_COLOR = '1';
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { buildProgram } = await import(join(root, 'dist/cli/program.js'));
const { renderCliReference, withCommandTable } = await import(join(root, 'dist/cli/reference.js'));
writeFileSync(join(root, 'docs/cli.md'), `${renderCliReference(buildProgram())}\n`);
const readme = join(root, 'README.md');
writeFileSync(readme, withCommandTable(readFileSync(readme, 'utf8'), buildProgram()));
process.stderr.write('wrote docs/cli.md and the command table of README.md\n');
