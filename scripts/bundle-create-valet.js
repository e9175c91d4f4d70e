// Makes the create-valet package's contents from the built Valet (run after `tsc`, as part of
// `npm run build`, and by create-valet's prepack): dist/create-valet.js, the create program with
// its prompts bundled in (so the package has no dependencies), and a copy of templates/. The
// package then installs in a second, with nothing native and nothing of Valet's runtime.
import { cpSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const target = join(root, 'packages', 'create-valet');
await build({
  stdin: {
    contents: `import { main } from ${JSON.stringify(join(root, 'dist/scaffold/create-valet.js'))};\nprocess.exitCode = await main(process.argv.slice(2));\n`,
    resolveDir: root,
    loader: 'js',
  },
  outfile: join(target, 'dist', 'create-valet.js'),
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // prompts is CommonJS: its require() calls need a require in the ESM bundle.
  banner: {
    js: "import { createRequire as __createRequire } from 'node:module';\nconst require = __createRequire(import.meta.url);",
  },
  logLevel: 'warning',
});
const skipped = new Set(['node_modules', '_generated', '.valet', 'dist']);
rmSync(join(target, 'templates'), { recursive: true, force: true });
cpSync(join(root, 'templates'), join(target, 'templates'), {
  recursive: true,
  filter: (path) => !skipped.has(basename(path)),
});
