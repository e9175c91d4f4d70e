// Builds the dashboard's page (dashboard-ui/) into dist/dashboard-ui: one minified script, one
// stylesheet and index.html. Run by `npm run build`; servers only read the result.
import { copyFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const source = join(root, 'dashboard-ui');
const out = join(root, 'dist', 'dashboard-ui');
mkdirSync(join(out, 'assets'), { recursive: true });
await build({
  entryPoints: [join(source, 'src', 'main.ts')],
  outfile: join(out, 'assets', 'app.js'),
  bundle: true,
  format: 'esm',
  target: 'es2022',
  minify: true,
  legalComments: 'none',
  logLevel: 'warning',
});
await build({
  entryPoints: [join(source, 'styles.css')],
  outfile: join(out, 'assets', 'app.css'),
  bundle: true,
  minify: true,
  logLevel: 'warning',
});
copyFileSync(join(source, 'index.html'), join(out, 'index.html'));
copyFileSync(join(source, 'favicon.svg'), join(out, 'assets', 'favicon.svg'));
