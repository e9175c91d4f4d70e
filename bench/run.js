// `npm run bench -- <name>`: runs bench/<name>.js. Without a name, lists the benchmarks.
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const available = readdirSync(here)
  .filter((f) => f.endsWith('.js') && !['run.js'].includes(f) && !f.startsWith('_'))
  .map((f) => f.slice(0, -3));
const name = process.argv[2];
if (!name || !available.includes(name)) {
  process.stderr.write(`usage: npm run bench -- <name>\nbenchmarks: ${available.join(', ')}\n`);
  process.exit(name ? 2 : 0);
}
await import(join(here, `${name}.js`));
