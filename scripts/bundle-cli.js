// Bundles the CLI's own modules (src/cli, already compiled into dist/cli) into dist/cli/entry.js,
// which bin/valet.js runs: `valet --help` then loads one file instead of forty. Everything outside
// dist/cli stays a module of its own, imported from the bundle by its relative path, so every
// other module (and every class `instanceof` looks at) exists once.
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const cliDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'cli');
await build({
  entryPoints: [join(cliDir, 'main.js')],
  outfile: join(cliDir, 'entry.js'),
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  packages: 'external',
  logLevel: 'warning',
  plugins: [
    {
      name: 'only-the-cli',
      setup(bundler) {
        bundler.onResolve({ filter: /^\./ }, (args) => {
          const target = resolve(args.resolveDir, args.path);
          if (target.startsWith(`${cliDir}/`)) return undefined;
          const path = relative(cliDir, target);
          return { path: path.startsWith('.') ? path : `./${path}`, external: true };
        });
      },
    },
  ],
});
