// `npm run docs:errors`: writes docs/errors.md from the table of error codes (run `npm run build` first).
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { renderErrorReference } = await import(join(root, 'dist/cli/error-reference.js'));
writeFileSync(join(root, 'docs/errors.md'), renderErrorReference());
process.stderr.write('wrote docs/errors.md\n');
