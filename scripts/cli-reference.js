// `npm run docs:cli`: writes docs/cli.md from the built program (run `npm run build` first).
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

process.env.NO_COLOR = '1';
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { buildProgram } = await import(join(root, 'dist/cli/program.js'));
const { renderCliReference } = await import(join(root, 'dist/cli/reference.js'));
writeFileSync(join(root, 'docs/cli.md'), `${renderCliReference(buildProgram())}\n`);
process.stderr.write('wrote docs/cli.md\n');
