import type { Command } from 'commander';
import kleur from 'kleur';
import { findAppDir } from '../app-dir.js';
import { untilShutdown } from '../shutdown.js';
import { parsePort } from '../options.js';
import { describeServeFailure } from '../serve-errors.js';

export function registerStart(program: Command): void {
  program
    .command('start')
    .description('serve the app: build valet/ once and serve it on 127.0.0.1 (no watching)')
    .option('-p, --port <port>', 'port to listen on', '3210')
    .addHelpText(
      'after',
      `
Auth comes from VALET_AUTH_ISSUER, VALET_AUTH_AUDIENCE and VALET_AUTH_JWKS_URL or
VALET_AUTH_SECRET; without them the app's dev key in .valet/ is trusted (see valet token).

Examples:
  $ valet start
  $ valet start --port 8080`,
    )
    .action(async (flags: { port: string }) => {
      const appDir = findAppDir();
      const port = parsePort(flags.port);
      const { startApp } = await import('../../devserver/start.js');
      let app;
      try {
        app = await startApp({ appDir, port });
      } catch (error) {
        throw describeServeFailure(appDir, error);
      }
      process.stderr.write(
        `${kleur.green('✔')} Valet serving ${app.functionCount} functions at ${kleur.bold(app.url)} (database ${app.databasePath}, tokens from ${app.authSource}, email via ${app.emailTransport})\n`,
      );
      await untilShutdown(() => app.close());
    });
}
