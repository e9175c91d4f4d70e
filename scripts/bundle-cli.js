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
  // commander is CommonJS: its require() calls need a require in the ESM bundle.
  banner: {
    js: "import { createRequire as __valetCreateRequire } from 'node:module';\nconst require = __valetCreateRequire(import.meta.url);",
  },
  logLevel: 'warning',
  plugins: [
    {
      name: 'only-the-cli',
      setup(bundler) {
        // commander requires node:child_process at load, for subcommands run as separate
        // executables, which Valet has none of: load it only if something reaches for it (it
        // brings net, dgram and the stream machinery, a few ms of every command's start).
        bundler.onResolve({ filter: /^(node:)?child_process$/ }, (args) =>
          args.importer.includes('/node_modules/commander/')
            ? { path: 'child_process', namespace: 'lazy-builtin' }
            : undefined,
        );
        bundler.onLoad({ filter: /.*/, namespace: 'lazy-builtin' }, (args) => ({
          contents: `let loaded;\nmodule.exports = new Proxy({}, { get: (_, key) => (loaded ??= require('node:${args.path}'))[key] });`,
          loader: 'js',
          resolveDir: cliDir,
        }));
        // Bundled with it: the two packages every command loads at start (stateless, so a second
        // copy elsewhere is harmless). Every other package stays external.
        bundler.onResolve({ filter: /^[^./]/ }, (args) =>
          ['commander', 'kleur'].includes(args.path) || args.importer.includes('/node_modules/')
            ? undefined
            : { path: args.path, external: true },
        );
        bundler.onResolve({ filter: /^\./ }, (args) => {
          if (args.importer.includes('/node_modules/')) return undefined;
          const target = resolve(args.resolveDir, args.path);
          if (target.startsWith(`${cliDir}/`)) return undefined;
          const path = relative(cliDir, target);
          return { path: path.startsWith('.') ? path : `./${path}`, external: true };
        });
      },
    },
  ],
});
