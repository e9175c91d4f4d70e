// `valet build`: a self-contained folder a server runs with `npm ci && node server.mjs`; the work
// is in ops/build-app.ts.
import type { Command } from 'commander';
import kleur from 'kleur';
import { join } from 'node:path';
import { findAppDir } from '../../project/app-dir.js';
import { stateDirOf } from '../../project/paths.js';

export function registerBuild(program: Command): void {
  program
    .command('build')
    .description(
      'write a self-contained folder that serves the app with only a production install (no esbuild or TypeScript at run time)',
    )
    .option('--out <dir>', 'the folder to write (default: .valet/build)')
    .addHelpText(
      'after',
      `
The folder holds the bundled functions (app.cjs), Valet's bundled runtime (server.mjs), and a
package.json and package-lock.json with only better-sqlite3 (and pg, when the app has it). On the server:

  npm ci --omit=dev && node server.mjs --port 3210      (or: valet start --build <dir>)

Examples:
  $ valet build
  $ valet build --out /srv/myapp && cd /srv/myapp && npm ci --omit=dev && node server.mjs`,
    )
    .action(async (flags: { out?: string }) => {
      const appDir = findAppDir();
      const { buildApp } = await import('../../ops/build-app.js');
      const result = await buildApp(appDir, flags.out ?? join(stateDirOf(appDir), 'build'));
      process.stderr.write(`${kleur.green('✔')} built ${result.functions} functions into ${result.outDir}\n`);
      if (!result.postgres)
        process.stderr.write(
          `  ${kleur.dim('SQLite only: the app has no PostgreSQL driver (npm install pg in the app, then build again, to serve VALET_DATABASE_URL=postgres://…)')}\n`,
        );
      process.stderr.write(
        `  serve it with: cd ${result.outDir} && ${result.locked ? 'npm ci --omit=dev' : 'npm install --omit=dev'} && node server.mjs${result.locked ? '' : kleur.dim('  (no lockfile: no package-lock.json here lists its packages)')}\n`,
      );
    });
}
