// `valet start`: serves the app for production (src/serve) and prints its ready line.
import type { Command } from 'commander';
import type { StartedApp } from '../../serve/start.js';
import { describeSearchBuilds } from '../../storage/search-builds.js';
import kleur from 'kleur';
import { resolve } from 'node:path';
import { findAppDir } from '../../project/app-dir.js';
import { catchShutdown } from '../shutdown.js';
import { collect, parsePort, SERVE_SECURITY_HELP } from '../options.js';
import type { ServeFlags } from '../options.js';

/** What the ready line leaves out: every address of a wildcard --host, what it exposes, fetch's allow-list. */
export function readyDetails(
  app: Pick<StartedApp, 'url' | 'listeningUrls' | 'warnings' | 'fetchAllow'> & {
    engine: Pick<StartedApp['engine'], 'searchIndexesBuilt'>;
  },
): string[] {
  const lines: string[] = [];
  const built = describeSearchBuilds(app.engine.searchIndexesBuilt);
  if (built) lines.push(`  ${built}`);
  if (app.listeningUrls.length > 1 || app.listeningUrls[0] !== app.url)
    lines.push(`  Listening on every interface: ${app.listeningUrls.join(', ')}`);
  if (app.fetchAllow) lines.push(`  fetch may reach these private destinations (VALET_FETCH_ALLOW): ${app.fetchAllow}`);
  for (const warning of app.warnings) lines.push(`${kleur.yellow('warning')} ${warning}`);
  return lines;
}

export function registerStart(program: Command): void {
  program
    .command('start')
    .description('serve the app: build valet/ once and serve it (no watching)')
    .option('-p, --port <port>', 'port to listen on', '3210')
    .option('--host <address>', 'address to listen on (0.0.0.0 for every interface)', '127.0.0.1')
    .option('--allowed-host <host>', 'also answer to this Host name (repeatable; .example.com for subdomains)', collect)
    .option('--cors-origin <origin>', 'let pages on this origin call the API (repeatable)', collect)
    .option('--dev-auth', "trust tokens signed with the app's dev key (.valet/), for local production-style runs")
    .option('--build <dir>', 'serve a folder written by valet build (nothing is built)')
    .option(
      '--dashboard',
      'serve the dashboard at /_dashboard/ (prints a one-time sign-in link; npx valet dashboard prints more)',
    )
    .addHelpText(
      'after',
      `
Auth comes from VALET_AUTH_ISSUER, VALET_AUTH_AUDIENCE and VALET_AUTH_JWKS_URL or
VALET_AUTH_SECRET. Without them (and without --dev-auth), functions that need a signed-in
caller answer 401 auth_not_configured; public ones work.
${SERVE_SECURITY_HELP} valet start allows no other origins by default.

Examples:
  $ valet start
  $ valet start --port 8080 --host 0.0.0.0 --allowed-host api.example.com
  $ valet start --dashboard
  $ VALET_CORS_ORIGINS=https://app.example.com valet start`,
    )
    .action(async (flags: ServeFlags & { devAuth?: boolean; build?: string; dashboard?: boolean }) => {
      const appDir = flags.build ? resolve(flags.build) : findAppDir();
      const port = parsePort(flags.port);
      const { startApp } = await import('../../serve/start.js');
      // From here on a signal closes the server, however soon after the ready line it comes.
      const shutdown = catchShutdown();
      const app = await startApp({
        appDir,
        port,
        host: flags.host,
        devAuth: flags.devAuth,
        allowedHosts: flags.allowedHost,
        corsOrigins: flags.corsOrigin,
        prebuilt: Boolean(flags.build),
        dashboard: flags.dashboard,
      });
      process.stderr.write(
        `${kleur.green('✔')} Valet serving ${app.functionCount} functions at ${kleur.bold(app.url)} (database ${app.databasePath}, tokens verified by ${app.authSource}, email via ${app.emailTransport}, push via ${app.pushTransport}, files in ${app.engine.files.blobs.description})\n`,
      );
      for (const line of readyDetails(app)) process.stderr.write(`${line}\n`);
      if (app.dashboardLink)
        process.stderr.write(
          `  Dashboard: ${kleur.bold(app.dashboardLink)} ${kleur.dim('(opens once; npx valet dashboard for another link)')}\n`,
        );
      await shutdown.until(
        () => app.close(),
        () => app.endDrain(),
      );
    });
}
